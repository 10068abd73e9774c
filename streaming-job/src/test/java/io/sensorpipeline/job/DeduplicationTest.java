package io.sensorpipeline.job;

import io.sensorpipeline.job.metrics.ProgressLog;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.MemoryStream;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

/** The ingest query's de-duplication, on a stream of Kafka-shaped records, micro-batch by micro-batch. */
class DeduplicationTest
{
    private static final Duration WATERMARK = Duration.ofMinutes(2);

    private final SparkSession spark = SparkTestSession.get();
    private final KafkaTestRecords records = new KafkaTestRecords();

    @Test
    void repeatedEventIdsAreDroppedLateReadingsAreCountedAndRejectsNeverMoveTheWatermark()
            throws Exception
    {
        MemoryStream<Row> topic = KafkaTestRecords.topic(spark, 2);
        StreamingQuery query = IngestQuery.deduplicate(KafkaTestRecords.decoding(spark).decode(topic.toDF()), WATERMARK)
                .writeStream().format("memory").queryName("deduplicated").outputMode("append").start();
        try {
            // Readings uploaded late, as buffering gateways do, next to a reject whose Kafka time is an hour ahead.
            KafkaTestRecords.add(topic,
                    records.reading("e1", "2026-11-24T10:00:00Z"),
                    records.reading("e2", "2026-11-24T10:00:05Z"),
                    records.reading("e1", "2026-11-24T10:00:00Z"),
                    records.record("not json", Instant.parse("2026-11-24T11:00:00Z")));
            query.processAllAvailable();
            // The watermark is now 10:00:05 - 2 min. A reject's Kafka time would have made it 10:58 and e3 late.
            KafkaTestRecords.add(topic,
                    records.reading("e3", "2026-11-24T10:00:30Z"),
                    records.reading("e2", "2026-11-24T10:00:05Z"),
                    records.reading("e0", "2026-11-24T09:50:00Z"),
                    records.record("{}", Instant.parse("2026-11-24T11:00:01Z")));
            query.processAllAvailable();

            List<StreamingQueryProgress> progress = Arrays.stream(query.recentProgress()).filter(p -> p.stateOperators().length > 0).toList();
            List<String> valid = new ArrayList<>();
            List<String> rejected = new ArrayList<>();
            for (Row row : spark.table("deduplicated").orderBy(col("kafka_offset")).collectAsList()) {
                if (row.getAs("reason") == null) {
                    valid.add(row.getAs("eventId"));
                }
                else {
                    rejected.add(row.<String>getAs("reason") + " " + row.<String>getAs("payload"));
                }
            }
            assertThat(valid).containsExactly("e1", "e2", "e3");
            assertThat(rejected).containsExactly("MALFORMED_JSON not json", "MISSING_FIELD {}");
            assertThat(progress.stream().mapToLong(p -> p.stateOperators()[0].numRowsDroppedByWatermark()).sum())
                    .as("e0 is behind the watermark: dropped, and counted").isEqualTo(1);
            assertThat(progress.stream().mapToLong(p -> p.stateOperators()[0].customMetrics().get("numDroppedDuplicateRows")).sum())
                    .as("e1 in the same batch, e2 in the next").isEqualTo(2);
            assertThat(progress.get(progress.size() - 1).eventTime().get("watermark"))
                    .as("the readings' latest event time, 10:00:30, less 2 minutes").isEqualTo("2026-11-24T09:58:30.000Z");

            // Each batch's log line says what the operator holds and what it dropped: here the second batch of records
            // (both batches of records hold 4; the later one has the late reading and the second duplicate).
            StreamingQueryProgress second = progress.stream().filter(p -> p.numInputRows() == 4).max(Comparator.comparingLong(StreamingQueryProgress::batchId)).orElseThrow();
            assertThat(ProgressLog.describe(second))
                    .startsWith("deduplicated batch " + second.batchId() + ": 4 rows in ")
                    .containsPattern("dedupeWithinWatermark: " + second.stateOperators()[0].numRowsTotal() + " state rows in [0-9.]+ (B|KB|MB), ")
                    .contains("1 late rows dropped, 1 duplicates dropped");
        }
        finally {
            query.stop();
        }
    }
}
