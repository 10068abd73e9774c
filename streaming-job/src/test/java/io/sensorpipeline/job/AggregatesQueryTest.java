package io.sensorpipeline.job;

import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.job.io.CheckpointTest;
import io.sensorpipeline.job.transform.WindowedAggregates;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The aggregates' query with a processing-time trigger counts a reading that the ingest query kept, even when the
 * batch before it already closed the reading's window (see {@link AggregatesQuery}).
 */
class AggregatesQueryTest
{
    @TempDir
    Path directory;

    @Test
    void noBatchWithoutNewFilesSoAReadingIngestKeptIsCounted()
            throws Exception
    {
        SparkSession spark = SparkTestSession.get();
        JobSettings settings = JobSettings.load(List.of("--lake-root", directory.resolve("lake").toString(),
                "--checkpoint-root", directory.resolve("checkpoints").toString(), "--trigger", "1s", "--aggregates-trigger", "100ms",
                "--watermark", "1m", "--future-tolerance", "10s", "--sensor-window", "1m"), Map.of());
        String input = settings.tablePath(IngestQuery.PROCESSED_DATA);
        String table = settings.tablePath(StreamingJob.SENSOR_AGGREGATES);
        String checkpoint = settings.checkpointPath(StreamingJob.SENSOR_AGGREGATES);

        // An ingest batch: its latest reading, 10:03, moves the aggregates' watermark to 10:02, past the window 10:00-10:01.
        AggregateOracleTest.append(spark, input, "10:00:10", "10:00:20", "10:03:00");
        Object settingBefore = spark.conf().getOption(AggregatesQuery.NO_DATA_BATCHES);
        StreamingQuery query = new AggregatesQuery(settings).start(StreamingJob.SENSOR_AGGREGATES, new WindowedAggregates(settings.watermarkDelay())
                .perSensor(spark.readStream().schema(AggregateOracleTest.READINGS).parquet(input), settings.sensorWindow()));
        try {
            assertThat(spark.conf().getOption(AggregatesQuery.NO_DATA_BATCHES)).as("the session's setting, for the queries started after").isEqualTo(settingBefore);
            awaitInputRows(query, 3);
            // Twenty triggers without new files: a batch of their own would move the watermark to 10:02 and close the window.
            Thread.sleep(2_000);
            // The next ingest batch. The ingest query checked it against the watermark of its batch before, which had
            // seen no reading, and kept 10:00:40, whose window ended at 10:01.
            AggregateOracleTest.append(spark, input, "10:00:40", "10:05:00");
            awaitInputRows(query, 5);
            query.processAllAvailable();
            // The direct evidence: every batch that ran (an idle trigger's progress has no addBatch) read new files.
            assertThat(query.recentProgress())
                    .as("batches without new files")
                    .noneMatch(progress -> progress.numInputRows() == 0 && progress.durationMs().containsKey("addBatch"));
        }
        finally {
            query.stop();
        }

        assertThat(AggregateOracleTest.windows(spark, table)).as("windows in the table").isEqualTo(Map.of("2026-12-07 10:00:00.0", 3L));
        AggregateOracle.Result result = AggregateOracle.check(spark, input, table, checkpoint, settings.sensorWindow(), "sensorId");
        assertThat(result.late()).as("readings dropped as late").isZero();
        assertThat(result.closedWindows()).isEqualTo(1);
        assertThat(result.wrongWindows()).as("wrong windows: %s", result.firstWrong()).isZero();
    }

