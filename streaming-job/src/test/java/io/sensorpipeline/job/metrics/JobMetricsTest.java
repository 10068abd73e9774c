package io.sensorpipeline.job.metrics;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sensorpipeline.common.metrics.MetricsText;
import io.sensorpipeline.job.KafkaTestRecords;
import io.sensorpipeline.job.SparkTestSession;
import io.sensorpipeline.job.transform.Decoding;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.MemoryStream;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static io.sensorpipeline.job.IngestQueryAccess.deduplicateAndCount;
import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/** The metrics of a real micro-batch query, written the way the ingest query writes: foreachBatch over a persisted batch. */
class JobMetricsTest
{
    private static final Instant KAFKA_TIME = Instant.parse("2026-11-24T10:00:30Z");

    private final SparkSession spark = SparkTestSession.get();
    private final KafkaTestRecords records = new KafkaTestRecords();

    @Test
    void progressAndObservedCountsBecomeMetrics()
            throws Exception
    {
        MemoryStream<Row> topic = KafkaTestRecords.topic(spark, 3);
        Decoding decoding = KafkaTestRecords.decoding(spark);
        AtomicLong written = new AtomicLong();
        VoidFunction2<Dataset<Row>, Long> write = (batch, batchId) -> {
            batch.persist();
            try {
                written.addAndGet(batch.where(col("reason").isNull()).count());
                batch.where(col("reason").isNotNull()).count();
            }
            finally {
                batch.unpersist();
            }
        };
        StreamingQuery query = deduplicateAndCount(decoding.decode(topic.toDF()), Duration.ofMinutes(2))
                .writeStream().queryName("ingest").foreachBatch(write).start();
        try {
            KafkaTestRecords.add(topic,
                    records.reading("e1", "2026-11-24T10:00:00Z"),
                    records.reading("e2", "2026-11-24T10:00:10Z"),
                    records.reading("e1", "2026-11-24T10:00:00Z"),
                    records.record("not json", KAFKA_TIME),
                    records.record("{\"eventId\":\"x\"}", KAFKA_TIME));
            query.processAllAvailable();
            KafkaTestRecords.add(topic,
                    records.reading("e3", "2026-11-24T10:00:20Z"),
                    records.reading("e0", "2026-11-24T09:50:00Z"),
                    records.record("[]", KAFKA_TIME));
            query.processAllAvailable();
        }
        finally {
            query.stop();
        }

        PrometheusRegistry registry = new PrometheusRegistry();
        JobMetrics metrics = new JobMetrics(registry);
        List<StreamingQueryProgress> progress = new ArrayList<>(List.of(query.recentProgress()));
        progress.forEach(metrics::record);
        String text = MetricsText.scrape(registry);

        assertThat(written.get()).isEqualTo(3);
        assertThat(text)
                .contains("sensorpipeline_query_input_rows_total{query=\"ingest\"} 8.0")
                .contains("sensorpipeline_processed_rows_total 3.0")
                .contains("sensorpipeline_dead_letters_total{reason=\"MALFORMED_JSON\"} 2.0")
                .contains("sensorpipeline_dead_letters_total{reason=\"MISSING_FIELD\"} 1.0")
                .contains("sensorpipeline_dead_letters_total{reason=\"OUT_OF_RANGE\"} 0.0")
                .contains("sensorpipeline_duplicates_dropped_total{query=\"ingest\"} 1.0")
                .contains("sensorpipeline_late_rows_dropped_total{operator=\"dedupeWithinWatermark\",query=\"ingest\"} 1.0")
                .contains("sensorpipeline_query_watermark_timestamp_seconds{query=\"ingest\"} " + (double) Instant.parse("2026-11-24T10:00:20Z").minusSeconds(120).getEpochSecond())
                .contains("sensorpipeline_query_last_batch_id{query=\"ingest\"} " + (double) progress.get(progress.size() - 1).batchId())
                .contains("sensorpipeline_query_trigger_to_commit_seconds_count{query=\"ingest\"} " + progress.size() + "\n");
    }

