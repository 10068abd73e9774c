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
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

class ValidationTest
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

        assertThat(reasonAndDetail(rows.get(0L))).isEqualTo("WRONG_TYPE: 'value' is not a number");
        assertThat(reasonAndDetail(rows.get(1L))).isEqualTo("MISSING_FIELD: missing required field: value");
        assertThat(reasonAndDetail(rows.get(2L))).isEqualTo("WRONG_TYPE: 'timestamp' is not an ISO-8601 instant with an offset: 2026-11-24 10:00:00");
        assertThat(reasonAndDetail(rows.get(3L))).as("a quoted number is not a number").isEqualTo("WRONG_TYPE: 'value' is not a number");
        assertThat(reasonAndDetail(rows.get(4L))).startsWith("FUTURE_TIMESTAMP: timestamp 2026-11-30T10:00:00Z is more than PT1H ahead");
        assertThat(rows.get(5L).<String>getAs("reason")).as("150 °F is 65.6 °C, in range").isNull();
        assertThat(reasonAndDetail(rows.get(6L))).isEqualTo("OUT_OF_RANGE: value 190.0 F is outside the physical range of temperature");
        assertThat(reasonAndDetail(rows.get(7L))).isEqualTo("MALFORMED_JSON: empty payload");
        assertThat(rows.get(8L).<String>getAs("reason")).isEqualTo("MALFORMED_JSON");
    }

    @Test
    void timestampsAreIsoInstantsWithAnOffset()
    {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z");
        cases.put("2026-11-24T11:30:00+01:30", "2026-11-24T10:00:00Z");
        cases.put("2026-11-24T10:00:00.5-02:00", "2026-11-24T12:00:00.500Z");
        cases.put("2026-11-24T10:00:00.123456789Z", "2026-11-24T10:00:00.123456Z");
        cases.put("2026-11-24T10:00:00", null);
        cases.put("2026-11-24 10:00:00Z", null);
        cases.put("2026-11-24", null);
        cases.put("2026-02-30T10:00:00Z", null);
        cases.put("2026-11-24T24:00:00Z", null);
        cases.put("2026-11-24T10:00:00.1234567890Z", null);
        cases.put(" 2026-11-24T10:00:00Z", null);
        List<Row> records = new ArrayList<>();
        List<String> texts = new ArrayList<>(cases.keySet());
        for (int offset = 0; offset < texts.size(); offset++) {
            records.add(record(offset, "{\"timestamp\":\"" + texts.get(offset) + "\"}"));
        }
        Map<Long, String> parsed = new HashMap<>();
        for (Row row : Parsing.parse(spark.createDataFrame(records, KAFKA)).collectAsList()) {
            Timestamp timestamp = row.getAs("timestamp");
            parsed.put(row.<Long>getAs("kafka_offset"), timestamp == null ? null : timestamp.toInstant().toString());
        }
        for (int offset = 0; offset < texts.size(); offset++) {
            assertThat(parsed.get((long) offset)).as(texts.get(offset)).isEqualTo(cases.get(texts.get(offset)));
        }
    }

    @Test
    void theKafkaValueIsParsedOnce()
    {
        // A shuffle in front keeps the optimizer from evaluating the parse of a local relation while planning.
        Dataset<Row> kafka = spark.createDataFrame(List.of(record(0, "{}")), KAFKA).repartition(2);
        Dataset<Row> classified = validation().classify(Parsing.parse(kafka));
        String plan = classified.select(col("reason"), col("detail"), col("value")).queryExecution().executedPlan().toString();
        assertThat(plan.split("from_json\\(", -1).length - 1).as(plan).isEqualTo(1);
    }

    private Map<Long, Row> classify(List<Row> records)
    {
        Map<Long, Row> byOffset = new HashMap<>();
        for (Row row : validation().classify(Parsing.parse(spark.createDataFrame(records, KAFKA))).collectAsList()) {
            byOffset.put(row.<Long>getAs("kafka_offset"), row);
        }
        assertThat(byOffset).hasSize(records.size());
        return byOffset;
    }

    private Validation validation()
    {
        return new Validation(SensorMetadata.read(spark, Path.of("..", "data", "sensors.csv").toString()), ReferenceValidator.FUTURE_TOLERANCE);
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
