package io.sensorpipeline.job.transform;

import io.sensorpipeline.common.DataFiles;
import io.sensorpipeline.common.EventStream;
import io.sensorpipeline.common.FaultPlan;
import io.sensorpipeline.common.ReferenceValidator;
import io.sensorpipeline.common.RejectReason;
import io.sensorpipeline.common.StreamRecord;
import io.sensorpipeline.common.TestStreams;
import io.sensorpipeline.job.SparkTestSession;
import io.sensorpipeline.job.StreamingJob;
import io.sensorpipeline.job.io.SensorMetadata;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

class DecodingTest
{
    private static final StructType KAFKA = StreamingJob.KAFKA_RECORD;
    private static final Instant INGEST = TestStreams.START.plus(Duration.ofMinutes(5));

    private final SparkSession spark = SparkTestSession.get();

    @Test
    void everyGeneratedFaultGetsTheReasonTheReferenceGivesIt()
    {
        EventStream stream = TestStreams.stream(1000, 23, new FaultPlan(0.5, 0.05, 0.05, 500));
        List<Row> records = new ArrayList<>();
        Map<Long, byte[]> payloads = new HashMap<>();
        for (long offset = 0; offset < 4_000; offset++) {
            StreamRecord record = stream.next();
            payloads.put(offset, record.value());
            records.add(kafkaRecord(record.key(), record.value(), offset, INGEST));
        }
        Map<Long, Row> classified = classify(records);

        ReferenceValidator reference = new ReferenceValidator(DataFiles.defaultCatalog());
        Set<RejectReason> seen = EnumSet.noneOf(RejectReason.class);
        for (Map.Entry<Long, byte[]> entry : payloads.entrySet()) {
            Optional<RejectReason> expected = reference.rejection(entry.getValue(), INGEST);
            Row row = classified.get(entry.getKey());
            assertThat(Optional.ofNullable(row.<String>getAs("reason")))
                    .as("offset %d: %s", entry.getKey(), new String(entry.getValue(), StandardCharsets.UTF_8))
                    .isEqualTo(expected.map(Enum::name));
            expected.ifPresent(seen::add);
            if (expected.isPresent()) {
                assertThat(row.<String>getAs("detail")).isNotBlank();
            }
        }
        assertThat(seen).containsExactlyInAnyOrder(RejectReason.values());
    }

    @Test
    void detailsSayWhatIsWrong()
    {
        List<Row> records = List.of(
                record(0, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"temperature\",\"value\":\"hot\",\"timestamp\":\"2026-11-24T10:00:00Z\"}"),
                record(1, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"temperature\",\"timestamp\":\"2026-11-24T10:00:00Z\"}"),
                record(2, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"temperature\",\"value\":21.5,\"timestamp\":\"2026-11-24 10:00:00\"}"),
                record(3, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"temperature\",\"value\":\"21.5\",\"timestamp\":\"2026-11-24T10:00:00Z\"}"),
                record(4, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"temperature\",\"value\":21.5,\"timestamp\":\"2026-11-30T10:00:00Z\"}"),
                record(5, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"temperature\",\"value\":150,\"unit\":\"F\",\"timestamp\":\"2026-11-24T10:00:00Z\"}"),
                record(6, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"temperature\",\"value\":190,\"unit\":\"F\",\"timestamp\":\"2026-11-24T10:00:00Z\"}"),
                kafkaRecord(null, new byte[0], 7, INGEST),
                kafkaRecord(null, null, 8, INGEST));
        Map<Long, Row> rows = classify(records);

        assertThat(reasonAndDetail(rows.get(0L))).isEqualTo("WRONG_TYPE: 'value' is a string, not a number");
        assertThat(reasonAndDetail(rows.get(1L))).isEqualTo("MISSING_FIELD: missing required field: value");
        assertThat(reasonAndDetail(rows.get(2L))).isEqualTo("WRONG_TYPE: 'timestamp' is not an ISO-8601 instant with an offset: 2026-11-24 10:00:00");
        assertThat(reasonAndDetail(rows.get(3L))).as("a quoted number is not a number").isEqualTo("WRONG_TYPE: 'value' is a string, not a number");
        assertThat(reasonAndDetail(rows.get(4L))).startsWith("FUTURE_TIMESTAMP: timestamp 2026-11-30T10:00:00Z is more than PT1H ahead");
        assertThat(rows.get(5L).<String>getAs("reason")).as("150 °F is 65.6 °C, in range").isNull();
        assertThat(reasonAndDetail(rows.get(6L))).isEqualTo("OUT_OF_RANGE: value 190.0 F is outside the physical range of temperature");
        assertThat(reasonAndDetail(rows.get(7L))).isEqualTo("MALFORMED_JSON: empty payload");
        assertThat(rows.get(8L).<String>getAs("reason")).isEqualTo("MALFORMED_JSON");
    }