    @Test
    void availableNowWritesTheWindowsDueOnlyWhenIngestsWatermarkCountsAllItsReadings()
            throws Exception
    {
        SparkSession spark = SparkTestSession.get();
        for (boolean ingestCaughtUp : new boolean[] {true, false}) {
            Path root = directory.resolve("caught-up-" + ingestCaughtUp);
            JobSettings settings = JobSettings.load(List.of("--lake-root", root.resolve("lake").toString(), "--checkpoint-root",
                    root.resolve("checkpoints").toString(), "--trigger", "available-now", "--watermark", "1m", "--future-tolerance", "10s",
                    "--sensor-window", "1m"), Map.of());
            String input = settings.tablePath(IngestQuery.PROCESSED_DATA);
            AggregateOracleTest.append(spark, input, "10:00:10", "10:00:20", "10:03:00");
            // Ingest's checkpoint: the batch that wrote the file moved its watermark to 10:02, and (at the end of its run)
            // a batch without new data ran with it; or, as after a run that was stopped, the batch that wrote the file alone.
            String ingest = settings.checkpointPath(IngestQuery.NAME);
            long watermark = Timestamp.valueOf("2026-12-07 10:02:00").getTime();
            CheckpointTest.writeBatch(spark, ingest, 0, 0, watermark);
            if (ingestCaughtUp) {
                CheckpointTest.writeBatch(spark, ingest, 1, watermark, watermark);
            }

            new AggregatesQuery(settings).start(StreamingJob.SENSOR_AGGREGATES, new WindowedAggregates(settings.watermarkDelay())
                    .perSensor(spark.readStream().schema(AggregateOracleTest.READINGS).parquet(input), settings.sensorWindow())).awaitTermination();

            // The file's batch moves the watermark to 10:02; a batch without data after it writes the window 10:00-10:01.
            assertThat(AggregateOracleTest.windows(spark, settings.tablePath(StreamingJob.SENSOR_AGGREGATES)))
                    .as("windows written when ingest's watermark counts all its readings: %s", ingestCaughtUp)
                    .isEqualTo(ingestCaughtUp ? Map.of("2026-12-07 10:00:00.0", 2L) : Map.of());
        }
    }

    private static void awaitInputRows(StreamingQuery query, long rows)
            throws InterruptedException
    {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (Arrays.stream(query.recentProgress()).mapToLong(StreamingQueryProgress::numInputRows).sum() < rows) {
            assertThat(System.nanoTime()).as("%d input rows within a minute: %s", rows, query.status()).isLessThan(deadline);
            assertThat(query.exception().isEmpty()).as("query failed: %s", query.exception()).isTrue();
            Thread.sleep(50);
        }
    }

    @Test
    void aSparkConfigurationThatWouldGiveTheAggregatesBatchesWithoutNewFilesStopsTheJob()
    {
        SparkConf both = new SparkConf(false)
                .set(AggregatesQuery.LEGACY_SESSION_INIT, " TRUE")
                .set(AggregatesQuery.NO_DATA_BATCHES, "true");
        assertThatThrownBy(() -> AggregatesQuery.checkSparkConf(both))
                .isInstanceOf(SettingsException.class)
                .hasMessageContaining("spark.sql.legacy.sessionInitWithConfigDefaults= TRUE")
                .hasMessageContaining("spark.sql.streaming.noDataMicroBatches.enabled=true")
                .hasMessageContaining("Remove one of the two settings");

        // Either alone, or the legacy setting with the value the aggregates need, leaves the aggregates' setting alone.
        assertThatCode(() -> AggregatesQuery.checkSparkConf(new SparkConf(false).set(AggregatesQuery.LEGACY_SESSION_INIT, "true")))
                .doesNotThrowAnyException();
        assertThatCode(() -> AggregatesQuery.checkSparkConf(new SparkConf(false).set(AggregatesQuery.NO_DATA_BATCHES, "true")))
                .doesNotThrowAnyException();
        assertThatCode(() -> AggregatesQuery.checkSparkConf(new SparkConf(false)
                .set(AggregatesQuery.LEGACY_SESSION_INIT, "true").set(AggregatesQuery.NO_DATA_BATCHES, "False")))
                .doesNotThrowAnyException();
        assertThatCode(() -> AggregatesQuery.checkSparkConf(new SparkConf(false)
                .set(AggregatesQuery.LEGACY_SESSION_INIT, "false").set(AggregatesQuery.NO_DATA_BATCHES, "true")))
                .doesNotThrowAnyException();
    }
}