    /**
     * A query over two file tables, as the alerts query reads processed_data and sensor_aggregates: when only one of
     * them has new files, Spark reports 0 input rows for the batch; the rows counted per source are the true count.
     */
    @Test
    void inputRowsOfTwoFileSourcesAreCountedPerSource(@TempDir Path directory)
            throws Exception
    {
        StructType schema = new StructType().add("id", DataTypes.LongType);
        Path first = Files.createDirectories(directory.resolve("first"));
        Path second = Files.createDirectories(directory.resolve("second"));
        Dataset<Row> union = JobMetrics.countInput(spark.readStream().schema(schema).parquet(first.toString()), "first")
                .unionByName(JobMetrics.countInput(spark.readStream().schema(schema).parquet(second.toString()), "second"));
        VoidFunction2<Dataset<Row>, Long> write = (batch, batchId) -> {
            batch.persist();
            try {
                batch.count();
                batch.count();
            }
            finally {
                batch.unpersist();
            }
        };
        // One run to the end of the files per step, each step one micro-batch: first only, second only, both.
        List<StreamingQueryProgress> batches = new ArrayList<>();
        spark.range(3).coalesce(1).write().mode("append").parquet(first.toString());
        batches.addAll(runAvailableNow(union, write, directory.resolve("checkpoint")));
        spark.range(2).coalesce(1).write().mode("append").parquet(second.toString());
        batches.addAll(runAvailableNow(union, write, directory.resolve("checkpoint")));
        spark.range(4).coalesce(1).write().mode("append").parquet(first.toString());
        spark.range(5).coalesce(1).write().mode("append").parquet(second.toString());
        batches.addAll(runAvailableNow(union, write, directory.resolve("checkpoint")));

        assertThat(batches).extracting(JobMetrics::inputRows).containsExactly(3L, 2L, 9L);
        assertThat(ProgressLog.describe(batches.get(0))).startsWith("alerts batch " + batches.get(0).batchId() + ": 3 rows in ");
        PrometheusRegistry registry = new PrometheusRegistry();
        JobMetrics metrics = new JobMetrics(registry);
        batches.forEach(metrics::record);
        assertThat(MetricsText.scrape(registry)).contains("sensorpipeline_query_input_rows_total{query=\"alerts\"} 14.0");
    }

    private static List<StreamingQueryProgress> runAvailableNow(Dataset<Row> source, VoidFunction2<Dataset<Row>, Long> write, Path checkpoint)
            throws Exception
    {
        StreamingQuery query = source.writeStream().queryName("alerts").option("checkpointLocation", checkpoint.toString())
                .trigger(Trigger.AvailableNow()).foreachBatch(write).start();
        query.awaitTermination();
        return List.of(query.recentProgress());
    }

    @Test
    void kafkaLagIsCountedPerTopicFromWhereTheBatchEndedToTheLatestOffsets()
    {
        // Partition 1 of alerts-in had no records when the batch was planned: the batch did not read it.
        Map<String, List<Long>> behind = JobMetrics.behindLatest(
                "{\"sensor-readings\":{\"0\":12,\"1\":40},\"alerts-in\":{\"0\":5}}",
                "{\"sensor-readings\":{\"0\":112,\"1\":40},\"alerts-in\":{\"0\":5,\"1\":7}}");
        assertThat(behind).containsOnlyKeys("sensor-readings", "alerts-in");
        assertThat(behind.get("sensor-readings")).containsExactlyInAnyOrder(100L, 0L);
        assertThat(behind.get("alerts-in")).containsExactlyInAnyOrder(0L, 7L);
        assertThat(JobMetrics.behindLatest(null, "{\"t\":{\"0\":1}}")).isEmpty();
        assertThat(JobMetrics.behindLatest("{\"t\":{\"0\":1}}", null)).isEmpty();
        assertThat(JobMetrics.behindLatest("not json", "{\"t\":{\"0\":1}}")).isEmpty();
    }
}
