package io.sensorpipeline.job;

import io.sensorpipeline.common.settings.SettingsLoader;
import io.sensorpipeline.job.io.SensorMetadata;
import io.sensorpipeline.job.transform.Decoding;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.collection.JavaConverters;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

/**
 * The accounting of the lake against the topic. It reads the whole topic with the job's own parse and validation (a
 * batch read, independent of the streaming run) and the committed tables through Spark, which reads only files in each
 * table's {@code _spark_metadata} log, and checks: every rejected record is a dead letter with the same reason; no
 * eventId is twice in processed_data; every eventId in processed_data came from the topic. Then
 * records = processed + dead letters + duplicates dropped + late events dropped, where duplicates are the topic's
 * repeated eventIds and late events the distinct valid eventIds missing from processed_data.
 *
 * <p>Usage: {@code ./pipeline verify [--config configs/pipeline.properties] [flags of the job]}. Exit 0 when it adds
 * up, 1 when it does not, 2 on bad flags.
 */
public final class Verify
{
    private final SparkSession spark;
    private final JobSettings settings;

    public Verify(SparkSession spark, JobSettings settings)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    public static void main(String[] arguments)
    {
        List<String> flags = Arrays.asList(arguments);
        if (SettingsLoader.wantsHelp(flags)) {
            System.out.println("Usage: ./pipeline verify [--config FILE] [the streaming job's flags]: checks the tables against the topic.");
            return;
        }
        JobSettings settings = JobSettings.loadOrExit("verify", flags);
        SparkSession spark = SparkSession.builder().config(settings.sparkConf("sensor-pipeline-verify")).getOrCreate();
        boolean addsUp;
        try {
            addsUp = new Verify(spark, settings).run(System.out).addsUp();
        }
        finally {
            spark.stop();
        }
        System.exit(addsUp ? 0 : 1);
    }

    public Accounting run(PrintStream out)
    {
        Dataset<Row> topic = spark.read().format("kafka")
                .option("subscribe", settings.topic())
                .option("startingOffsets", "earliest")
                .option("endingOffsets", "latest")
                .options(settings.kafkaOptions())
                .load();
        Dataset<Row> classified = new Decoding(SensorMetadata.read(spark, settings.sensorsFile()), settings.futureTolerance())
                .decode(topic)
                .select("eventId", "reason")
                .cache();
        try {
            long records = classified.count();
            Map<String, Long> rejectedByReason = countByReason(classified.where(col("reason").isNotNull()));
            Dataset<Row> validIds = classified.where(col("reason").isNull()).select("eventId");
            long valid = validIds.count();
            long distinctValid = validIds.distinct().count();

            Dataset<Row> processed = spark.read().parquet(settings.tablePath(IngestQuery.PROCESSED_DATA)).select("eventId");
            long processedRows = processed.count();
            long processedDistinct = processed.distinct().count();
            long unknownIds = processed.distinct().join(validIds.distinct(), JavaConverters.asScalaBuffer(List.of("eventId")).toSeq(), "left_anti").count();
            Map<String, Long> deadLettersByReason = countByReason(spark.read().parquet(settings.tablePath(IngestQuery.DEAD_LETTERS)));
            long deadLetters = deadLettersByReason.values().stream().mapToLong(Long::longValue).sum();

            Accounting accounting = new Accounting(records, processedRows, processedDistinct, deadLetters, valid - distinctValid,
                    distinctValid - processedDistinct, unknownIds, rejectedByReason, deadLettersByReason);
            accounting.print(out);
            return accounting;
        }
        finally {
            classified.unpersist();
        }
    }

    private static Map<String, Long> countByReason(Dataset<Row> rows)
    {
        Map<String, Long> counts = new TreeMap<>();
        for (Row row : rows.groupBy("reason").count().collectAsList()) {
            counts.put(row.getString(0), row.getLong(1));
        }
        return counts;
    }

    /** What verify found; {@link #addsUp()} is its verdict. */
    public record Accounting(
            long records,
            long processedRows,
            long processedDistinctEventIds,
            long deadLetters,
            long duplicatesDropped,
            long lateDropped,
            long processedEventIdsNotInTopic,
            Map<String, Long> rejectedByReason,
            Map<String, Long> deadLettersByReason)
    {
        public boolean addsUp()
        {
            return processedRows == processedDistinctEventIds
                    && processedEventIdsNotInTopic == 0
                    && lateDropped >= 0
                    && rejectedByReason.equals(deadLettersByReason)
                    && records == processedRows + deadLetters + duplicatesDropped + lateDropped;
        }

        void print(PrintStream out)
        {
            out.printf(Locale.ROOT, "records in the topic      %,12d%n", records);
            out.printf(Locale.ROOT, "  processed_data rows     %,12d%s%n", processedRows,
                    processedRows == processedDistinctEventIds ? "" : "   (" + (processedRows - processedDistinctEventIds) + " eventIds twice!)");
            out.printf(Locale.ROOT, "  dead_letters rows       %,12d%n", deadLetters);
            deadLettersByReason.forEach((reason, count) -> out.printf(Locale.ROOT, "    %-22s%,12d%s%n", reason, count,
                    count.equals(rejectedByReason.get(reason)) ? "" : "   (topic has " + rejectedByReason.getOrDefault(reason, 0L) + ")"));
            rejectedByReason.forEach((reason, count) -> {
                if (!deadLettersByReason.containsKey(reason)) {
                    out.printf(Locale.ROOT, "    %-22s%,12d   (missing from dead_letters)%n", reason, 0L);
                }
            });
            out.printf(Locale.ROOT, "  duplicates dropped      %,12d%n", duplicatesDropped);
            out.printf(Locale.ROOT, "  late events dropped     %,12d%n", lateDropped);
            if (processedEventIdsNotInTopic > 0) {
                out.printf(Locale.ROOT, "  eventIds in processed_data but not in the topic: %,d%n", processedEventIdsNotInTopic);
            }
            out.println(addsUp() ? "verify: OK, every record is accounted for exactly once" : "verify: FAILED, the tables do not match the topic");
        }
    }
}
