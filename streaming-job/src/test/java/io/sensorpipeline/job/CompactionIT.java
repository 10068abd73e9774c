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
 * ready for is refused.
 */
class CompactionIT
{
    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1));

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
        try (Stream<Path> files = Files.walk(directory.resolve("checkpoints"))) {
            List<Path> sourceLogs = files.filter(file -> file.toString().contains("/sources/") && Files.isRegularFile(file) && !file.getFileName().toString().startsWith(".")).toList();
            assertThat(sourceLogs).isNotEmpty();
            for (String compacted : written) {
                for (Path log : sourceLogs) {
                    assertThat(Files.readString(log)).as("%s read by a streaming query", compacted).doesNotContain(compacted);
                }
            }
        }
        long alerts = spark.read().parquet(settings.tablePath(AlertsQuery.NAME)).count();
        assertThat(alerts).isPositive();
        assertThat(spark.read().parquet(settings.tablePath(AlertsQuery.NAME)).agg(countDistinct(col("alertId"))).first().getLong(0)).isEqualTo(alerts);
        long aggregates = spark.read().parquet(settings.tablePath(StreamingJob.SENSOR_AGGREGATES)).count();
        assertThat(aggregates).isPositive();
        assertThat(spark.read().parquet(settings.tablePath(StreamingJob.SENSOR_AGGREGATES)).select("sensorId", "window_start").distinct().count()).isEqualTo(aggregates);
    }
}
