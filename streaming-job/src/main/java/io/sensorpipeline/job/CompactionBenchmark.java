package io.sensorpipeline.job;

import io.sensorpipeline.job.io.SinkLog;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static java.util.Objects.requireNonNull;

/**
 * The benchmark of {@code compact} ({@code ./pipeline bench compact}): on a lake the job has just written, the files of
 * processed_data (listed in the log, and on storage) and the read time of the demo's query, before and after compacting
 * the table's busiest day, in one JVM. The query is read in full (Spark's {@code noop} sink), several times, and the
 * median is reported.
 */
public final class CompactionBenchmark
{
    static final String SEED_QUERY = "SELECT * FROM processed_data WHERE timestamp > '2025-01-01'";

    private final SparkSession spark;
    private final JobSettings settings;
    private final PrintStream out;

    public CompactionBenchmark(SparkSession spark, JobSettings settings, PrintStream out)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.out = requireNonNull(out, "out is null");
    }

    public static void main(String[] arguments)
            throws IOException
    {
        List<String> rest = new ArrayList<>(Arrays.asList(arguments));
        int runs = JobSettings.takeFlag(rest, "--runs").map(Integer::parseInt).orElse(5);
        JobSettings settings = JobSettings.loadOrExit("bench compact", rest);
        SparkSession spark = StreamingJob.session("sensor-pipeline-bench-compact", settings);
        try {
            new CompactionBenchmark(spark, settings, System.out).run(runs);
        }
        finally {
            spark.stop();
        }
    }

    public void run(int runs)
            throws IOException
    {
        String table = IngestQuery.PROCESSED_DATA;
        TableCompaction compaction = new TableCompaction(spark, settings, System.err);
        LocalDate day = compaction.busiestDay(table).orElseThrow(() -> new IllegalStateException(table + " has no files"));
        Measurement before = measure(table, runs);
        TableCompaction.Result result = compaction.compact(table, day, TableCompaction.DEFAULT_TARGET_FILE_SIZE, Duration.ZERO);
        if (!result.committed()) {
            throw new IllegalStateException("the compaction did not commit: " + result.message());
        }
        compaction.cleanup(table, Duration.ZERO);
        Measurement after = measure(table, runs);
        out.printf(Locale.ROOT, "bench compact: %s, day %s, seed query: %s%n", table, day, SEED_QUERY);
        out.printf(Locale.ROOT, "  %-7s %14s %14s %12s %18s %18s%n", "", "files (log)", "files (disk)", "rows", "query median (s)", "query min (s)");
        out.printf(Locale.ROOT, "  %-7s %14d %14d %,12d %18.3f %18.3f%n", "before", before.listed(), before.stored(), before.rows(), before.median(), before.min());
        out.printf(Locale.ROOT, "  %-7s %14d %14d %,12d %18.3f %18.3f%n", "after", after.listed(), after.stored(), after.rows(), after.median(), after.min());
        out.printf(Locale.ROOT, "  compaction: %d files -> %d in the log batch it rewrote; query median %.2fx faster%n",
                result.filesBefore(), result.filesAfter(), before.median() / after.median());
        if (before.rows() != after.rows()) {
            throw new IllegalStateException("the query read " + before.rows() + " rows before and " + after.rows() + " after");
        }
    }

    record Measurement(int listed, int stored, long rows, double median, double min) {}

    private Measurement measure(String table, int runs)
            throws IOException
    {
        Path tablePath = new Path(settings.tablePath(table));
        FileSystem fileSystem = tablePath.getFileSystem(spark.sessionState().newHadoopConf());
        int listed = SinkLog.of(spark.sessionState().newHadoopConf(), tablePath).committedFiles().size();
        int stored = 0;
        for (FileStatus partition : fileSystem.listStatus(tablePath, path -> path.getName().startsWith("event_date="))) {
            stored += fileSystem.listStatus(partition.getPath(), path -> path.getName().endsWith(".parquet")).length;
        }
        spark.read().parquet(tablePath.toString()).createOrReplaceTempView(table);
        long rows = spark.sql(SEED_QUERY).count();
        double[] seconds = new double[runs];
        for (int run = 0; run < runs; run++) {
            long start = System.nanoTime();
            spark.sql(SEED_QUERY).write().format("noop").mode("overwrite").save();
            seconds[run] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(seconds);
        return new Measurement(listed, stored, rows, seconds[runs / 2], seconds[0]);
    }
}