    @Test
    void theKafkaValueIsDecodedOnceInOnePass()
    {
        // A shuffle in front keeps the optimizer from evaluating a local relation while planning.
        Dataset<Row> kafka = spark.createDataFrame(List.of(record(0, "{}")), KAFKA).repartition(2);
        String plan = decoding().decode(kafka).select(col("reason"), col("detail"), col("value")).queryExecution().executedPlan().toString();
        assertThat(plan.split("MapPartitions", -1).length - 1).as(plan).isEqualTo(1);
        assertThat(plan).as(plan).doesNotContain("from_json");
    }

    @Test
    void rejectsKeepTheirPayloadAndValidReadingsDoNot()
    {
        byte[] notUtf8 = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        Map<Long, Row> rows = classify(List.of(
                record(0, "not json"),
                kafkaRecord(null, notUtf8, 1, INGEST),
                kafkaRecord(null, null, 2, INGEST),
                record(3, "{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"Temperature\",\"value\":21.5,\"timestamp\":\"2026-11-24T10:00:00Z\"}")));

        assertThat(payload(rows.get(0L))).isEqualTo("utf-8 not json");
        assertThat(payload(rows.get(1L))).isEqualTo("base64 " + Base64.getEncoder().encodeToString(notUtf8));
        assertThat(payload(rows.get(2L))).isEqualTo("null null");
        assertThat(payload(rows.get(3L))).isEqualTo("null null");
        assertThat(rows.get(3L).<String>getAs("type")).as("types are stored by their wire name").isEqualTo("temperature");
        assertThat(rows.get(3L).<Timestamp>getAs("timestamp").toInstant()).isEqualTo(Instant.parse("2026-11-24T10:00:00Z"));
        assertThat(rows.get(3L).<Timestamp>getAs("kafka_timestamp").toInstant()).isEqualTo(INGEST);
        assertThat(rows.get(3L).<String>getAs("kafka_topic")).isEqualTo("sensor-readings");
    }

    private Map<Long, Row> classify(List<Row> records)
    {
        Map<Long, Row> byOffset = new HashMap<>();
        for (Row row : decoding().decode(spark.createDataFrame(records, KAFKA)).collectAsList()) {
            byOffset.put(row.<Long>getAs("kafka_offset"), row);
        }
        assertThat(byOffset).hasSize(records.size());
        return byOffset;
    }

    private Decoding decoding()
    {
        return new Decoding(SensorMetadata.read(spark, Path.of("..", "data", "sensors.csv").toString()), ReferenceValidator.FUTURE_TOLERANCE);
    }

    private static String payload(Row row)
    {
        return row.<String>getAs("payload_encoding") + " " + row.<String>getAs("payload");
    }

    private static String reasonAndDetail(Row row)
    {
        return row.<String>getAs("reason") + ": " + row.<String>getAs("detail");
    }

    private static Row record(long offset, String json)
    {
        return kafkaRecord(null, json.getBytes(StandardCharsets.UTF_8), offset, INGEST);
    }

    static Row kafkaRecord(byte[] key, byte[] value, long offset, Instant timestamp)
    {
        return RowFactory.create(key, value, "sensor-readings", 0, offset, Timestamp.from(timestamp), 0);
    }
}
