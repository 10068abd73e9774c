package io.sensorpipeline.job;

import io.sensorpipeline.job.transform.Alerts;
import io.sensorpipeline.job.transform.WindowedAggregates;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import scala.collection.JavaConverters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.window;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job in its own JVM, with a processing-time trigger, is killed with SIGKILL twice while readings flow, and
 * restarted each time; afterwards every table is complete, with no row twice and none missing. Each subclass runs it
 * on one storage backend: the lake and the checkpoints are wherever {@link #lakeRoot} and {@link #checkpointRoot} say.
 * Then {@code compact} rewrites the busiest day of processed_data on that backend (see {@link CompactionCheck}).
 */
abstract class CrashRecoveryScenario
{
    /** Where logs and the producer's output go (always a local directory). */
    abstract Path directory();

    abstract String bootstrapServers();

    abstract String lakeRoot();

    abstract String checkpointRoot();

    @Test
    void killedTwiceMidStreamEveryTableIsCompleteAndExact()
            throws Exception
    {
        // The producer runs until it is stopped after the second kill, so readings flow whenever a job is killed,
        // however long each job takes to start.
        Process producer = TestProcesses.startProducer(directory(), bootstrapServers(), "--rate", "3000",
                "--malformed-ratio", "0.02", "--duplicate-ratio", "0.01", "--late-ratio", "0.01");
        for (int kill = 1; kill <= 2; kill++) {
            int committed = TestProcesses.ingestCommits(checkpointRoot());
            Process job = startJob("--trigger", "1s");
            // Let it commit a few batches of its own, then kill it in the middle of whatever it is doing.
            TestProcesses.awaitIngestCommits(job, directory(), checkpointRoot(), committed + 3, Duration.ofMinutes(2));
            assertThat(producer.isAlive()).as("the producer still sends (log %s)", directory().resolve("producer.err")).isTrue();
            Thread.sleep(1_500);
            job.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        producer.destroy();
        assertThat(producer.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(producer.exitValue()).isZero();
        // Restarted after the second kill: drain the topic and close what is due, then stop.
        Process drain = startJob("--trigger", "available-now");
        assertThat(drain.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(drain.exitValue()).as(Files.readString(directory().resolve("job.log"))).isZero();

        SparkSession spark = SparkTestSession.get();
        JobSettings settings = settings();
        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.addsUp()).isTrue();
        assertThat(accounting.countedByJob()).as("the drops the job counted, kept exactly once through both kills").isTrue();
        assertThat(accounting.records()).isEqualTo(TestProcesses.summary(directory()).get("eventsSent").asLong());
        assertThat(accounting.deadLetters()).isPositive();
        // Dead letters: no Kafka record twice. Aggregates and alerts: no window or alert twice.
        assertNoDuplicates(spark.read().parquet(settings.tablePath("dead_letters")), "partition", "offset");
        assertNoDuplicates(spark.read().parquet(settings.tablePath("sensor_aggregates")), "sensorId", "window_start");
        assertNoDuplicates(spark.read().parquet(settings.tablePath("site_aggregates")), "siteId", "type", "window_start");
        assertNoDuplicates(spark.read().parquet(settings.tablePath("alerts")), "alertId");
        // And none missing: every window the final watermark closed, and every alert the tables call for.
        assertClosedWindowsPresent(spark, settings, directory(), StreamingJob.SENSOR_AGGREGATES, settings.sensorWindow(), "sensorId");
        assertClosedWindowsPresent(spark, settings, directory(), StreamingJob.SITE_AGGREGATES, settings.siteWindow(), "siteId", "type");
        assertAlertsComplete(spark, settings);

        // compact on this backend: the day's many small files become one, and a query during the run sees them all.
        TableCompaction.Result compaction = CompactionCheck.compactWhileReading(spark, settings, IngestQuery.PROCESSED_DATA,
                CompactionCheck.busiestDay(spark, settings, IngestQuery.PROCESSED_DATA));
        assertThat(compaction.filesAfter()).isEqualTo(1);
        assertThat(new Verify(spark, settings).run(System.out).addsUp()).isTrue();
    }

    /**
     * Every window of {@code processed_data} that the final watermark closed and that holds an on-time reading has its
     * row in the aggregate table, and no row counts more readings than the window holds. A row may count fewer:
     * readings that reach the aggregate query after its watermark passed them are dropped there. A window with on-time
     * readings cannot lose all of them that way (a sensor reports every second, and a reading that reached Kafka within
     * {@code watermark - future-tolerance} of its event time is ahead of any watermark the aggregates can have), so such
     * a window missing is a lost batch.
     * <p>
     * Windows of late readings only are not checked. The producer's late readings are 2 to 10 minutes old, so in a test
     * this short they make windows of their own, which the ingest query keeps from its first batch (it has no watermark
     * yet). With the default 2-minute watermark every closed window was one of those (803 of 803 in a run of
     * CrashRecoveryIT), and once, in CI, 16 of them were missing from sensor_aggregates; why is not known yet (that
     * run's data was not kept; the directory of a failed run is kept now).
     */
    private static void assertClosedWindowsPresent(SparkSession spark, JobSettings settings, Path directory, String table, Duration window, String... key)
    {
        Dataset<Row> processed = spark.read().parquet(settings.tablePath(IngestQuery.PROCESSED_DATA));
        // As Spark's watermark: the latest event time in milliseconds, less the delay; a window closes when its end is at
        // or before it.
        long latestMillis = processed.agg(max("timestamp")).first().getTimestamp(0).getTime();
        Timestamp watermark = new Timestamp(latestMillis - settings.watermarkDelay().toMillis());
        List<Column> grouping = new ArrayList<>();
        grouping.add(window(col("timestamp"), WindowedAggregates.interval(window)).as("window"));
        List<String> joinColumns = new ArrayList<>(Arrays.asList(key));
        joinColumns.add("window_start");
        for (String column : key) {
            grouping.add(col(column));
        }
        long onTimeMillis = settings.watermarkDelay().minus(settings.futureTolerance()).toMillis();
        Dataset<Row> expected = processed.groupBy(grouping.toArray(Column[]::new))
                .agg(count(lit(1)).as("expected"), count(when(col("ingest_delay_ms").lt(onTimeMillis), true)).as("on_time"))
                .where(col("window.end").leq(lit(watermark)).and(col("on_time").gt(0)))
                .withColumn("window_start", col("window.start"))
                .drop("window");
        Dataset<Row> written = spark.read().parquet(settings.tablePath(table));
        Dataset<Row> compared = expected.join(written, JavaConverters.asScalaBuffer(joinColumns).toSeq(), "left");
        assertThat(expected.count()).as("closed windows of " + table).isPositive();
        List<Row> missing = compared.where(col("readings").isNull()).orderBy("window_start").limit(20).collectAsList();
        assertThat(compared.where(col("readings").isNull()).count())
                .as("closed windows missing from %s (watermark %s; the first ones: %s; the job's logs in %s)", table, watermark, missing, directory)
                .isZero();
        assertThat(compared.where(col("readings").gt(col("expected"))).count()).as("rows of " + table + " counting readings twice").isZero();
    }

    /** The alerts table holds exactly the alerts that the final processed_data and sensor_aggregates call for. */
    private static void assertAlertsComplete(SparkSession spark, JobSettings settings)
    {
        Dataset<Row> expected = Alerts.outOfBand(spark.read().parquet(settings.tablePath(IngestQuery.PROCESSED_DATA)))
                .unionByName(Alerts.stuck(spark.read().parquet(settings.tablePath(StreamingJob.SENSOR_AGGREGATES)), settings.stuckReadings()))
                .select("alertId");
        Dataset<Row> written = spark.read().parquet(settings.tablePath(AlertsQuery.NAME)).select("alertId");
        assertThat(expected.count()).as("alerts the tables call for").isPositive();
        assertThat(expected.except(written).count()).as("alerts missing").isZero();
        assertThat(written.except(expected).count()).as("alerts no table calls for").isZero();
    }

    private static void assertNoDuplicates(Dataset<Row> table, String... key)
    {
        long rows = table.count();
        assertThat(rows).isPositive();
        assertThat(table.dropDuplicates(key).count()).as("rows with the same " + Arrays.toString(key)).isEqualTo(rows);
    }

    private Process startJob(String... flags)
            throws IOException
    {
        List<String> arguments = new ArrayList<>(arguments());
        arguments.addAll(List.of("--metrics-port", "0"));
        // A .compact file in the tables' logs every 4 batches (not 10), so the compaction at the end has one.
        arguments.addAll(List.of("--spark.sql.streaming.fileSink.log.compactInterval", "4"));
        arguments.addAll(List.of(flags));
        return TestProcesses.startJob(directory(), List.of("-Dspark.ui.enabled=false"), arguments);
    }

    /** Settings the backend needs besides the two roots. */
    List<String> storageArguments()
    {
        return List.of();
    }

    private List<String> arguments()
    {
        List<String> arguments = new ArrayList<>(List.of("--kafka.bootstrap.servers", bootstrapServers(), "--lake-root", lakeRoot(),
                "--checkpoint-root", checkpointRoot(), "--sensors-file", "../data/sensors.csv", "--shuffle-partitions", "2",
                // Short windows and watermark, so that windows of on-time readings close within the test's minute or two of
                // readings (with the defaults, every closed window would be one of late readings only).
                "--watermark", "20s", "--future-tolerance", "10s", "--sensor-window", "10s", "--site-window", "20s"));
        arguments.addAll(storageArguments());
        return arguments;
    }

    private JobSettings settings()
    {
        return JobSettings.load(arguments(), Map.of());
    }

}
