package io.sensorpipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sensorpipeline.common.settings.Settings;
import io.sensorpipeline.job.io.Checkpoint;
import io.sensorpipeline.job.io.SinkLog;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.FileStreamSourceLog;
import org.apache.spark.sql.execution.streaming.FileStreamSourceLog$;
import org.apache.spark.sql.execution.streaming.FileStreamSource.FileEntry;

import java.io.Closeable;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * Rewrites one day of a table into a few large files, so that a micro-batch sink's many small files do not slow every
 * query down, without a reader ever seeing a row twice or missing one.
 *
 * <p>Readers see only the files listed in the table's {@code _spark_metadata} log ({@link SinkLog}), so the new files
 * are invisible until the log lists them, and the log changes in one atomic step that swaps the day's old files for the
 * new ones. Step by step:
 * <ol>
 *   <li>Read the latest {@code .compact} file of the log (the whole list up to that batch) and pick the day's files
 *       from it. Files committed after it stay as they are until a later run.</li>
 *   <li>Keep only the files that every streaming query that reads this table (the aggregates and alerts read
 *       processed_data) has read in a committed batch; the others wait for a later run.</li>
 *   <li>Check that the files share one Parquet schema; count their rows from the footers.</li>
 *   <li>Write the rows into a staging directory ({@code <table>/_compaction/<run>/}, which no reader lists), write a
 *       journal of the run that names the old and the new files, move the new files into the day's partition
 *       directory, and check their row count against the old files'.</li>
 *   <li>Replace the latest {@code .compact} file (the sink may have written a newer one, which carries the day's old
 *       files forward) with the same list, the day's old files swapped for the new ones; a reader
 *       sees the old list or the new one. The new entries carry modification time 0: streaming readers remember files
 *       by path and take a file older than their newest minus {@code maxFileAge} as already read, which is right,
 *       since they have read those rows (step 2).</li>
 *   <li>Delete nothing yet: a query planned a moment ago still reads the old files. A run deletes the files of earlier
 *       runs' journals older than {@code --retention} that the log no longer lists (the old ones, or the new ones when
 *       the job's own log compaction won a race and the swap did not take).</li>
 * </ol>
 * A lock file ({@code _compaction/lock}) keeps two runs on one table apart. The job may keep running: the sink only
 * adds files with new batch ids. If the sink writes its next {@code .compact}
 * file in the same instant from the old list, the swap is undone, which is still consistent (the old files are
 * there); the run reports it.
 */
public final class TableCompaction
{
    /** The streaming queries of the job that read a table as a stream, by the table they read. */
    static final Map<String, List<String>> STREAMING_READERS = Map.of(
            IngestQuery.PROCESSED_DATA, List.of(StreamingJob.SENSOR_AGGREGATES, StreamingJob.SITE_AGGREGATES, AlertsQuery.NAME),
            StreamingJob.SENSOR_AGGREGATES, List.of(AlertsQuery.NAME));

    /** The order of the rows within a compacted file, by table. */
    static final Map<String, List<String>> SORT_KEYS = Map.of(
            IngestQuery.PROCESSED_DATA, List.of("sensorId", "timestamp"),
            IngestQuery.DEAD_LETTERS, List.of("partition", "offset"),
            StreamingJob.SENSOR_AGGREGATES, List.of("sensorId", "window_start"),
            StreamingJob.SITE_AGGREGATES, List.of("siteId", "type", "window_start"),
            AlertsQuery.NAME, List.of("sensorId", "alert_time"));

    static final String WORK_DIRECTORY = "_compaction";
    private static final String PARTITION_PREFIX = "event_date=";
    static final long DEFAULT_TARGET_FILE_SIZE = 128L << 20;
    static final Duration DEFAULT_RETENTION = Duration.ofHours(1);
    /** Spark's default {@code maxFileAge} of a file stream source; the job's readers keep it. */
    static final Duration MAX_FILE_AGE = Duration.ofDays(7);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter RUN_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final SparkSession spark;
    private final JobSettings settings;
    private final Configuration configuration;
    private final PrintStream progress;

