package io.sensorpipeline.job;

import com.sun.management.OperatingSystemMXBean;
import io.sensorpipeline.job.io.KafkaSource;
import io.sensorpipeline.job.io.SensorMetadata;
import io.sensorpipeline.job.metrics.ProgressLog;
import io.sensorpipeline.job.transform.Decoding;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.hour;
import static org.apache.spark.sql.functions.to_date;
import static org.apache.spark.sql.functions.to_timestamp;

/**
 * One leg of {@code ./pipeline bench stream}: drains the topic with {@code available-now} and prints one JSON line with
 * the records read and the seconds from the first query's start to the last one's end (Spark's start-up excluded).
 *
 * <ul>
 *   <li>{@code passthrough}: Kafka to Parquet, the raw value only: the ceiling;</li>
 *   <li>{@code naive}: one query, {@code from_json} then a filter and derived columns, as most examples write it;</li>
 *   <li>{@code parse}: this job's decoder alone, its valid readings written as decoded: the least any job that reads
 *   the fields does, without de-duplication, enrichment, dead letters or aggregates;</li>
 *   <li>{@code ingest}: this job's ingest query alone (processed_data and dead_letters), without the aggregates and
 *   alerts;</li>
 *   <li>{@code full}: this job, every table (ingest, aggregates, alerts).</li>
 * </ul>
 * With {@code --rounds N}, the leg drains the topic N times in the same JVM, each round into its own lake and
 * checkpoints, and prints one line per round: later rounds run on compiled code and loaded classes.
 *
 * <p>Usage: {@code StreamBenchmark passthrough|naive|parse|ingest|full [--rounds N] [the job's flags]}
 */
public final class StreamBenchmark
{
    private StreamBenchmark() {}

    public static void main(String[] arguments)
            throws Exception
    {
        // The mode is the one bare word among the job's flags (./pipeline puts --config first).
        List<String> flags = new ArrayList<>(Arrays.asList(arguments));
        String mode = flags.stream().filter(List.of("passthrough", "naive", "parse", "ingest", "full")::contains).findFirst().orElse(null);
        if (mode == null) {
            System.err.println("usage: StreamBenchmark passthrough|naive|parse|ingest|full [--rounds N] [the streaming job's flags]");
            System.exit(2);
        }
        flags.remove(mode);
        String rounds = JobSettings.takeFlag(flags, "--rounds").orElse(flags.contains("--rounds") ? "" : "1");
        if (!rounds.matches("[1-9][0-9]{0,3}")) {
            System.err.println("StreamBenchmark: --rounds must be a whole number from 1 to 9999, got '" + rounds + "'");
            System.exit(2);
        }
        int roundCount = Integer.parseInt(rounds);
        flags.addAll(List.of("--trigger", JobSettings.AVAILABLE_NOW));
        JobSettings settings = JobSettings.loadOrExit("StreamBenchmark", flags);
        SparkSession spark = StreamingJob.session("sensor-pipeline-bench-" + mode, settings);
        // Each micro-batch's progress goes to the log (stderr), for a look at where the time went.
        spark.streams().addListener(new ProgressLog());
        for (int round = 1; round <= roundCount; round++) {
            // Later rounds drain the same topic again in the same, warm JVM, into their own lake and checkpoints.
            JobSettings roundSettings = round == 1 ? settings : JobSettings.load(withRoots(flags, settings, "round-" + round), Map.of());
            run(spark, mode, roundSettings, round);
        }
        spark.stop();
    }

    private static List<String> withRoots(List<String> flags, JobSettings settings, String suffix)
    {
        List<String> roundFlags = new ArrayList<>(flags);
        roundFlags.addAll(List.of("--lake-root", settings.tablePath(suffix), "--checkpoint-root", settings.checkpointPath(suffix)));
        return roundFlags;
    }

