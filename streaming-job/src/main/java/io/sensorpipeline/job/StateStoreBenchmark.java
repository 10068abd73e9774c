package io.sensorpipeline.job;

import io.sensorpipeline.job.io.InPlaceStateStoreProvider;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider;
import org.apache.spark.sql.execution.streaming.state.StateStore;
import org.apache.spark.sql.execution.streaming.state.StateStoreConf;
import org.apache.spark.sql.execution.streaming.state.StateStoreId;
import org.apache.spark.sql.execution.streaming.state.StateStoreProvider;
import org.apache.spark.sql.execution.streaming.state.UnsafeRowPair;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark of the state store alone ({@code ./pipeline bench state}): the ingest query's de-duplication replayed
 * on one store, without Spark's operators, Kafka or Parquet. Two partitions on two threads, as the job runs them in
 * local mode; every batch, each partition looks up and stores its share of the readings (random UUIDs, as the
 * producer's eventIds, kept until their event time plus the watermark is behind the watermark, as
 * {@code dropDuplicatesWithinWatermark} keeps them), scans the whole state for expired entries, and commits a
 * version to a local checkpoint; Spark's maintenance (snapshots, cleanup) runs every 60 s on a thread of its own, as
 * in the job. Batches run back to back, one second of event time each. Prints, for the batches after the state
 * reached its steady size: the mean, p95 and longest batch, and for the whole run the JVM's CPU, its garbage
 * collectors' time and its peak RSS.
 */
public final class StateStoreBenchmark
{
    private static final StructType KEY = new StructType().add("eventId", DataTypes.StringType, false);
    private static final StructType VALUE = new StructType().add("expiresAtMicros", DataTypes.LongType, false);
    private static final int PARTITIONS = 2;

    private StateStoreBenchmark() {}

    public static void main(String[] arguments)
            throws Exception
    {
        List<String> flags = new ArrayList<>(Arrays.asList(arguments));
        // ./pipeline passes the job's config file, which holds nothing for this benchmark.
        JobSettings.takeFlag(flags, "--config");
        String store = JobSettings.takeFlag(flags, "--store").orElse("in-place");
        int rate = Integer.parseInt(JobSettings.takeFlag(flags, "--rate").orElse("10000"));
        int watermarkSeconds = Integer.parseInt(JobSettings.takeFlag(flags, "--watermark-seconds").orElse("120"));
        int steadyBatches = Integer.parseInt(JobSettings.takeFlag(flags, "--steady-batches").orElse("60"));
        Path checkpoint = Path.of(JobSettings.takeFlag(flags, "--checkpoint").orElseThrow(() -> new IllegalArgumentException("--checkpoint DIR is required")));
        if (!flags.isEmpty()) {
            throw new IllegalArgumentException("unknown flags: " + flags + " (flags: --store in-place|default, --rate N, --watermark-seconds N, --steady-batches N, --checkpoint DIR)");
        }
        if (!store.equals("in-place") && !store.equals("default")) {
            throw new IllegalArgumentException("--store: expected in-place or default, not " + store);
        }

        List<StateStoreProvider> providers = new ArrayList<>();
        for (int partition = 0; partition < PARTITIONS; partition++) {
            StateStoreProvider provider = store.equals("in-place") ? new InPlaceStateStoreProvider() : new HDFSBackedStateStoreProvider();
            provider.init(new StateStoreId(checkpoint.toUri().toString(), 0, partition, StateStoreId.DEFAULT_STORE_NAME()), KEY, VALUE, 0,
                    new StateStoreConf(new SQLConf(), scala.collection.immutable.Map$.MODULE$.<String, String>empty()), new Configuration());
            providers.add(provider);
        }
        ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor();
        maintenance.scheduleWithFixedDelay(() -> providers.forEach(StateStoreProvider::doMaintenance), 60, 60, TimeUnit.SECONDS);
        ExecutorService tasks = Executors.newFixedThreadPool(PARTITIONS);

        int perPartition = rate / PARTITIONS;
        long watermarkMicros = watermarkSeconds * 1_000_000L;
        // Entries live twice the watermark: full after 2 x watermark seconds of event time.
        int fillBatches = 2 * watermarkSeconds + 2;
        int batches = fillBatches + steadyBatches;
        long[] steadyNanos = new long[steadyBatches];
        long[] stateRows = new long[PARTITIONS];
        long cpuStart = cpuNanos();
        long gcStart = gcMillis();
        long start = System.nanoTime();
        for (int batch = 0; batch < batches; batch++) {
            long version = batch;
            long eventTime = batch * 1_000_000L;
            long watermark = Math.max(0, eventTime - 1_000_000L - watermarkMicros);
            long began = System.nanoTime();
            List<Future<Long>> done = new ArrayList<>();
            for (int partition = 0; partition < PARTITIONS; partition++) {
                StateStoreProvider provider = providers.get(partition);
                done.add(tasks.submit(() -> deduplicate(provider.getStore(version), perPartition, eventTime, watermark, watermarkMicros)));
            }
            for (int partition = 0; partition < PARTITIONS; partition++) {
                stateRows[partition] = done.get(partition).get();
            }
            if (batch >= fillBatches) {
                steadyNanos[batch - fillBatches] = System.nanoTime() - began;
            }
            if (batch % 60 == 0) {
                System.err.printf(Locale.ROOT, "bench state (%s): batch %d of %d, %,d state rows%n", store, batch, batches, Arrays.stream(stateRows).sum());
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpu = (cpuNanos() - cpuStart) / 1e9;
        double gc = (gcMillis() - gcStart) / 1e3;
        maintenance.shutdownNow();
        tasks.shutdownNow();
        Arrays.sort(steadyNanos);
        double mean = Arrays.stream(steadyNanos).average().orElse(0) / 1e6;
        double p95 = steadyNanos[(int) Math.ceil(0.95 * steadyNanos.length) - 1] / 1e6;
        double max = steadyNanos[steadyNanos.length - 1] / 1e6;
        System.out.printf(Locale.ROOT, "  %-9s %,10d %12.0f %12.0f %12.0f %10.1f %10.1f %10.1f %10d%n", store, Arrays.stream(stateRows).sum(), mean, p95, max,
                seconds, cpu, gc, peakRssMegabytes());
    }

    /** One partition's batch: look up and store the new readings, drop the expired ones, commit; returns the rows. */
    private static long deduplicate(StateStore store, int readings, long eventTime, long watermark, long watermarkMicros)
    {
        UnsafeProjection keys = UnsafeProjection.create(KEY);
        UnsafeProjection values = UnsafeProjection.create(VALUE);
        for (int i = 0; i < readings; i++) {
            UnsafeRow key = keys.apply(new GenericInternalRow(new Object[] {UTF8String.fromString(UUID.randomUUID().toString())}));
            if (store.get(key) == null) {
                store.put(key, values.apply(new GenericInternalRow(new Object[] {eventTime + watermarkMicros})));
            }
        }
        scala.collection.Iterator<UnsafeRowPair> entries = store.iterator();
        while (entries.hasNext()) {
            UnsafeRowPair entry = entries.next();
            if (entry.value().getLong(0) < watermark) {
                store.remove(entry.key());
            }
        }
        store.commit();
        return store.metrics().numKeys();
    }

    private static long cpuNanos()
    {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long gcMillis()
    {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    private static long peakRssMegabytes()
            throws IOException
    {
        return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(line -> line.startsWith("VmHWM:"))
                .mapToLong(line -> Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024)
                .findFirst()
                .orElse(-1);
    }
}