    public TableCompaction(SparkSession spark, JobSettings settings, PrintStream progress)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.configuration = spark.sessionState().newHadoopConf();
        this.progress = requireNonNull(progress, "progress is null");
    }

    /** What a run did; {@code committed} is false when it changed nothing, and {@code message} says why. */
    public record Result(boolean committed, int filesBefore, int filesAfter, long rows, long bytesBefore, long bytesAfter, String message) {}

    public static void main(String[] arguments)
            throws IOException
    {
        List<String> rest = new ArrayList<>();
        String table = null;
        LocalDate date = null;
        long targetFileSize = DEFAULT_TARGET_FILE_SIZE;
        Duration retention = DEFAULT_RETENTION;
        boolean cleanupOnly = false;
        try {
            for (int index = 0; index < arguments.length; index++) {
                switch (arguments[index]) {
                    case "--table" -> table = value(arguments, ++index, "--table");
                    case "--date" -> date = date(value(arguments, ++index, "--date"));
                    case "--target-file-size" -> targetFileSize = bytes(value(arguments, ++index, "--target-file-size"));
                    case "--retention" -> retention = duration(value(arguments, ++index, "--retention"));
                    case "--cleanup" -> cleanupOnly = true;
                    case "--help", "-h" -> {
                        System.out.print(usage());
                        return;
                    }
                    default -> rest.add(arguments[index]);
                }
            }
            if (table == null || !LakeQuery.TABLES.contains(table)) {
                throw new IllegalArgumentException("--table must be one of " + String.join(", ", LakeQuery.TABLES) + " (got " + table + ")");
            }
            if (date == null && !cleanupOnly) {
                throw new IllegalArgumentException("--date YYYY-MM-DD is required (or --cleanup to only delete what earlier runs replaced)");
            }
        }
        catch (IllegalArgumentException e) {
            System.err.println("compact: " + e.getMessage());
            System.exit(2);
            return;
        }
        JobSettings settings = JobSettings.loadOrExit("compact", rest);
        SparkSession spark = StreamingJob.session("sensor-pipeline-compact", settings);
        int exitCode = 0;
        try {
            TableCompaction compaction = new TableCompaction(spark, settings, System.out);
            if (cleanupOnly) {
                compaction.cleanup(table, retention);
            }
            else {
                Result result = compaction.compact(table, date, targetFileSize, retention);
                exitCode = result.committed() || result.filesBefore() <= 1 ? 0 : 1;
            }
        }
        catch (FileNotFoundException | IllegalStateException | UnsupportedOperationException e) {
            System.err.println("compact: " + e.getMessage());
            exitCode = 1;
        }
        catch (IOException e) {
            System.err.println("compact: failed, the table's log is unchanged unless a line above says it was swapped: " + e);
            exitCode = 1;
        }
        finally {
            spark.stop();
        }
        System.exit(exitCode);
    }

    static String usage()
    {
        return """
                Usage: ./pipeline compact --table TABLE --date YYYY-MM-DD|yesterday|today [--target-file-size 128MB]
                                          [--retention 1h] [the job's flags]
                       ./pipeline compact --table TABLE --cleanup [--retention 1h] [the job's flags]
                (./pipeline stream --help lists the job's flags: they say where the lake is.)

                Rewrites one day (the partition event_date=YYYY-MM-DD, a UTC day) of a table into files of about
                --target-file-size, and swaps them for the old files in the table's _spark_metadata log in one atomic
                step: a reader sees the old files or the new ones, never both and never neither. The streaming job may
                keep running. Tables on file:, hdfs: and s3a: are supported; the lake root comes from the job's flags
                (--config, --set, --lake-root).

                The old files stay on disk until a later run (or --cleanup) finds them older than --retention and no
                longer listed: a query planned just before the swap still reads them. Give --retention more than your
                longest query takes.

                Tables: %s

                Exit codes: 0 compacted (or nothing to do), 1 refused or failed (the table is unchanged), 2 bad flags.
                """.formatted(String.join(", ", LakeQuery.TABLES));
    }

    /** The day of {@code table} whose files the log lists most often, if it lists any. */
    public Optional<LocalDate> busiestDay(String table)
            throws IOException
    {
        Map<String, Long> files = new java.util.TreeMap<>();
        for (SinkLog.Entry entry : SinkLog.of(configuration, new Path(settings.tablePath(table))).committedFiles()) {
            files.merge(entry.partition(), 1L, Long::sum);
        }
        return files.entrySet().stream()
                .filter(partition -> partition.getKey().startsWith(PARTITION_PREFIX))
                .max(Map.Entry.comparingByValue())
                .map(partition -> LocalDate.parse(partition.getKey().substring(PARTITION_PREFIX.length())));
    }

    /** The name of the partition directory that holds one day of a table. */
    static String partition(LocalDate date)
    {
        return PARTITION_PREFIX + date;
    }

    /** Compacts the day {@code date} of {@code table}. */
    public Result compact(String table, LocalDate date, long targetFileSize, Duration retention)
            throws IOException
    {
        Path tablePath = new Path(settings.tablePath(table));
        String scheme = tablePath.toUri().getScheme() == null ? FileSystem.getDefaultUri(configuration).getScheme() : tablePath.toUri().getScheme();
        if (!SinkLog.supportsScheme(scheme)) {
            throw new UnsupportedOperationException(SinkLog.unsupportedScheme(scheme));
        }
        FileSystem fileSystem = tablePath.getFileSystem(configuration);
        tablePath = fileSystem.makeQualified(tablePath);
        SinkLog log = SinkLog.of(configuration, tablePath);
        String run = RUN_TIME.format(Instant.now()) + "-" + UUID.randomUUID().toString().substring(0, 8);
        Path work = new Path(tablePath, WORK_DIRECTORY);
        try (Closeable lock = lock(fileSystem, work, run)) {
            cleanupLocked(table, fileSystem, work, log, retention);
            return compactLocked(table, date, targetFileSize, retention, fileSystem, tablePath, log, work, run);
        }
    }

    private Result compactLocked(String table, LocalDate date, long targetFileSize, Duration retention, FileSystem fileSystem, Path tablePath, SinkLog log, Path work, String run)
            throws IOException
    {
        String partition = partition(date);
        SinkLog.Listing listing = log.list();
        OptionalLong compaction = listing.latestCompaction();
        if (compaction.isEmpty()) {
            return nothing("%s has no .compact file in its log yet (the sink writes one every %s batches): nothing to compact".formatted(table, "spark.sql.streaming.fileSink.log.compactInterval"));
        }
        long compactionId = compaction.getAsLong();
        List<SinkLog.Entry> listed = log.read(compactionId);
        List<SinkLog.Entry> selected = listed.stream().filter(entry -> entry.partition().equals(partition)).toList();
        long later = 0;
        for (long id : listing.batchIds().tailSet(compactionId, false)) {
            later += log.read(id).stream().filter(entry -> entry.partition().equals(partition)).count();
        }
        String laterNote = later == 0 ? "" : " (%d newer files of the day, committed after log batch %d, wait for a later run)".formatted(later, compactionId);
        progress.printf("compact: %s %s: %d files listed up to log batch %d%s%n", table, partition, selected.size(), compactionId, laterNote);
        if (selected.size() <= 1) {
            return nothing("%s %s has %d file(s) to compact: nothing to do%s".formatted(table, partition, selected.size(), laterNote));
        }

        // Only files every streaming reader has read may be replaced (see the class comment); the others wait.
        Map<String, Set<Path>> unread = unreadByStreamingReaders(table, selected);
        if (!unread.isEmpty()) {
            Set<Path> waiting = new HashSet<>();
            unread.values().forEach(waiting::addAll);
            String readers = unread.entrySet().stream()
                    .map(reader -> "%s has not yet read %d of them (checkpoint %s)".formatted(reader.getKey(), reader.getValue().size(), settings.checkpointPath(reader.getKey())))
                    .collect(java.util.stream.Collectors.joining("; "));
            List<SinkLog.Entry> read = selected.stream().filter(entry -> !waiting.contains(entry.path())).toList();
            if (read.size() <= 1) {
                return refused(selected, "the streaming query %s; run compact again once they have caught up".formatted(readers));
            }
            progress.printf("compact: %d of the files wait for the next run: the streaming query %s%n", waiting.size(), readers);
            selected = read;
        }

        MessageType schema = null;
        long rows = 0;
        long bytesBefore = 0;
        for (SinkLog.Entry entry : selected) {
            try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(entry.path(), configuration))) {
                MessageType fileSchema = reader.getFooter().getFileMetaData().getSchema();
                if (schema == null) {
                    schema = fileSchema;
                }
                else if (!columns(schema).equals(columns(fileSchema))) {
                    return refused(selected, "the files of %s do not share one Parquet schema (%s differs from the first file); compaction would lose columns".formatted(partition, entry.path().getName()));
                }
                rows += reader.getRecordCount();
            }
            bytesBefore += entry.size();
        }

        Path staging = new Path(work, run);
        int files = (int) Math.max(1, Math.min(selected.size(), (bytesBefore + targetFileSize - 1) / targetFileSize));
        progress.printf("compact: rewriting %,d rows (%,d bytes) into %d file(s) under %s%n", rows, bytesBefore, files, staging);
        // Its own session, so the timestamps keep the physical type the old files have (INT96 from older writers).
        SparkSession session = spark.newSession();
        session.conf().set("spark.sql.parquet.outputTimestampType", timestampType(schema));
        Dataset<Row> data = session.read().parquet(selected.stream().map(entry -> entry.path().toString()).toArray(String[]::new));
        if (List.of(data.columns()).contains("event_date")) {
            data = data.drop("event_date");
        }
        // Rows sorted within each new file, so that similar values sit together and compress better (in the benchmark,
        // 400 files of 79.7 MB became one of 60.9 MB sorted, 69.4 MB unsorted).
        Dataset<Row> sorted = data.coalesce(files);
        List<String> columns = List.of(data.columns());
        List<String> sortKey = SORT_KEYS.getOrDefault(table, List.of()).stream().filter(columns::contains).toList();
        if (!sortKey.isEmpty()) {
            sorted = sorted.sortWithinPartitions(sortKey.stream().map(org.apache.spark.sql.functions::col).toArray(org.apache.spark.sql.Column[]::new));
        }
        sorted.write().options(table.equals(IngestQuery.PROCESSED_DATA) ? IngestQuery.PROCESSED_DATA_OPTIONS : Map.of()).parquet(staging.toString());

        // The journal names the new files before they leave the staging directory, so that a run that dies from here
        // on leaves nothing that a later run's cleanup does not find.
        Path partitionPath = new Path(tablePath, partition);
        FileStatus[] staged = fileSystem.listStatus(staging, path -> path.getName().endsWith(".parquet"));
        List<Path> targets = new ArrayList<>();
        for (FileStatus file : staged) {
            targets.add(new Path(partitionPath, file.getPath().getName()));
        }
        writeJournal(fileSystem, new Path(work, run + ".json"), table, date, paths(selected), targets, 0);
        List<SinkLog.Entry> written = new ArrayList<>();
        long rowsWritten = 0;
        long bytesAfter = 0;
        for (int index = 0; index < staged.length; index++) {
            if (!fileSystem.rename(staged[index].getPath(), targets.get(index))) {
                throw new IOException("could not move " + staged[index].getPath() + " to " + targets.get(index));
            }
            FileStatus moved = fileSystem.getFileStatus(targets.get(index));
            try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromStatus(moved, configuration))) {
                rowsWritten += reader.getRecordCount();
            }
            bytesAfter += moved.getLen();
            written.add(SinkLog.Entry.of(moved, 0));
        }
        fileSystem.delete(staging, true);
        if (rowsWritten != rows) {
            deleteAll(fileSystem, targets);
            throw new IllegalStateException("the new files of %s hold %d rows, the old ones %d: nothing changed".formatted(partition, rowsWritten, rows));
        }

        // The sink may have written a newer .compact file meanwhile (every 10 batches): swap in the latest one, which
        // carries the day's old files forward.
        Set<Path> replaced = paths(selected);
        long target = log.latestCompaction().orElseThrow();
        List<SinkLog.Entry> current = target == compactionId ? listed : log.read(target);
        if (!paths(current).containsAll(replaced)) {
            return lostRace(selected, "the log no longer lists all of the day's old files (another compaction?)");
        }
        List<SinkLog.Entry> swapped = new ArrayList<>();
        current.stream().filter(entry -> !replaced.contains(entry.path())).forEach(swapped::add);
        swapped.addAll(written);
        log.replaceCompaction(target, swapped);
        writeJournal(fileSystem, new Path(work, run + ".json"), table, date, replaced, targets, System.currentTimeMillis());

        // The sink reads the latest .compact file when it writes the next one; if it read it a moment before the swap,
        // its list, without the swap, is the table now. Consistent either way: the old files are still there, and the
        // cleanup deletes whichever set the log no longer lists.
        long latest = log.latestCompaction().orElseThrow();
        if (latest != target && !paths(log.read(latest)).containsAll(paths(written))) {
            return lostRace(selected, "the job compacted its log in the same instant");
        }
        progress.printf("compact: %s %s: %d files (%,d bytes) -> %d file(s) (%,d bytes), %,d rows; swapped in log batch %d.compact%n",
                table, partition, selected.size(), bytesBefore, written.size(), bytesAfter, rows, target);
        progress.printf("compact: the %d old files stay until a run after %s deletes them (--retention; journal %s)%n",
                selected.size(), text(retention), new Path(work, run + ".json"));
        return new Result(true, selected.size(), written.size(), rows, bytesBefore, bytesAfter, "compacted");
    }

    private Result nothing(String message)
    {
        progress.println("compact: " + message);
        return new Result(false, 0, 0, 0, 0, 0, message);
    }

    private Result refused(List<SinkLog.Entry> selected, String message)
    {
        System.err.println("compact: refused, the table is unchanged: " + message);
        return new Result(false, selected.size(), selected.size(), 0, 0, 0, message);
    }

    private Result lostRace(List<SinkLog.Entry> selected, String why)
    {
        String message = why + ", so the table keeps its old files; run compact again (the new files are deleted after --retention)";
        System.err.println("compact: " + message);
        return new Result(false, selected.size(), selected.size(), 0, 0, 0, message);
    }

    /**
     * For each streaming query that reads {@code table}: those of {@code files} it has not yet read in a committed
     * batch, if any. A query that has never run has nothing to skip: it will read the new files like any other.
     *
     * <p>A file source numbers its own log ({@code sources/<i>/}) apart from the query's batches: the query's last
     * commit ({@code commits/<c>}) holds up to the source offsets that {@code offsets/<c>} records, one line per
     * source. A file that compaction wrote (modification time 0) counts as read once the query has seen a file newer
     * than {@code maxFileAge} (7 days) after 1970: from then on it skips such files for good, and their rows reached
     * it in the files they replaced.
     */
    Map<String, Set<Path>> unreadByStreamingReaders(String table, List<SinkLog.Entry> files)
            throws IOException
    {
        Map<String, Set<Path>> unread = new java.util.TreeMap<>();
        for (String reader : STREAMING_READERS.getOrDefault(table, List.of())) {
            Path checkpoint = new Path(settings.checkpointPath(reader));
            FileSystem fileSystem = checkpoint.getFileSystem(configuration);
            Path sources = new Path(checkpoint, "sources");
            if (!fileSystem.exists(sources)) {
                continue;
            }
            List<String> committedOffsets = committedOffsets(fileSystem, checkpoint);
            Set<Path> read = new HashSet<>();
            long newest = 0;
            for (FileStatus source : fileSystem.listStatus(sources)) {
                // offsets/<c>: a version line, a metadata line, then the offset of source i on line i + 2.
                OptionalLong index = SinkLog.batchId(source.getPath().getName());
                if (index.isEmpty() || index.getAsLong() + 2 >= committedOffsets.size()) {
                    continue;
                }
                JsonNode offset = parseOffset(committedOffsets.get((int) index.getAsLong() + 2));
                if (!offset.has("logOffset")) {
                    continue;
                }
                long logOffset = offset.get("logOffset").asLong();
                FileStreamSourceLog sourceLog = new FileStreamSourceLog(FileStreamSourceLog$.MODULE$.VERSION(), spark, source.getPath().toString());
                for (FileEntry entry : sourceLog.allFiles()) {
                    if (entry.batchId() <= logOffset) {
                        read.add(new Path(URI.create(entry.path())));
                        newest = Math.max(newest, entry.timestamp());
                    }
                }
            }
            boolean skipsCompactedFiles = newest > MAX_FILE_AGE.toMillis();
            Set<Path> notRead = new LinkedHashSet<>();
            files.stream()
                    .filter(file -> !read.contains(file.path()) && !(file.modificationTime() == 0 && skipsCompactedFiles))
                    .map(SinkLog.Entry::path)
                    .forEach(notRead::add);
            if (!notRead.isEmpty()) {
                unread.put(reader, notRead);
            }
        }
        return unread;
    }

    /** The lines of the offsets file of the query's last committed batch, or none when it has committed none. */
    private static List<String> committedOffsets(FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        OptionalLong committed = Checkpoint.lastCommit(fileSystem, checkpoint);
        if (committed.isEmpty()) {
            return List.of();
        }
        try (InputStream input = fileSystem.open(new Path(new Path(checkpoint, "offsets"), Long.toString(committed.getAsLong())))) {
            return List.of(new String(input.readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        }
    }

    private static JsonNode parseOffset(String line)
    {
        try {
            return line.startsWith("{") ? JSON.readTree(line) : JSON.createObjectNode();
        }
        catch (IOException e) {
            throw new IllegalStateException("unreadable source offset in a reader's checkpoint: " + line, e);
        }
    }

    /**
     * Deletes, for each journal of an earlier run whose swap is older than {@code retention} (or which died before its
     * swap), those of its old and new files that the log no longer lists, then the journal. A listed file is never
     * deleted.
     */
    public int cleanup(String table, Duration retention)
            throws IOException
    {
        Path tablePath = new Path(settings.tablePath(table));
        FileSystem fileSystem = tablePath.getFileSystem(configuration);
        tablePath = fileSystem.makeQualified(tablePath);
        Path work = new Path(tablePath, WORK_DIRECTORY);
        if (!fileSystem.exists(work)) {
            return 0;
        }
        try (Closeable lock = lock(fileSystem, work, "cleanup-" + RUN_TIME.format(Instant.now()))) {
            return cleanupLocked(table, fileSystem, work, SinkLog.of(configuration, tablePath), retention);
        }
    }

    private int cleanupLocked(String table, FileSystem fileSystem, Path work, SinkLog log, Duration retention)
            throws IOException
    {
        if (!fileSystem.exists(work)) {
            return 0;
        }
        FileStatus[] journals = fileSystem.listStatus(work, path -> path.getName().endsWith(".json"));
        if (journals.length == 0) {
            return 0;
        }
        Set<Path> listed = paths(log.committedFiles());
        if (listed.isEmpty()) {
            System.err.println("compact: the log of " + table + " lists no file; the cleanup leaves everything as it is");
            return 0;
        }
        int deleted = 0;
        long cutoff = System.currentTimeMillis() - retention.toMillis();
        for (FileStatus journal : journals) {
            JsonNode node;
            try (InputStream input = fileSystem.open(journal.getPath())) {
                node = JSON.readTree(new String(input.readAllBytes(), StandardCharsets.UTF_8));
            }
            long swappedAt = node.path("swappedAt").asLong(0);
            if ((swappedAt > 0 ? swappedAt : node.path("createdAt").asLong(Long.MAX_VALUE)) > cutoff) {
                continue;
            }
            List<Path> replaced = journalPaths(node, "replaced");
            List<Path> written = journalPaths(node, "written");
            if (swappedAt > 0 && listed.containsAll(replaced) && !written.isEmpty() && !listed.containsAll(written)) {
                progress.printf("compact: the swap of run %s did not take (the job compacted its log at the same moment); its new files are deleted%n",
                        journal.getPath().getName().replaceFirst("\\.json$", ""));
            }
            deleted += deleteAll(fileSystem, java.util.stream.Stream.concat(replaced.stream(), written.stream())
                    .filter(file -> !listed.contains(file))
                    .toList());
            fileSystem.delete(new Path(work, journal.getPath().getName().replaceFirst("\\.json$", "")), true);
            fileSystem.delete(journal.getPath(), false);
        }
        if (deleted > 0) {
            progress.printf("compact: deleted %d files of %s that earlier runs replaced more than %s ago%n", deleted, table, text(retention));
        }
        return deleted;
    }

    private static List<Path> journalPaths(JsonNode journal, String field)
    {
        List<Path> paths = new ArrayList<>();
        for (JsonNode path : journal.path(field)) {
            paths.add(new Path(URI.create(path.asText())));
        }
        return paths;
    }

    /**
     * Only one compaction or cleanup of a table at a time: two would each swap the log from what they read, and the
     * second would undo the first. The lock file is created exclusively (atomic on a local disk and HDFS; on S3 the
     * check and the write are two requests, so there it guards against mistakes, not against a race).
     */
    private static Closeable lock(FileSystem fileSystem, Path work, String run)
            throws IOException
    {
        Path lock = new Path(work, "lock");
        try (FSDataOutputStream output = fileSystem.create(lock, false)) {
            output.write((run + "\n").getBytes(StandardCharsets.UTF_8));
        }
        catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
            String holder;
            try (InputStream input = fileSystem.open(lock)) {
                holder = new String(input.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
            catch (IOException unreadable) {
                holder = "unreadable";
            }
            throw new IllegalStateException("another compaction of this table is running (%s holds run %s); if none is (it was killed), delete that file and run again".formatted(lock, holder));
        }
        return () -> fileSystem.delete(lock, false);
    }

    private static int deleteAll(FileSystem fileSystem, List<Path> files)
            throws IOException
    {
        int deleted = 0;
        for (Path file : files) {
            if (fileSystem.delete(file, false)) {
                deleted++;
            }
        }
        return deleted;
    }

    /** The run's journal; {@code swappedAt} 0 until the swap, then the time the retention counts from. */
    private static void writeJournal(FileSystem fileSystem, Path journal, String table, LocalDate date, Set<Path> replaced, List<Path> written, long swappedAt)
            throws IOException
    {
        ObjectNode node = JSON.createObjectNode()
                .put("table", table)
                .put("date", date.toString())
                .put("createdAt", System.currentTimeMillis())
                .put("swappedAt", swappedAt);
        replaced.forEach(path -> node.withArray("replaced").add(path.toUri().toString()));
        written.forEach(path -> node.withArray("written").add(path.toUri().toString()));
        try (FSDataOutputStream output = fileSystem.create(journal, true)) {
            output.write(node.toPrettyString().getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Each column's name, physical type and logical type: what a rewrite must keep. Not whether it is required: Spark
     * reads every Parquet column back as nullable, so a rewritten file says optional where the streaming writer knew a
     * column was never null.
     */
    static List<String> columns(MessageType schema)
    {
        return schema.getColumns().stream()
                .map(column -> String.join(".", column.getPath()) + " " + column.getPrimitiveType().getPrimitiveTypeName()
                        + " " + column.getPrimitiveType().getLogicalTypeAnnotation())
                .toList();
    }

    private static String timestampType(MessageType schema)
    {
        for (ColumnDescriptor column : schema.getColumns()) {
            if (column.getPrimitiveType().getPrimitiveTypeName() == PrimitiveType.PrimitiveTypeName.INT96) {
                return "INT96";
            }
            if (column.getPrimitiveType().getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.TimestampLogicalTypeAnnotation timestamp
                    && timestamp.getUnit() == LogicalTypeAnnotation.TimeUnit.MILLIS) {
                return "TIMESTAMP_MILLIS";
            }
        }
        return "TIMESTAMP_MICROS";
    }

    private static Set<Path> paths(List<SinkLog.Entry> entries)
    {
        Set<Path> paths = new LinkedHashSet<>();
        entries.forEach(entry -> paths.add(entry.path()));
        return paths;
    }

    private static String value(String[] arguments, int index, String flag)
    {
        if (index >= arguments.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return arguments[index];
    }

    /** A day: YYYY-MM-DD, or today or yesterday in UTC, the zone of event_date (for a nightly cron job). */
    static LocalDate date(String text)
    {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        if (text.equals("today")) {
            return today;
        }
        if (text.equals("yesterday")) {
            return today.minusDays(1);
        }
        try {
            return LocalDate.parse(text);
        }
        catch (DateTimeParseException e) {
            throw new IllegalArgumentException("invalid --date '" + text + "': expected YYYY-MM-DD, today or yesterday (UTC)");
        }
    }

    static long bytes(String text)
    {
        String value = text.trim().toUpperCase(Locale.ROOT).replaceFirst("I?B$", "");
        long unit = switch (value.isEmpty() ? ' ' : value.charAt(value.length() - 1)) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        String number = unit == 1 ? value : value.substring(0, value.length() - 1);
        try {
            long bytes = Math.multiplyExact(Long.parseLong(number.trim()), unit);
            if (bytes < 1 << 20) {
                throw new IllegalArgumentException("invalid --target-file-size '" + text + "': at least 1MB");
            }
            return bytes;
        }
        catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("invalid --target-file-size '" + text + "': expected a size such as 128MB or 1GB");
        }
    }

    private static String text(Duration duration)
    {
        return duration.toString().substring(2).toLowerCase(Locale.ROOT);
    }

    private static Duration duration(String text)
    {
        try {
            return Settings.parseDuration(text);
        }
        catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid --retention '" + text + "': expected a duration such as 30m or 1h (" + e.getMessage() + ")");
        }
    }
}
