package io.sensorpipeline.job.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.io.CompressionCodec;
import org.apache.spark.io.CompressionCodec$;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager;
import org.apache.spark.sql.execution.streaming.state.ReadStateStore;
import org.apache.spark.sql.execution.streaming.state.StateStore;
import org.apache.spark.sql.execution.streaming.state.StateStoreConf;
import org.apache.spark.sql.execution.streaming.state.StateStoreCustomMetric;
import org.apache.spark.sql.execution.streaming.state.StateStoreId;
import org.apache.spark.sql.execution.streaming.state.StateStoreMetrics;
import org.apache.spark.sql.execution.streaming.state.StateStoreProvider;
import org.apache.spark.sql.execution.streaming.state.UnsafeRowPair;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.JavaConverters;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Spliterators;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import static java.util.Objects.requireNonNull;

/**
 * A Spark state store that keeps one map per state partition and updates it in place, instead of copying the whole
 * map into every new version as Spark's default {@code HDFSBackedStateStoreProvider} does.
 * <p>
 * A micro-batch's changes go into the map as they happen; an undo log keeps each changed key's value from before the
 * batch, so that {@link StateStore#abort()} restores the version the batch started from. {@link StateStore#commit()}
 * writes the batch's changes as the delta file of the new version. The checkpoint files are those of the default
 * store, in its format: {@code <version>.delta} per batch and now and then a {@code <version>.snapshot}, written by
 * Spark's maintenance thread; so the default store can read a checkpoint this one wrote, and the tests check that it
 * does. After a restart, or when Spark asks for a version other than the one in memory, the map is loaded from the
 * newest snapshot and the deltas after it, as the default store does.
 * <p>
 * Why: at the job's steady size the de-duplication holds millions of eventIds. The default store builds a new map of
 * all of them for every batch and keeps the last two, which keeps the garbage collector busy most of the time
 * (BENCHMARKS.md, "Streaming job latency"). Here a batch allocates only what it changes.
 * <p>
 * Only one store updates the map at a time. If Spark asks for a second store of the same partition while one is open
 * (a speculative task attempt, say), the second one works on its own copy loaded from the files, as the default store
 * would. Prefix scans (session windows) are not supported.
 */
