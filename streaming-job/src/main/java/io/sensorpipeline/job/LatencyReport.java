package io.sensorpipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.unix_millis;

/**
 * The end-to-end latency of {@code processed_data}: for every row, the time its micro-batch was committed (the
 * modification time of the first {@code _spark_metadata} log file that lists the row's Parquet file, which is when a
 * reader can see it) minus the reading's event timestamp. Prints percentiles as text and as one JSON line: over the
 * run, and over the steady state, once the de-duplication state has stopped growing.
 *
 * <p>Usage: {@code LatencyReport [the streaming job's flags] [--skip-seconds N]}: the job's flags say where the lake
 * is, and its watermark; the first N seconds of event time (the job's warm-up) can be left out, and their row count is
 * printed. The steady state starts two watermarks after the first event: a reading's eventId stays in the
 * de-duplication's state until the watermark passes its event time plus the watermark delay.
 */
public final class LatencyReport
{
    private static final ObjectMapper JSON = new ObjectMapper();

    private LatencyReport() {}

    public static void main(String[] arguments)
            throws IOException
    {
        // The job's own flags say where the lake is; --skip-seconds N is this report's.
        List<String> flags = new ArrayList<>(Arrays.asList(arguments));
        long skipSeconds = JobSettings.takeFlag(flags, "--skip-seconds").map(Long::parseLong).orElse(0L);
        JobSettings settings = JobSettings.loadOrExit("latency-report", flags);
        SparkSession spark = SparkSession.builder().config(settings.sparkConf("sensor-pipeline-latency")).getOrCreate();
        try {
            report(spark, settings.tablePath(IngestQuery.PROCESSED_DATA), skipSeconds, settings.watermarkDelay().multipliedBy(2).toSeconds());
        }
        finally {
            spark.stop();
        }
    }

    static void report(SparkSession spark, String table, long skipSeconds, long steadyAfterSeconds)
            throws IOException
    {
        Map<String, Long> commitTimes = commitTimes(spark, new Path(table, "_spark_metadata"));
        List<Row> files = new ArrayList<>();
        commitTimes.forEach((file, millis) -> files.add(RowFactory.create(file, millis)));
        Dataset<Row> committed = spark.createDataFrame(files, new StructType()
                .add("file", DataTypes.StringType)
                .add("committed_ms", DataTypes.LongType));
        Dataset<Row> rows = spark.read().parquet(table)
                .select(input_file_name().as("file"), unix_millis(col("timestamp")).as("event_ms"))
                .join(committed, "file")
                .withColumn("latency_ms", col("committed_ms").minus(col("event_ms")))
                .cache();
        long firstEvent = rows.agg(expr("min(event_ms)")).first().getLong(0);
        Percentiles run = Percentiles.of(rows.where(col("event_ms").geq(firstEvent + skipSeconds * 1000)));
        long warmUpRows = rows.count() - run.rows();
        System.out.printf(Locale.ROOT, "latency of processed_data (batch commit - event time), %,d rows%s:%n", run.rows(),
                skipSeconds == 0 ? "" : " after the first " + skipSeconds + " s of event time (" + warmUpRows + " rows left out)");
        System.out.println("  " + run);
        Percentiles steady = Percentiles.of(rows.where(col("event_ms").geq(firstEvent + steadyAfterSeconds * 1000)));
        if (steady.rows() == 0) {
            System.out.printf(Locale.ROOT, "  steady state: no rows after the first %d s of event time (2 x watermark), when the de-duplication state stops growing: run longer%n",
                    steadyAfterSeconds);
        }
        else {
            System.out.printf(Locale.ROOT, "  steady state, the %,d rows after the first %d s of event time (2 x watermark, when the de-duplication state stops growing):%n",
                    steady.rows(), steadyAfterSeconds);
            System.out.println("  " + steady);
        }
        System.out.printf(Locale.ROOT, "{%s,\"steady\":%s}%n", run.json(), steady.rows() == 0 ? "null" : "{" + steady.json() + "}");
        rows.unpersist();
    }

    /** Percentiles of {@code latency_ms}, in seconds. */
    record Percentiles(long rows, double p50, double p95, double p99, double maximum)
    {
        static Percentiles of(Dataset<Row> rows)
        {
            Row stats = rows.agg(
                            count("*"),
                            expr("percentile(latency_ms, 0.5)"),
                            expr("percentile(latency_ms, 0.95)"),
                            expr("percentile(latency_ms, 0.99)"),
                            max("latency_ms"))
                    .first();
            if (stats.getLong(0) == 0) {
                return new Percentiles(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
            }
            return new Percentiles(stats.getLong(0), stats.getDouble(1) / 1000, stats.getDouble(2) / 1000, stats.getDouble(3) / 1000, stats.getLong(4) / 1000.0);
        }

        String json()
        {
            return String.format(Locale.ROOT, "\"rows\":%d,\"p50Seconds\":%.3f,\"p95Seconds\":%.3f,\"p99Seconds\":%.3f,\"maxSeconds\":%.3f", rows, p50, p95, p99, maximum);
        }

        @Override
        public String toString()
        {
            return String.format(Locale.ROOT, "p50 %.3f s, p95 %.3f s, p99 %.3f s, max %.3f s", p50, p95, p99, maximum);
        }
    }

    /**
     * Each data file of the table with the time it became visible: the earliest modification time among the log files
     * (batch files and compactions) that list it.
     */
    static Map<String, Long> commitTimes(SparkSession spark, Path log)
            throws IOException
    {
        FileSystem fs = log.getFileSystem(spark.sparkContext().hadoopConfiguration());
        Map<String, Long> commits = new HashMap<>();
        for (FileStatus status : fs.listStatus(log, path -> !path.getName().startsWith("."))) {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(status.getPath()), StandardCharsets.UTF_8))) {
                String line = reader.readLine();
                if (line == null || !line.startsWith("v")) {
                    continue;
                }
                while ((line = reader.readLine()) != null) {
                    JsonNode entry = JSON.readTree(line);
                    if (!"add".equals(entry.path("action").asText())) {
                        continue;
                    }
                    // input_file_name() names files by their URI, as the log does.
                    String file = entry.path("path").asText();
                    commits.merge(file, status.getModificationTime(), Math::min);
                }
            }
        }
        return commits;
    }
}
