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
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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

    @Test
    void kafkaTopicsComeFromTheEndOffsets()
    {
        assertThat(JobMetrics.topics("{\"sensor-readings\":{\"0\":12,\"1\":40}}")).containsExactly("sensor-readings");
        assertThat(JobMetrics.topics(null)).isEmpty();
    }
}