public final class InPlaceStateStoreProvider
        implements StateStoreProvider
{
    private static final Logger LOG = LoggerFactory.getLogger(InPlaceStateStoreProvider.class);
    private static final Pattern FILE_NAME = Pattern.compile("(\\d+)\\.(delta|snapshot)");
    /** The undo log's mark for a key that the batch added: aborting removes it. Compared by identity. */
    private static final UnsafeRow ABSENT = new UnsafeRow(0);

    private StateStoreId id;
    private int keyFields;
    private int valueFields;
    private StateStoreConf conf;
    private Path directory;
    private CheckpointFileManager files;
    private CompressionCodec codec;

    // Changed by the store that owns it, or under this object's lock when no store does; read by ReadView.
    private StateEntries live;
    private volatile long liveVersion = -1;
    private volatile Store owner;
    // guarded by this
    private long snapshotVersion = -1;
    private boolean closed;

    @Override
    public void init(StateStoreId stateStoreId, StructType keySchema, StructType valueSchema, int numColsPrefixKey,
            StateStoreConf storeConf, Configuration hadoopConf)
    {
        if (numColsPrefixKey > 0) {
            throw new UnsupportedOperationException(
                    "InPlaceStateStoreProvider does not support prefix scans, which session windows need; use Spark's default state store: "
                            + "--state-store default (spark.sql.streaming.stateStore.providerClass=org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider)");
        }
        this.id = requireNonNull(stateStoreId, "stateStoreId is null");
        this.keyFields = keySchema.fields().length;
        this.valueFields = valueSchema.fields().length;
        this.live = new StateEntries(keyFields, valueFields);
        this.conf = requireNonNull(storeConf, "storeConf is null");
        this.directory = stateStoreId.storeCheckpointLocation();
        this.files = CheckpointFileManager.create(directory, hadoopConf);
        SparkConf sparkConf = SparkEnv.get() == null ? new SparkConf() : SparkEnv.get().conf();
        this.codec = CompressionCodec$.MODULE$.createCodec(sparkConf, storeConf.compressionCodec());
        try {
            files.mkdirs(directory);
        }
        catch (RuntimeException e) {
            throw new IllegalStateException("cannot create the state directory " + directory, e);
        }
    }

    @Override
    public StateStoreId stateStoreId()
    {
        return id;
    }

    @Override
    public synchronized void close()
    {
        // Spark unloads providers without asking whether a task still has a store open (StateStore.doMaintenance, a
        // newer provider of the partition elsewhere). That store keeps the map until it commits or aborts.
        closed = true;
        if (owner == null) {
            live.clear();
            liveVersion = -1;
        }
    }

    @Override
    public StateStore getStore(long version)
    {
        if (version < 0) {
            throw new IllegalArgumentException("version cannot be less than 0: " + version);
        }
        Store open;
        synchronized (this) {
            if (owner == null && !closed) {
                moveLiveTo(version);
                owner = new Store(version, live);
                return owner;
            }
            open = owner;
        }
        LOG.warn("{}: version {} asked for while {}; loading a copy from {}", id, version, open == null ? "the provider is closed" : "a store of version " + open.version + " is open", directory);
        StateEntries copy = new StateEntries(keyFields, valueFields);
        load(version, copy);
        return new Store(version, copy);
    }

    @Override
    public ReadStateStore getReadStore(long version)
    {
        if (version < 0) {
            throw new IllegalArgumentException("version cannot be less than 0: " + version);
        }
        synchronized (this) {
            if (owner == null && !closed) {
                moveLiveTo(version);
                return new ReadView(version);
            }
            // The open store's own task only: the map is not for two threads at once (a speculative attempt gets a copy).
            if (owner != null && owner.version == version && !owner.finished() && owner.thread == Thread.currentThread()) {
                return new ReadView(version);
            }
        }
        StateEntries copy = new StateEntries(keyFields, valueFields);
        load(version, copy);
        return new Store(version, copy);
    }

    @Override
    public void doMaintenance()
    {
        // As the default store does: a failure here must not reach Spark's maintenance task, which would then stop
        // and unload every provider of the executor.
        try {
            snapshot();
            cleanUp();
        }
        catch (Exception e) {
            // Hadoop's IOExceptions come through Spark's Scala code undeclared.
            LOG.warn("{}: maintenance failed (snapshot or cleanup of {}); the state files are as they were", id, directory, e);
        }
    }

    @Override
    public String toString()
    {
        return "InPlaceStateStoreProvider[" + id + ", " + directory + "]";
    }

    /** Writes a snapshot of the map when enough deltas have been committed since the last one. */
    void snapshot()
    {
        long version;
        long count;
        Iterable<UnsafeRowPair> entries;
        synchronized (this) {
            if (owner != null || closed || liveVersion <= 0) {
                return;
            }
            if (snapshotVersion < 0) {
                snapshotVersion = latestSnapshot(listFiles(), liveVersion).orElse(0);
            }
            if (liveVersion - snapshotVersion < conf.minDeltasForSnapshot()) {
                return;
            }
            // A view of the version: stored bytes are never changed, so the file can be written outside the lock.
            version = liveVersion;
            count = live.size();
            entries = live.view();
        }
        Path file = new Path(directory, version + ".snapshot");
        try {
            writeAtomically(file, out -> {
                for (UnsafeRowPair entry : entries) {
                    writePut(out, entry.key(), entry.value());
                }
            });
        }
        catch (IOException | RuntimeException e) {
            LOG.warn("{}: cannot write the snapshot {}", id, file, e);
            return;
        }
        synchronized (this) {
            snapshotVersion = Math.max(snapshotVersion, version);
        }
        LOG.info("{}: wrote snapshot {} of {} entries", id, file, count);
    }

    /**
     * Deletes the files no longer needed to load any of the last {@code minVersionsToRetain} versions, as the default
     * store does.
     */
    void cleanUp()
    {
        List<StoreFile> all = listFiles();
        long newest = all.stream().mapToLong(StoreFile::version).max().orElse(0);
        long earliestToKeep = newest - conf.minVersionsToRetain();
        if (earliestToKeep <= 0) {
            return;
        }
        OptionalLong snapshot = latestSnapshot(all, earliestToKeep);
        if (snapshot.isEmpty()) {
            return;
        }
        for (StoreFile file : all) {
            if (file.version() < snapshot.getAsLong()) {
                files.delete(file.path());
            }
        }
    }

    /** Brings the map in memory to {@code version}: as it is, by applying the deltas after it, or loaded anew. */
    private void moveLiveTo(long version)
    {
        if (liveVersion == version) {
            return;
        }
        if (liveVersion >= 0 && liveVersion < version) {
            boolean deltasPresent = true;
            for (long delta = liveVersion + 1; delta <= version && deltasPresent; delta++) {
                deltasPresent = files.exists(deltaFile(delta));
            }
            if (deltasPresent) {
                long from = liveVersion;
                liveVersion = -1;
                for (long delta = from + 1; delta <= version; delta++) {
                    read(deltaFile(delta), live);
                }
                liveVersion = version;
                return;
            }
        }
        live.clear();
        liveVersion = -1;
        load(version, live);
        liveVersion = version;
    }

    /** Loads {@code version} into the empty {@code entries}: the newest snapshot at or before it, then the deltas. */
    private void load(long version, StateEntries entries)
    {
        if (version == 0) {
            return;
        }
        long snapshot = latestSnapshot(listFiles(), version).orElse(0);
        if (snapshot > 0) {
            read(new Path(directory, snapshot + ".snapshot"), entries);
        }
        for (long delta = snapshot + 1; delta <= version; delta++) {
            Path file = deltaFile(delta);
            if (!files.exists(file)) {
                throw new IllegalStateException("cannot load version " + version + " of the state " + id + ": " + file
                        + " is missing (the checkpoint is incomplete, or was written by a different state store)");
            }
            read(file, entries);
        }
    }

    private void read(Path file, StateEntries entries)
    {
        try (DataInputStream in = new DataInputStream(codec.compressedInputStream(files.open(file)))) {
            while (true) {
                int keySize = in.readInt();
                if (keySize == -1) {
                    return;
                }
                if (keySize < 0) {
                    throw new IOException("corrupt state file: key size " + keySize);
                }
                byte[] keyBytes = new byte[keySize];
                in.readFully(keyBytes);
                UnsafeRow key = new UnsafeRow(keyFields);
                key.pointTo(keyBytes, keySize);
                int valueSize = in.readInt();
                if (valueSize < 0) {
                    entries.remove(key);
                    continue;
                }
                byte[] valueBytes = new byte[valueSize];
                in.readFully(valueBytes);
                UnsafeRow value = new UnsafeRow(valueFields);
                // As the default store reads it: rows of Spark before 2.3 may carry a few bytes past the last word.
                value.pointTo(valueBytes, (valueSize / 8) * 8);
                entries.put(key, value);
            }
        }
        catch (EOFException e) {
            throw new IllegalStateException("state file " + file + " of " + id + " ends early: it is truncated or corrupt", e);
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot read the state file " + file + " of " + id, e);
        }
    }

    private List<StoreFile> listFiles()
    {
        List<StoreFile> found = new ArrayList<>();
        for (FileStatus status : files.list(directory)) {
            Matcher matcher = FILE_NAME.matcher(status.getPath().getName());
            if (matcher.matches()) {
                found.add(new StoreFile(Long.parseLong(matcher.group(1)), matcher.group(2).equals("snapshot"), status.getPath()));
            }
        }
        return found;
    }

    private static OptionalLong latestSnapshot(List<StoreFile> files, long atOrBefore)
    {
        return files.stream()
                .filter(file -> file.snapshot() && file.version() <= atOrBefore)
                .mapToLong(StoreFile::version)
                .max();
    }

    private Path deltaFile(long version)
    {
        return new Path(directory, version + ".delta");
    }

    /**
     * Writes a state file: the entries, the end mark, then the rename into place when the stream closes. On a failure
     * the temporary file is dropped before the stream is closed, so that no partial file gets the final name.
     */
    private void writeAtomically(Path file, StateWriter body)
            throws IOException
    {
        CheckpointFileManager.CancellableFSDataOutputStream stream = files.createAtomic(file, true);
        DataOutputStream out = new DataOutputStream(codec.compressedOutputStream(stream));
        try {
            body.write(out);
            out.writeInt(-1);
        }
        catch (IOException | RuntimeException e) {
            stream.cancel();
            closeQuietly(out);
            throw e;
        }
        try {
            out.close();
        }
        catch (IOException | RuntimeException e) {
            stream.cancel();
            throw e;
        }
    }

    private static void closeQuietly(DataOutputStream out)
    {
        try {
            out.close();
        }
        catch (IOException | RuntimeException ignored) {
            // the stream was cancelled: the file is gone either way
        }
    }

    private interface StateWriter
    {
        void write(DataOutputStream out)
                throws IOException;
    }

    private static void writePut(DataOutputStream out, UnsafeRow key, UnsafeRow value)
            throws IOException
    {
        writeKey(out, key);
        byte[] valueBytes = value.getBytes();
        out.writeInt(valueBytes.length);
        out.write(valueBytes);
    }

    /** A removal in a delta file, as Spark's store writes it: the key, then -1 for the value's size. */
    private static void writeRemove(DataOutputStream out, UnsafeRow key)
            throws IOException
    {
        writeKey(out, key);
        out.writeInt(-1);
    }

    private static void writeKey(DataOutputStream out, UnsafeRow key)
            throws IOException
    {
        byte[] keyBytes = key.getBytes();
        out.writeInt(keyBytes.length);
        out.write(keyBytes);
    }

    /** Ends a store: its phase, and for the live map's owner the map's version, change together under the lock. */
    private synchronized void finish(Store store, Phase phase, OptionalLong committedVersion)
    {
        // The version first: a ReadView that still sees the store open then finds the version moved, and fails.
        if (owner == store) {
            if (committedVersion.isPresent()) {
                liveVersion = committedVersion.getAsLong();
            }
            owner = null;
        }
        store.phase = phase;
        if (owner == null && closed) {
            live.clear();
            liveVersion = -1;
        }
    }

    /** A store whose abort failed half-way: the map is no version at all, and is loaded anew next time. */
    private synchronized void lostLive(Store store)
    {
        store.phase = Phase.ABORTED;
        if (owner == store) {
            owner = null;
            live.clear();
            liveVersion = -1;
        }
    }

    private static scala.collection.Iterator<UnsafeRowPair> pairs(Iterator<UnsafeRowPair> entries)
    {
        return JavaConverters.asScalaIterator(entries);
    }

    private static StateStoreMetrics metrics(StateEntries entries)
    {
        return new StateStoreMetrics(
                entries.size(),
                entries.memoryBytes(),
                scala.collection.immutable.Map$.MODULE$.<StateStoreCustomMetric, Object>empty());
    }

    private record StoreFile(long version, boolean snapshot, Path path) {}

    private enum Phase
    {
        UPDATING, COMMITTED, ABORTED
    }

    /** One batch's store: its changes go into {@code entries} at once, and the undo log can take them back. */
    private final class Store
            implements StateStore
    {
        private final long version;
        private final StateEntries entries;
        private final Thread thread = Thread.currentThread();
        /** Each key the batch changed, with its value before the batch, or {@link #ABSENT}. Read by {@link ReadView}. */
        private final ConcurrentHashMap<UnsafeRow, UnsafeRow> undo = new ConcurrentHashMap<>();
        private volatile Phase phase = Phase.UPDATING;

        Store(long version, StateEntries entries)
        {
            this.version = version;
            this.entries = entries;
        }

        boolean finished()
        {
            return phase != Phase.UPDATING;
        }

        @Override
        public StateStoreId id()
        {
            return id;
        }

        @Override
        public long version()
        {
            return version;
        }

        @Override
        public UnsafeRow get(UnsafeRow key)
        {
            return entries.get(key);
        }

        @Override
        public void put(UnsafeRow key, UnsafeRow value)
        {
            checkUpdating("put");
            // The map keeps copies of both; a value it returns stays as it is, so the undo log keeps it as it comes.
            UnsafeRow previous = entries.put(key, value);
            undo.putIfAbsent(key.copy(), previous == null ? ABSENT : previous);
        }

        @Override
        public void remove(UnsafeRow key)
        {
            checkUpdating("remove");
            UnsafeRow previous = entries.remove(key);
            if (previous != null) {
                undo.putIfAbsent(key.copy(), previous);
            }
        }

        @Override
        public scala.collection.Iterator<UnsafeRowPair> prefixScan(UnsafeRow prefixKey)
        {
            throw new UnsupportedOperationException("InPlaceStateStoreProvider does not support prefix scans");
        }

        @Override
        public scala.collection.Iterator<UnsafeRowPair> iterator()
        {
            return pairs(entries.iterator());
        }

        @Override
        public long commit()
        {
            checkUpdating("commit");
            long newVersion = version + 1;
            Path file = deltaFile(newVersion);
            try {
                writeAtomically(file, out -> {
                    for (Map.Entry<UnsafeRow, UnsafeRow> change : undo.entrySet()) {
                        UnsafeRow value = entries.get(change.getKey());
                        if (value != null) {
                            writePut(out, change.getKey(), value);
                        }
                        else if (change.getValue() != ABSENT) {
                            writeRemove(out, change.getKey());
                        }
                    }
                });
            }
            catch (IOException | RuntimeException e) {
                abort();
                throw new IllegalStateException("cannot commit version " + newVersion + " of the state " + id + " to " + file, e);
            }
            // The undo log stays with the store, which is dropped with its task: a ReadView may still be reading it.
            finish(this, Phase.COMMITTED, OptionalLong.of(newVersion));
            return newVersion;
        }

        @Override
        public void abort()
        {
            if (finished()) {
                return;
            }
            try {
                for (Map.Entry<UnsafeRow, UnsafeRow> change : undo.entrySet()) {
                    if (change.getValue() == ABSENT) {
                        entries.remove(change.getKey());
                    }
                    else {
                        entries.put(change.getKey(), change.getValue());
                    }
                }
            }
            catch (RuntimeException | Error e) {
                lostLive(this);
                throw e;
            }
            finish(this, Phase.ABORTED, OptionalLong.empty());
        }

        @Override
        public StateStoreMetrics metrics()
        {
            return InPlaceStateStoreProvider.metrics(entries);
        }

        @Override
        public boolean hasCommitted()
        {
            return phase == Phase.COMMITTED;
        }

        private void checkUpdating(String operation)
        {
            if (finished()) {
                throw new IllegalStateException("cannot " + operation + " version " + version + " of the state " + id + ": the store is " + phase.name().toLowerCase(Locale.ROOT));
            }
        }

        @Override
        public String toString()
        {
            return "InPlaceStateStore[" + id + ", version " + version + "]";
        }
    }

    /**
     * Reads version {@code version} from the map in memory without taking it, while at most a store of that same
     * version updates it: a key that store changed is read from its undo log. Spark's streaming aggregation reads the
     * state this way before it updates it in the same task.
     */
    private final class ReadView
            implements ReadStateStore
    {
        private final long version;

        ReadView(long version)
        {
            this.version = version;
        }

        @Override
        public StateStoreId id()
        {
            return id;
        }

        @Override
        public long version()
        {
            return version;
        }

        @Override
        public UnsafeRow get(UnsafeRow key)
        {
            Store writer = currentWriter();
            if (writer != null) {
                UnsafeRow before = writer.undo.get(key);
                if (before != null) {
                    return before == ABSENT ? null : before;
                }
            }
            return live.get(key);
        }

        @Override
        public scala.collection.Iterator<UnsafeRowPair> prefixScan(UnsafeRow prefixKey)
        {
            throw new UnsupportedOperationException("InPlaceStateStoreProvider does not support prefix scans");
        }

        @Override
        public scala.collection.Iterator<UnsafeRowPair> iterator()
        {
            Store writer = currentWriter();
            if (writer == null || writer.undo.isEmpty()) {
                return pairs(live.iterator());
            }
            // The version as it was: the entries the writer has not changed, then those it changed as they were.
            Map<UnsafeRow, UnsafeRow> changed = writer.undo;
            Stream<UnsafeRowPair> unchanged = StreamSupport.stream(Spliterators.spliteratorUnknownSize(live.iterator(), 0), false)
                    .filter(entry -> !changed.containsKey(entry.key()));
            UnsafeRowPair pair = new UnsafeRowPair(null, null);
            Stream<UnsafeRowPair> before = changed.entrySet().stream()
                    .filter(change -> change.getValue() != ABSENT)
                    .map(change -> pair.withRows(change.getKey(), change.getValue()));
            return pairs(Stream.concat(unchanged, before).iterator());
        }

        @Override
        public void abort() {}

        /** The store updating the map, if any; fails when the map has moved past this view's version. */
        private Store currentWriter()
        {
            // The writer is read before the version: a writer that commits in between has moved the version on.
            Store writer = owner;
            long current = liveVersion;
            if (current != version) {
                throw new IllegalStateException("the state " + id + " moved from version " + version + " to " + current + " while it was read");
            }
            return writer != null && !writer.finished() ? writer : null;
        }

        @Override
        public String toString()
        {
            return "InPlaceReadStateStore[" + id + ", version " + version + "]";
        }
    }
}
