package io.sensorpipeline.job;

import io.sensorpipeline.job.io.SinkLog;
import io.sensorpipeline.localstack.KafkaBrokerExtension;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.countDistinct;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code compact} on a local lake the job wrote from a real broker: a query running during the compaction sees the
 * complete table, the day's files shrink to one, the streaming queries that read processed_data do not read the new
 * files as new (no aggregate or alert twice after the job runs on), and a compaction that a streaming reader is not
 * ready for is refused. And a compaction while the job runs with a 1 s trigger: afterwards verify adds up, no
 * aggregate or alert is there twice, and none is missing.
 */
class CompactionIT
{
    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1, "running-readings", 2));

    @TempDir
    static Path directory;

    @Test
    void compactionKeepsEveryRowOnceForReadersAndTheRunningQueries()
            throws Exception
    {
        TestProcesses.produce(directory, kafka.bootstrapServers(), "--count", "24000", "--rate", "0", "--seed", "5", "--sensors", "100",
                "--malformed-ratio", "0.03", "--duplicate-ratio", "0.01");
        SparkSession spark = SparkTestSession.get();
        List<String> written;
        JobSettings settings = JobSettings.load(List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(), "--trigger", "available-now",
                "--lake-root", directory.resolve("lake").toString(), "--checkpoint-root", directory.resolve("checkpoints").toString(),
                "--sensors-file", "../data/sensors.csv", "--max-offsets-per-trigger", "2000", "--metrics-port", "off"), Map.of());
        // A .compact file every 4 log batches instead of 10, so that a few thousand records make one.
        spark.conf().set("spark.sql.streaming.fileSink.log.compactInterval", "4");
        try {
            new StreamingJob(spark, settings).run();

            String processed = settings.tablePath(IngestQuery.PROCESSED_DATA);
            LocalDate day = CompactionCheck.busiestDay(spark, settings, IngestQuery.PROCESSED_DATA);

            // A streaming reader that has not committed the batches holding the day's files would skip the new files
            // (they carry modification time 0): compaction must refuse and change nothing.
            Path commits = directory.resolve("checkpoints").resolve(StreamingJob.SENSOR_AGGREGATES).resolve("commits");
            Path aside = directory.resolve("commits-aside");
            Files.move(commits, aside);
            List<SinkLog.Entry> filesBefore = CompactionCheck.filesOf(spark.sessionState().newHadoopConf(), processed, day);
            TableCompaction.Result refused = new TableCompaction(spark, settings, System.out)
                    .compact(IngestQuery.PROCESSED_DATA, day, TableCompaction.DEFAULT_TARGET_FILE_SIZE, Duration.ZERO);
            assertThat(refused.committed()).isFalse();
            assertThat(refused.message()).contains(StreamingJob.SENSOR_AGGREGATES);
            assertThat(CompactionCheck.filesOf(spark.sessionState().newHadoopConf(), processed, day)).isEqualTo(filesBefore);
            Files.move(aside, commits);

            TableCompaction.Result result = CompactionCheck.compactWhileReading(spark, settings, IngestQuery.PROCESSED_DATA, day);
            assertThat(result.filesAfter()).isEqualTo(1);
            written = CompactionCheck.filesOf(spark.sessionState().newHadoopConf(), processed, day).stream()
                    .filter(file -> !filesBefore.contains(file))
                    .map(file -> file.path().getName())
                    .toList();
            assertThat(written).hasSize(1);
            // Its rows are sorted by sensor and time (one file, one read partition: the read keeps the file's order).
            List<org.apache.spark.sql.Row> order = spark.read().parquet(processed + "/event_date=" + day + "/" + written.get(0))
                    .select("sensorId", "timestamp").collectAsList();
            for (int index = 1; index < order.size(); index++) {
                org.apache.spark.sql.Row previous = order.get(index - 1);
                org.apache.spark.sql.Row row = order.get(index);
                int bySensor = previous.getString(0).compareTo(row.getString(0));
                assertThat(bySensor < 0 || (bySensor == 0 && !previous.getTimestamp(1).after(row.getTimestamp(1))))
                        .as("row %d (%s) after row %d (%s)", index, row, index - 1, previous).isTrue();
            }
            assertThat(result.filesBefore()).isGreaterThan(10);
            // The small tables compact too (dead letters: no streaming reader).
            CompactionCheck.compactWhileReading(spark, settings, IngestQuery.DEAD_LETTERS,
                    CompactionCheck.busiestDay(spark, settings, IngestQuery.DEAD_LETTERS));

            // The job runs on over more records: its streaming readers of processed_data must not take the new file
            // for new data, or they would aggregate and alert on its rows a second time.
            TestProcesses.produce(directory, kafka.bootstrapServers(), "--count", "6000", "--rate", "0", "--seed", "6", "--sensors", "100");
            new StreamingJob(spark, settings).run();
        }
        finally {
            spark.conf().unset("spark.sql.streaming.fileSink.log.compactInterval");
        }
        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.addsUp()).isTrue();
        assertThat(accounting.records()).isEqualTo(30_000);
        assertThat(compactedFiles(spark, settings)).containsAll(written);
        assertStreamingReadersReadEveryRowOnce(spark, settings, directory.resolve("checkpoints"));
    }

    @Test
    void compactionWhileTheJobRunsKeepsEveryTableExact()
            throws Exception
    {
        Path running = Files.createDirectories(directory.resolve("running"));
        List<String> arguments = List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(), "--topic", "running-readings",
                "--lake-root", running.resolve("lake").toString(), "--checkpoint-root", running.resolve("checkpoints").toString(),
                "--sensors-file", "../data/sensors.csv", "--shuffle-partitions", "2", "--metrics-port", "off",
                // The aggregates' batches every 5 s, behind ingest's every 1 s, so that compactions meet files they
                // have not read yet (which must wait for a later run, or their rows would never reach them).
                "--aggregates-trigger", "5s", "--spark.sql.streaming.fileSink.log.compactInterval", "3",
                // Windows that close while the test runs, so the aggregates read processed_data as it is compacted.
                "--watermark", "5s", "--future-tolerance", "2s", "--sensor-window", "10s", "--site-window", "20s");
        List<String> streaming = new java.util.ArrayList<>(arguments);
        streaming.addAll(List.of("--trigger", "1s"));
        Process job = TestProcesses.startJob(running, List.of("-Dspark.ui.enabled=false"), streaming);
        SparkSession spark = SparkTestSession.get();
        JobSettings settings = JobSettings.load(arguments, Map.of());
        TableCompaction compaction = new TableCompaction(spark, settings, System.out);
        int committed = 0;
        Process producer = null;
        try {
            // Readings flow once the job is up, so that the compactions below overlap the job's writes however long
            // Spark takes to start.
            TestProcesses.awaitIngestCommits(job, running, running.resolve("checkpoints").toString(), 1, Duration.ofMinutes(2));
            producer = TestProcesses.startProducer(running, kafka.bootstrapServers(), "--topic", "running-readings", "--rate", "2000",
                    "--sensors", "100", "--malformed-ratio", "0.02", "--duplicate-ratio", "0.01");
            // Compact today's processed_data over and over for 40 s while the job writes it and its streaming readers
            // read it, and on until one compaction has committed (a busy machine can refuse the first few: the readers
            // have not caught up yet). The replaced files stay on storage (a retention of an hour) so that the
            // aggregates' oracle below can read the files the queries read.
            long start = System.nanoTime();
            while (System.nanoTime() - start < Duration.ofSeconds(40).toNanos()
                    || (committed == 0 && System.nanoTime() - start < Duration.ofMinutes(3).toNanos())) {
                Thread.sleep(3_000);
                assertThat(job.isAlive()).as("the job runs").isTrue();
                if (!Files.exists(running.resolve("lake").resolve(IngestQuery.PROCESSED_DATA).resolve(SinkLog.DIRECTORY))) {
                    continue;
                }
                LocalDate today = compaction.busiestDay(IngestQuery.PROCESSED_DATA).orElse(null);
                if (today != null && compaction.compact(IngestQuery.PROCESSED_DATA, today, TableCompaction.DEFAULT_TARGET_FILE_SIZE, Duration.ofHours(1)).committed()) {
                    committed++;
                }
            }
            producer.destroy();
            assertThat(producer.waitFor(1, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
            assertThat(producer.exitValue()).isZero();
        }
        finally {
            if (producer != null) {
                producer.destroyForcibly();
            }
            job.destroy();
            job.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        // The drain below must not share the checkpoint with a job that is still stopping.
        assertThat(job.isAlive()).as("the job stopped on SIGTERM").isFalse();
        assertThat(committed).as("compactions that committed while the job ran").isPositive();
        List<String> drain = new java.util.ArrayList<>(arguments);
        drain.addAll(List.of("--trigger", "available-now"));
        Process last = TestProcesses.startJob(running, List.of("-Dspark.ui.enabled=false"), drain);
        assertThat(last.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
        assertThat(last.exitValue()).as(Files.readString(running.resolve("job.log"))).isZero();

        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.addsUp()).isTrue();
        assertThat(accounting.records()).isEqualTo(TestProcesses.summary(running).get("eventsSent").asLong());
        long processed = spark.read().parquet(settings.tablePath(IngestQuery.PROCESSED_DATA)).count();
        assertThat(spark.read().parquet(settings.tablePath(IngestQuery.PROCESSED_DATA)).agg(countDistinct(col("eventId"))).first().getLong(0)).isEqualTo(processed);
        assertStreamingReadersReadEveryRowOnce(spark, settings, running.resolve("checkpoints"));
        // And none missing: the aggregates read every row of processed_data once, through the files compaction
        // replaced, and hold every window their final watermark closed with exactly its readings; the alerts are the
        // ones the tables call for.
        AggregateOracle.Result sensorWindows = CrashRecoveryScenario.assertWindowsExact(spark, settings, running, StreamingJob.SENSOR_AGGREGATES,
                settings.sensorWindow(), "sensorId");
        CrashRecoveryScenario.assertWindowsExact(spark, settings, running, StreamingJob.SITE_AGGREGATES, settings.siteWindow(), "siteId", "type");
        CrashRecoveryScenario.assertAlertsComplete(spark, settings, sensorWindows.finalWatermark());
    }

    /** The names of processed_data's files that compaction wrote: their log entries carry modification time 0. */
    private static List<String> compactedFiles(SparkSession spark, JobSettings settings)
            throws Exception
    {
        return SinkLog.of(spark.sessionState().newHadoopConf(), new org.apache.hadoop.fs.Path(settings.tablePath(IngestQuery.PROCESSED_DATA)))
                .committedFiles().stream()
                .filter(entry -> entry.modificationTime() == 0)
                .map(entry -> entry.path().getName())
                .toList();
    }

    /**
     * The job's streaming readers of processed_data never read a compacted file (its rows reached them in the files
     * it replaced), and no aggregate or alert is there twice.
     */
    private static void assertStreamingReadersReadEveryRowOnce(SparkSession spark, JobSettings settings, Path checkpoints)
            throws Exception
    {
        List<String> compacted = compactedFiles(spark, settings);
        assertThat(compacted).isNotEmpty();
        try (Stream<Path> files = Files.walk(checkpoints)) {
            List<Path> sourceLogs = files.filter(file -> file.toString().contains("/sources/") && Files.isRegularFile(file) && !file.getFileName().toString().startsWith(".")).toList();
            assertThat(sourceLogs).isNotEmpty();
            for (Path log : sourceLogs) {
                String text = Files.readString(log);
                for (String file : compacted) {
                    assertThat(text).as("%s read by a streaming query", file).doesNotContain(file);
                }
            }
        }
        long aggregates = spark.read().parquet(settings.tablePath(StreamingJob.SENSOR_AGGREGATES)).count();
        assertThat(aggregates).isPositive();
        assertThat(spark.read().parquet(settings.tablePath(StreamingJob.SENSOR_AGGREGATES)).select("sensorId", "window_start").distinct().count()).isEqualTo(aggregates);
        if (!SinkLog.of(spark.sessionState().newHadoopConf(), new org.apache.hadoop.fs.Path(settings.tablePath(AlertsQuery.NAME))).committedFiles().isEmpty()) {
            long alerts = spark.read().parquet(settings.tablePath(AlertsQuery.NAME)).count();
            assertThat(spark.read().parquet(settings.tablePath(AlertsQuery.NAME)).agg(countDistinct(col("alertId"))).first().getLong(0)).isEqualTo(alerts);
        }
    }
}
