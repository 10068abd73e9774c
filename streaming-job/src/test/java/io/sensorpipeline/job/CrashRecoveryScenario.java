package io.sensorpipeline.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

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
import java.util.stream.Stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
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
        try {
            assertTablesExact(spark, settings);
        }
        catch (AssertionError | RuntimeException e) {
            try {
                keepLake();
            }
            catch (IOException | RuntimeException copy) {
                e.addSuppressed(copy);
            }
            throw e;
        }

        // compact on this backend: the day's many small files become one, and a query during the run sees them all.
        TableCompaction.Result compaction = CompactionCheck.compactWhileReading(spark, settings, IngestQuery.PROCESSED_DATA,
                CompactionCheck.busiestDay(spark, settings, IngestQuery.PROCESSED_DATA));
        assertThat(compaction.filesAfter()).isEqualTo(1);
        assertThat(new Verify(spark, settings).run(System.out).addsUp()).isTrue();
    }

    /**
     * Keeps the lake and the checkpoints of a failed run in {@link #directory()}, which the test then keeps; the local
     * disk's are there already.
     */
    void keepLake()
            throws IOException
    {}

    private void assertTablesExact(SparkSession spark, JobSettings settings)
            throws IOException
    {
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
        // And none missing: every window the final watermark closed, with exactly its readings, and every alert the tables
        // call for.
        AggregateOracle.Result sensorWindows = assertWindowsExact(spark, settings, directory(), StreamingJob.SENSOR_AGGREGATES, settings.sensorWindow(), "sensorId");
        assertWindowsExact(spark, settings, directory(), StreamingJob.SITE_AGGREGATES, settings.siteWindow(), "siteId", "type");
        assertAlertsComplete(spark, settings, sensorWindows.finalWatermark());
    }

    /** See {@link AggregateOracle}: every window the final watermark closed, with exactly its readings in processed_data. */
    static AggregateOracle.Result assertWindowsExact(SparkSession spark, JobSettings settings, Path directory, String table, Duration window, String... key)
            throws IOException
    {
        AggregateOracle.Result result = AggregateOracle.check(spark, settings.tablePath(IngestQuery.PROCESSED_DATA), settings.tablePath(table),
                settings.checkpointPath(table), window, key);
        System.out.println(table + ": " + result);
        assertThat(result.closedWindows()).as("closed windows of " + table).isPositive();
        assertThat(result.unreadRows()).as("rows of processed_data that %s never read", table).isZero();
        assertThat(result.readRowsNotInInput()).as("rows that %s read and processed_data does not hold once", table).isZero();
        // The ingest query kept every reading of processed_data, and the aggregates drop none of them (see AggregatesQuery).
        assertThat(result.late())
                .as("readings of processed_data that %s dropped as late (the job's logs in %s; the query's last batches:%n%s)",
                        table, directory, progress(directory, table))
                .isZero();
        assertThat(result.wrongWindows())
                .as("windows of %s missing, not closed, or counting other than their readings (final watermark %s; the first ones: %s; the job's logs in %s; "
                                + "the query's last batches:%n%s)",
                        table, result.finalWatermark(), result.firstWrong(), directory, progress(directory, table))
                .isZero();
        return result;
    }

    /** The last 40 progress lines of a query in the jobs' log: its batches' rows, watermarks and late rows dropped. */
    private static String progress(Path directory, String query)
            throws IOException
    {
        List<String> lines;
        try (Stream<String> log = Files.lines(directory.resolve("job.log"))) {
            lines = log.filter(line -> line.contains(" " + query + " batch ")).toList();
        }
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    /**
     * The alerts table holds exactly the alerts that the final processed_data calls for, worked out here from the
     * alert rules, not with the job's {@link io.sensorpipeline.job.transform.Alerts}: a reading outside its alert band,
     * and a sensor window with at least stuck-readings readings of one value. The job finds stuck sensors in
     * sensor_aggregates, which holds every window that the aggregate query's final watermark closed (a window's end at
     * or before it), each with its readings that were not dropped as late; {@link #assertWindowsExact} has checked that
     * table and that it dropped none, so those windows of processed_data are exactly the ones the job alerts on.
     */
    static void assertAlertsComplete(SparkSession spark, JobSettings settings, Timestamp sensorWatermark)
    {
        Dataset<Row> processed = spark.read().parquet(settings.tablePath(IngestQuery.PROCESSED_DATA));
        Dataset<Row> outOfBand = processed.where(col("value").gt(col("alert_high")).or(col("value").lt(col("alert_low"))))
                .select(concat(lit("OUT_OF_BAND:"), col("eventId")).as("alertId"), lit("OUT_OF_BAND").as("rule"), col("sensorId"),
                        col("timestamp").as("alert_time"), col("value"));
        Dataset<Row> stuck = processed.groupBy(col("sensorId"), window(col("timestamp"), settings.sensorWindow().toMillis() + " milliseconds"))
                .agg(count(lit(1)).as("readings"), min("value").as("lowest"), max("value").as("highest"))
                .where(col("window.end").leq(lit(sensorWatermark))
                        .and(col("readings").geq(settings.stuckReadings()))
                        .and(col("lowest").equalTo(col("highest"))))
                .select(concat(lit("STUCK_SENSOR:"), col("sensorId"), lit(":"), col("window.start").cast("long")).as("alertId"),
                        lit("STUCK_SENSOR").as("rule"), col("sensorId"), col("window.end").as("alert_time"), col("lowest").as("value"));
        Dataset<Row> expected = outOfBand.unionByName(stuck).cache();
        Dataset<Row> written = spark.read().parquet(settings.tablePath(AlertsQuery.NAME)).select("alertId", "rule", "sensorId", "alert_time", "value");
        try {
            long outOfBandCount = expected.where(col("rule").equalTo("OUT_OF_BAND")).count();
            long stuckCount = expected.where(col("rule").equalTo("STUCK_SENSOR")).count();
            System.out.println("alerts: " + outOfBandCount + " out of band, " + stuckCount + " stuck sensors (windows closed by " + sensorWatermark + ")");
            assertThat(outOfBandCount + stuckCount).as("alerts the tables call for").isPositive();
            assertThat(expected.except(written).count()).as("alerts missing").isZero();
            assertThat(written.except(expected).count()).as("alerts no table calls for").isZero();
        }
        finally {
            expected.unpersist();
        }
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
