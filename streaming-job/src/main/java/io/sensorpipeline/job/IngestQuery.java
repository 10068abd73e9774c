package io.sensorpipeline.job;

import io.sensorpipeline.common.RejectReason;
import io.sensorpipeline.job.io.DropLog;
import io.sensorpipeline.job.io.TableSink;
import io.sensorpipeline.job.metrics.JobMetrics;
import io.sensorpipeline.job.transform.DeadLetters;
import io.sensorpipeline.job.transform.Enrichment;
import io.sensorpipeline.job.transform.Decoding;
import io.sensorpipeline.job.transform.WindowedAggregates;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.streaming.StreamExecution;
import org.apache.spark.sql.execution.streaming.StreamingDeduplicateWithinWatermarkExec;
import org.apache.spark.sql.execution.streaming.StreamingQueryWrapper;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import scala.collection.JavaConverters;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
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
    /** processed_data's Parquet writer settings, which compaction keeps too. */
    public static final Map<String, String> PROCESSED_DATA_OPTIONS = TableSink.withoutDictionary(
            "eventId", "value", "raw_value", "timestamp", "ingest_delay_ms", "seq", "battery", "kafka_offset", "kafka_timestamp");

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
        Dataset<Row> deduplicated = deduplicate(decoding.decode(kafkaRecords), settings.watermarkDelay());

        TableSink processed = new TableSink(spark, PROCESSED_DATA, settings.tablePath(PROCESSED_DATA), List.of("event_date"), PROCESSED_DATA_OPTIONS);
        TableSink deadLetters = new TableSink(spark, DEAD_LETTERS, settings.tablePath(DEAD_LETTERS), List.of("event_date"));
        DropLog drops = new DropLog(spark.sessionState().newHadoopConf(), settings.checkpointPath(NAME));
        VoidFunction2<Dataset<Row>, Long> writeTables = (batch, batchId) -> {
            // Persisted: both tables come from one evaluation of the batch (one Kafka read, one parse, and the
            // de-duplication's metrics counted once).
            batch.persist();
            try {
                boolean bothCommitted = processed.committed(batchId) && deadLetters.committed(batchId);
                processed.write(batchId, enrichment.apply(batch.where(col("reason").isNull())));
                // Rejects are few: one file per day per batch instead of one per partition (the shuffle moves rejects only).
                deadLetters.write(batchId, DeadLetters.from(batch.where(col("reason").isNotNull())).repartition(1));
                if (bothCommitted) {
                    // A replay after a crash between the tables' commits and Spark's: both writes were skipped, and
                    // the batch is evaluated on its own so that the drop log still learns what was dropped.
                    batch.count();
                }
                SparkPlan deduplication = deduplicationOfCurrentBatch();
                drops.record(batchId, deduplication.longMetric("numDroppedDuplicateRows").value(),
                        deduplication.longMetric("numRowsDroppedByWatermark").value());
            }
            finally {
                batch.unpersist();
            }
        };
        return observeCounts(deduplicated).writeStream()
                .queryName(NAME)
                .option("checkpointLocation", settings.checkpointPath(NAME))
                .trigger(trigger(settings))
                .foreachBatch(writeTables)
                .start();
    }

    /**
     * The de-duplication operator of the micro-batch this thread runs, whose metrics count the rows it dropped once the
     * batch has been evaluated: the plan that Spark's progress reads them from too. A foreachBatch function gets a
     * copy of the batch's rows, not its plan, so the plan comes from the query, found by the id Spark sets on the
     * query's thread.
     */
    private SparkPlan deduplicationOfCurrentBatch()
    {
        String queryId = spark.sparkContext().getLocalProperty(StreamExecution.QUERY_ID_KEY());
        StreamingQuery query = spark.streams().get(queryId);
        if (!(query instanceof StreamingQueryWrapper wrapper)) {
            throw new IllegalStateException("the ingest query's micro-batch runs outside its query (query id " + queryId + ")");
        }
        SparkPlan plan = wrapper.streamingQuery().lastExecution().executedPlan();
        return deduplication(plan).orElseThrow(() -> new IllegalStateException("no de-duplication in the ingest query's plan: " + plan.treeString()));
    }

    private static Optional<SparkPlan> deduplication(SparkPlan plan)
    {
        if (plan instanceof StreamingDeduplicateWithinWatermarkExec) {
            return Optional.of(plan);
        }
        return JavaConverters.seqAsJavaList(plan.children()).stream()
                .map(IngestQuery::deduplication)
                .flatMap(Optional::stream)
                .findFirst();
    }

    /**
     * Drops repeated readings (the same eventId) within the watermark; rejects pass through.
     *
     * <p>Only readings drive the watermark: a reject's event time is null, which the watermark's maximum ignores
     * (Spark counts a null as 0, so the batch's minimum and average event time in the query progress read 1970 when
     * a batch holds rejects) and the late-row filter never matches. A reject has no trustworthy event time, and
     * using its Kafka timestamp instead is wrong whenever event time lags Kafka time (devices that buffer readings and
     * upload them later, a replayed backlog): one reject moved the watermark to the upload time and every reading
     * after it was dropped as late. Rejects go through the same operator, keyed by their Kafka coordinates, so the
     * stream is read and decoded once; their state entries expire at the next batch.
     */
    static Dataset<Row> deduplicate(Dataset<Row> classified, Duration watermarkDelay)
    {
        Column valid = col("reason").isNull();
        return classified
                .withColumn("dedup_event", when(valid, col("eventId")))
                .withColumn("dedup_partition", when(not(valid), col("kafka_partition")))
                .withColumn("dedup_offset", when(not(valid), col("kafka_offset")))
                .withColumn("dedup_time", when(valid, col("timestamp")))
                .withWatermark("dedup_time", WindowedAggregates.interval(watermarkDelay))
                .dropDuplicatesWithinWatermark("dedup_event", "dedup_partition", "dedup_offset")
                .drop("dedup_event", "dedup_partition", "dedup_offset", "dedup_time");
    }

    /** Counts per micro-batch for the metrics: readings written, and rejects by reason (see JobMetrics). */
    static Dataset<Row> observeCounts(Dataset<Row> deduplicated)
    {
        List<Column> counts = new ArrayList<>();
        counts.add(count(when(col("reason").isNull(), true)).as(JobMetrics.PROCESSED));
        for (RejectReason reason : RejectReason.values()) {
            counts.add(count(when(col("reason").equalTo(reason.name()), true)).as(reason.name()));
        }
        return deduplicated.observe(JobMetrics.INGEST_COUNTS, counts.get(0), counts.subList(1, counts.size()).toArray(Column[]::new));
    }

    static Trigger trigger(JobSettings settings)
    {
        return settings.trigger().map(interval -> Trigger.ProcessingTime(interval.toMillis())).orElseGet(Trigger::AvailableNow);
    }
}