    private static void run(SparkSession spark, String mode, JobSettings settings, int round)
            throws Exception
    {
        long records = 0;
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        long startJit = jit.getTotalCompilationTime();
        long startCpu = os.getProcessCpuTime();
        long start = System.nanoTime();
        long end;
        long endCpu;
        long endJit;
        if (mode.equals("full") || mode.equals("ingest")) {
            StreamingJob job = new StreamingJob(spark, settings);
            if (mode.equals("full")) {
                job.run();
            }
            else {
                job.runIngestOnly();
            }
            end = System.nanoTime();
            endCpu = os.getProcessCpuTime();
            endJit = jit.getTotalCompilationTime();
            // Counted after the clock stops: the job read exactly the topic (verify checks that elsewhere).
            records = spark.read().format("kafka").option("subscribe", settings.topic()).options(settings.kafkaOptions()).load().count();
        }
        else {
            Dataset<Row> kafka = KafkaSource.read(spark, settings);
            Dataset<Row> output = switch (mode) {
                case "passthrough" -> kafka.select(col("value"));
                case "naive" -> naive(kafka);
                default -> parseOnly(spark, settings, kafka);
            };
            StreamingQuery query = output.writeStream()
                    .queryName("bench_" + mode)
                    .format("parquet")
                    .option("path", settings.tablePath("bench_" + mode))
                    .option("checkpointLocation", settings.checkpointPath("bench_" + mode))
                    .trigger(Trigger.AvailableNow())
                    .start();
            query.awaitTermination();
            end = System.nanoTime();
            endCpu = os.getProcessCpuTime();
            endJit = jit.getTotalCompilationTime();
            for (StreamingQueryProgress progress : query.recentProgress()) {
                records += progress.numInputRows();
            }
        }
        double seconds = (end - start) / 1e9;
        // CPU seconds of the whole JVM (driver and executor threads, JIT and GC) in the same interval: against the
        // wall time and the cores, it shows whether the leg kept the machine busy.
        double cpuSeconds = (endCpu - startCpu) / 1e9;
        // Of those, the time the JIT compilers spent (their threads are busy computing while they compile): on a cold
        // JVM it is most of a short leg's CPU, and it grows with how much distinct code a leg runs.
        double jitSeconds = (endJit - startJit) / 1e3;
        System.out.printf(Locale.ROOT, "{\"mode\":\"%s\",\"round\":%d,\"records\":%d,\"seconds\":%.3f,\"recordsPerSecond\":%.1f,\"cpuSeconds\":%.1f,\"jitSeconds\":%.1f,\"cores\":%d}%n",
                mode, round, records, seconds, records / seconds, cpuSeconds, jitSeconds, Runtime.getRuntime().availableProcessors());
    }

    /** This job's decoding, the valid readings only, with the columns it decodes: one pass over each value, nothing else. */
    private static Dataset<Row> parseOnly(SparkSession spark, JobSettings settings, Dataset<Row> kafka)
    {
        Decoding decoding = new Decoding(SensorMetadata.read(spark, settings.sensorsFile()), settings.futureTolerance());
        return decoding.decode(kafka)
                .where(col("reason").isNull())
                .drop("reason", "detail", "payload", "payload_encoding");
    }

    /** The usual example: parse, filter on a few fields, derive columns; the filter makes Spark parse once per field. */
    private static Dataset<Row> naive(Dataset<Row> kafka)
    {
        StructType schema = new StructType()
                .add("eventId", DataTypes.StringType)
                .add("sensorId", DataTypes.StringType)
                .add("type", DataTypes.StringType)
                .add("value", DataTypes.DoubleType)
                .add("unit", DataTypes.StringType)
                .add("timestamp", DataTypes.StringType)
                .add("seq", DataTypes.LongType)
                .add("battery", DataTypes.DoubleType)
                .add("firmware", DataTypes.StringType);
        return kafka.select(from_json(col("value").cast("string"), schema).as("event"))
                .select("event.*")
                .where(col("eventId").isNotNull().and(col("sensorId").isNotNull()).and(col("value").isNotNull()).and(col("timestamp").isNotNull()))
                .withColumn("timestamp", to_timestamp(col("timestamp")))
                .withColumn("event_date", to_date(col("timestamp")))
                .withColumn("event_hour", hour(col("timestamp")))
                .withColumn("value", col("value").cast(DataTypes.DoubleType));
    }
}
