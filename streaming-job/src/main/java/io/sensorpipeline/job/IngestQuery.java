package io.sensorpipeline.job;

import io.sensorpipeline.job.io.TableSink;
import io.sensorpipeline.job.transform.DeadLetters;
import io.sensorpipeline.job.transform.Enrichment;
import io.sensorpipeline.job.transform.Decoding;
import io.sensorpipeline.job.transform.WindowedAggregates;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;

import java.util.List;
import java.util.concurrent.TimeoutException;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

/**
 * The query that reads Kafka: each record is parsed once, validated, de-duplicated by eventId within the watermark,
 * and written, in the same micro-batch and each exactly once, to {@code processed_data} (valid readings, enriched)
 * and {@code dead_letters} (rejects with their reason).
 */
public final class IngestQuery
{
    public static final String NAME = "ingest";
    public static final String PROCESSED_DATA = "processed_data";
    public static final String DEAD_LETTERS = "dead_letters";
    public static final List<String> TABLES = List.of(PROCESSED_DATA, DEAD_LETTERS);

    private final SparkSession spark;
    private final JobSettings settings;
    private final Decoding decoding;
    private final Enrichment enrichment;

    public IngestQuery(SparkSession spark, JobSettings settings, Decoding decoding, Enrichment enrichment)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.decoding = requireNonNull(decoding, "decoding is null");
        this.enrichment = requireNonNull(enrichment, "enrichment is null");
    }

    public StreamingQuery start(Dataset<Row> kafkaRecords)
            throws TimeoutException
    {
        Dataset<Row> classified = decoding.decode(kafkaRecords);
        // Readings are de-duplicated by eventId. Rejects pass through the same operator under a key no other record
        // has (their Kafka coordinates, with a null eventId) and with their Kafka timestamp as event time: a reject's own timestamp may be
        // a month ahead, and would drag the watermark along and make every on-time reading late.
        Column valid = col("reason").isNull();
        Dataset<Row> deduplicated = classified
                .withColumn("dedup_event", when(valid, col("eventId")))
                .withColumn("dedup_partition", when(not(valid), col("kafka_partition")))
                .withColumn("dedup_offset", when(not(valid), col("kafka_offset")))
                .withColumn("dedup_time", when(valid, col("timestamp")).otherwise(col("kafka_timestamp")))
                .withWatermark("dedup_time", WindowedAggregates.interval(settings.watermarkDelay()))
                .dropDuplicatesWithinWatermark("dedup_event", "dedup_partition", "dedup_offset");

        TableSink processed = new TableSink(spark, PROCESSED_DATA, settings.tablePath(PROCESSED_DATA), List.of("event_date"),
                TableSink.withoutDictionary("eventId", "value", "raw_value", "timestamp", "ingest_delay_ms", "seq", "battery", "kafka_offset", "kafka_timestamp"));
        TableSink deadLetters = new TableSink(spark, DEAD_LETTERS, settings.tablePath(DEAD_LETTERS), List.of("event_date"));
        VoidFunction2<Dataset<Row>, Long> writeTables = (batch, batchId) -> {
            // Persisted: both tables come from one evaluation of the batch (one Kafka read, one parse, and the
            // de-duplication's metrics counted once).
            batch.persist();
            try {
                processed.write(batchId, enrichment.apply(batch.where(col("reason").isNull())));
                deadLetters.write(batchId, DeadLetters.from(batch.where(col("reason").isNotNull())));
            }
            finally {
                batch.unpersist();
            }
        };
        return deduplicated.writeStream()
                .queryName(NAME)
                .option("checkpointLocation", settings.checkpointPath(NAME))
                .trigger(trigger(settings))
                .foreachBatch(writeTables)
                .start();
    }

    static Trigger trigger(JobSettings settings)
    {
        return settings.trigger().map(interval -> Trigger.ProcessingTime(interval.toMillis())).orElseGet(Trigger::AvailableNow);
    }
}
