package io.sensorpipeline.job;

import io.sensorpipeline.job.transform.Alerts;
import io.sensorpipeline.job.transform.WindowedAggregates;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.CommitLog;
import org.apache.spark.sql.execution.streaming.FileStreamSource;
import org.apache.spark.sql.execution.streaming.FileStreamSourceLog;
import org.apache.spark.sql.execution.streaming.FileStreamSourceOffset;
import org.apache.spark.sql.execution.streaming.Offset;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
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
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.regexp_extract;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.timestamp_millis;
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
        // And none missing: every window the final watermark closed, with exactly its readings, and every alert the tables
        // call for.
        assertWindowsExact(spark, settings, directory(), StreamingJob.SENSOR_AGGREGATES, settings.sensorWindow(), "sensorId");
        assertWindowsExact(spark, settings, directory(), StreamingJob.SITE_AGGREGATES, settings.siteWindow(), "siteId", "type");
        assertAlertsComplete(spark, settings);

        // compact on this backend: the day's many small files become one, and a query during the run sees them all.
        TableCompaction.Result compaction = CompactionCheck.compactWhileReading(spark, settings, IngestQuery.PROCESSED_DATA,
                CompactionCheck.busiestDay(spark, settings, IngestQuery.PROCESSED_DATA));
        assertThat(compaction.filesAfter()).isEqualTo(1);
        assertThat(new Verify(spark, settings).run(System.out).addsUp()).isTrue();
    }

    /**
     * Every row of the aggregate table counts exactly the readings that Spark's rules give its window, and every window
     * those rules close has its row. The rules are read from the aggregate query's own checkpoint: its offset log holds
     * each micro-batch's watermark and how far into its file source's log the batch read, and that log says which
     * files of {@code processed_data} each of its entries added. In batch {@code b} a reading is dropped as late when
     * its window ends at or before the watermark of batch {@code b - 1} ({@code getInputWatermarkForLateEvents}, Spark
     * 3.5), and a window is emitted once the watermark passes its end. So a lost or repeated batch, or state lost
     * across a kill, shows as a window missing, or counting readings it should not, or too few.
     * <p>
     * The source log's entries are not the query's batches: a batch without new files (one that only moves the
     * watermark on and emits windows) adds no entry. And such a batch is how the aggregates can drop a reading that
     * the ingest query kept: ingest checks a reading against the watermark of its own previous batch, the aggregates
     * against theirs, which after a batch without data already counts the readings of the ingest batch before it.
     */
    private static void assertWindowsExact(SparkSession spark, JobSettings settings, Path directory, String table, Duration window, String... key)
    {
        String checkpoint = settings.checkpointPath(table);
        QueryBatches batches = QueryBatches.read(spark, checkpoint);
        long finalWatermark = batches.watermarks()[batches.watermarks().length - 1];
        List<Row> batchOfFile = new ArrayList<>();
        for (FileStreamSource.FileEntry entry : new FileStreamSourceLog(FileStreamSourceLog.VERSION(), spark, checkpoint + "/sources/0").allFiles()) {
            int batch = batches.readingEntry(entry.batchId());
            batchOfFile.add(RowFactory.create(tableFile(entry.path()), batch, batch == 0 ? 0L : batches.watermarks()[batch - 1]));
        }
        Dataset<Row> files = spark.createDataFrame(batchOfFile, new StructType()
                .add("file", DataTypes.StringType)
                .add("batch", DataTypes.IntegerType)
                .add("late_at_or_before_ms", DataTypes.LongType));
        Dataset<Row> read = spark.read().parquet(settings.tablePath(IngestQuery.PROCESSED_DATA))
                .withColumn("file", regexp_extract(input_file_name(), "/" + IngestQuery.PROCESSED_DATA + "/(.*)$", 1))
                .join(files, JavaConverters.asScalaBuffer(List.of("file")).toSeq(), "left");
        assertThat(read.where(col("batch").isNull()).select("file").distinct().limit(5).collectAsList())
                .as("files of processed_data that %s never read (its source log in %s)", table, checkpoint)
                .isEmpty();

        List<Column> grouping = new ArrayList<>();
        grouping.add(col("window"));
        List<String> joinColumns = new ArrayList<>(Arrays.asList(key));
        joinColumns.add("window_start");
        for (String column : key) {
            grouping.add(col(column));
        }
        Column late = col("window.end").leq(timestamp_millis(col("late_at_or_before_ms")));
        Dataset<Row> expected = read.withColumn("window", window(col("timestamp"), WindowedAggregates.interval(window)))
                .groupBy(grouping.toArray(Column[]::new))
                .agg(count(when(not(late), true)).as("expected"), count(when(late, true)).as("late"))
                .where(col("window.end").leq(timestamp_millis(lit(finalWatermark))))
                .withColumn("window_start", col("window.start"))
                .drop("window")
                .cache();
        Row totals = expected.agg(count(when(col("expected").gt(0), true)), sum("expected"), sum("late")).first();
        System.out.printf("%s: %d windows closed by the final watermark %s, %d readings in them, %d dropped as late by Spark's rule%n",
                table, totals.getLong(0), new Timestamp(finalWatermark), totals.getLong(1), totals.getLong(2));
        assertThat(totals.getLong(0)).as("closed windows of " + table).isPositive();

        List<Column> writtenColumns = new ArrayList<>();
        for (String column : joinColumns) {
            writtenColumns.add(col(column));
        }
        writtenColumns.add(col("readings"));
        Dataset<Row> written = spark.read().parquet(settings.tablePath(table)).select(writtenColumns.toArray(Column[]::new));
        Dataset<Row> wrong = expected.where(col("expected").gt(0))
                .join(written, JavaConverters.asScalaBuffer(joinColumns).toSeq(), "full_outer")
                .where(col("expected").isNull().or(col("readings").isNull()).or(col("readings").notEqual(col("expected"))));
        long wrongCount = wrong.count();
        List<String> shown = new ArrayList<>();
        for (Row row : wrong.orderBy("window_start").limit(20).collectAsList()) {
            StringBuilder line = new StringBuilder();
            for (String column : joinColumns) {
                line.append(column).append('=').append(row.<Object>getAs(column)).append(' ');
            }
            shown.add(line + "expected=" + row.getAs("expected") + " late=" + row.getAs("late") + " written=" + row.getAs("readings"));
        }
        expected.unpersist();
        assertThat(wrongCount)
                .as("windows of %s missing, not closed, or counting other than their readings (final watermark %s; the first ones: %s; the job's logs in %s)",
                        table, new Timestamp(finalWatermark), shown, directory)
                .isZero();
    }

    /**
     * A streaming query's micro-batches, from its offset log: each one's watermark, and the offset in its (one) file
     * source's log up to which it read. The last batch must be committed.
     */
    private record QueryBatches(long[] watermarks, long[] logOffsets)
    {
        static QueryBatches read(SparkSession spark, String checkpoint)
        {
            OffsetSeqLog offsets = new OffsetSeqLog(spark, checkpoint + "/offsets");
            long latest = (Long) offsets.getLatest().get()._1();
            assertThat(new CommitLog(spark, checkpoint + "/commits").getLatest().get()._1())
                    .as("the last batch of " + checkpoint + " is committed").isEqualTo(latest);
            long[] watermarks = new long[Math.toIntExact(latest + 1)];
            long[] logOffsets = new long[watermarks.length];
            for (int batch = 0; batch <= latest; batch++) {
                scala.Option<OffsetSeq> offset = offsets.get(batch);
                assertThat(offset.isDefined()).as("offsets of batch %d in %s (Spark keeps the last 100)", batch, checkpoint).isTrue();
                watermarks[batch] = offset.get().metadata().get().batchWatermarkMs();
                scala.Option<org.apache.spark.sql.connector.read.streaming.Offset> source = offset.get().offsets().head();
                logOffsets[batch] = source.isEmpty() ? -1 : FileStreamSourceOffset.apply((Offset) source.get()).logOffset();
            }
            return new QueryBatches(watermarks, logOffsets);
        }

        /** The batch that read the source log's entry {@code entry}: the first whose offset reaches it. */
        int readingEntry(long entry)
        {
            for (int batch = 0; batch < logOffsets.length; batch++) {
                if (logOffsets[batch] >= entry) {
                    return batch;
                }
            }
            throw new AssertionError("no batch read entry " + entry + " of the source log; the batches read up to " + Arrays.toString(logOffsets));
        }
    }

    /** A file's path under processed_data, however its URI is spelt ({@code file:/}, {@code file:///}, {@code hdfs://...}). */
    private static String tableFile(String uri)
    {
        String marker = "/" + IngestQuery.PROCESSED_DATA + "/";
        return uri.substring(uri.lastIndexOf(marker) + marker.length());
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
