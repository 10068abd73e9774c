package io.sensorpipeline.job;

import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.Schedulable;
import org.apache.spark.sql.SparkSession;
import scala.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Spark's fair scheduler pools of the job's queries. The {@code ingest} query, whose commit is the readings' latency,
 * gets the cores first: its pool is served until it runs two tasks (its minimum share), and four times as much as the
 * other pool beyond that. The aggregates and the alerts share the {@code derived} pool. Without pools, Spark runs the
 * tasks of all queries in the order their jobs were submitted, so a micro-batch of the aggregates (seconds of work on
 * two cores) held every ingest batch behind it: at 10,000 readings/s with a 1 s trigger, the p95 latency of
 * processed_data was 5.8 and 6.6 s without them and 3.6 to 5.1 s with these pools and two shuffle partitions
 * (BENCHMARKS.md).
 *
 * <p>A user's own {@code spark.scheduler.mode} or {@code spark.scheduler.allocation.file} wins; in FIFO mode the pools
 * are ignored.
 */
public final class SchedulerPools
{
    public static final String INGEST = "ingest";
    public static final String DERIVED = "derived";

    private static final String ALLOCATIONS = """
            <?xml version="1.0"?>
            <!-- The sensor pipeline's scheduler pools (io.sensorpipeline.job.SchedulerPools). -->
            <allocations>
              <pool name="%s">
                <schedulingMode>FIFO</schedulingMode>
                <weight>4</weight>
                <minShare>2</minShare>
              </pool>
              <pool name="%s">
                <schedulingMode>FAIR</schedulingMode>
                <weight>1</weight>
                <minShare>0</minShare>
              </pool>
            </allocations>
            """.formatted(INGEST, DERIVED);

    private SchedulerPools() {}

    /** Fair scheduling with the pools above, unless the configuration already chose a mode or an allocation file. */
    static SparkConf configure(SparkConf conf)
    {
        conf.setIfMissing("spark.scheduler.mode", "FAIR");
        if (!conf.contains("spark.scheduler.allocation.file")) {
            conf.set("spark.scheduler.allocation.file", allocationFile().toUri().toString());
        }
        return conf;
    }

    /** The pool of the queries that the calling thread starts from now on (Spark's local property, inherited by them). */
    static void startQueriesIn(SparkSession spark, String pool)
    {
        spark.sparkContext().setLocalProperty("spark.scheduler.pool", pool);
    }

    /** What the scheduler made of the pools, for the job's start-up log. */
    static String describe(SparkSession spark)
    {
        String mode = spark.sparkContext().getConf().get("spark.scheduler.mode", "FIFO");
        if (!mode.equalsIgnoreCase("FAIR")) {
            return "scheduler mode " + mode + ": the queries share one queue";
        }
        StringBuilder description = new StringBuilder("fair scheduling, pools");
        for (String name : new String[] {INGEST, DERIVED}) {
            Option<Schedulable> pool = spark.sparkContext().getPoolForName(name);
            description.append(pool.isEmpty()
                    ? " " + name + " (not defined: default share)"
                    : " " + name + " (min share " + pool.get().minShare() + ", weight " + pool.get().weight() + ")");
        }
        return description.toString();
    }

    /** Spark reads the pools from a file; the driver writes it where it runs, so that it works under spark-submit too. */
    private static Path allocationFile()
    {
        try {
            Path file = Files.createTempFile("sensor-pipeline-fairscheduler-", ".xml");
            file.toFile().deleteOnExit();
            return Files.writeString(file, ALLOCATIONS, StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot write the scheduler pools' file", e);
        }
    }
}
