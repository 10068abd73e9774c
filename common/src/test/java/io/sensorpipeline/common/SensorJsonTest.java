package io.sensorpipeline.common;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SensorJsonTest
{
    private static final SensorReading READING = new SensorReading("e-1", "sensor-00042", "temperature", 21.37, "C",
            Instant.parse("2026-11-24T10:15:30.120Z"), 1234, 0.93, "1.4.2");

    private final SensorJson json = new SensorJson();

    @Test
    void writesTheDocumentedShapeInAFixedOrder()
    {
        assertThat(new String(json.encode(READING), StandardCharsets.UTF_8)).isEqualTo(
                "{\"eventId\":\"e-1\",\"sensorId\":\"sensor-00042\",\"type\":\"temperature\",\"value\":21.37,\"unit\":\"C\","
                        + "\"timestamp\":\"2026-11-24T10:15:30.120Z\",\"seq\":1234,\"battery\":0.93,\"firmware\":\"1.4.2\"}");
    }

    @Test
    void roundTrips()
            throws InvalidEventException
    {
        assertThat(SensorJson.decode(json.encode(READING))).isEqualTo(READING);
    }

    @Test
    void timestampsAlwaysHaveThreeFractionDigits()
    {
        assertThat(SensorJson.formatTimestamp(Instant.parse("2026-01-02T03:04:05Z"))).isEqualTo("2026-01-02T03:04:05.000Z");
        assertThat(SensorJson.formatTimestamp(Instant.parse("2026-01-02T03:04:05.000999Z"))).isEqualTo("2026-01-02T03:04:05.000Z");
        assertThat(SensorJson.formatTimestamp(Instant.parse("1999-12-31T23:59:59.5Z"))).isEqualTo("1999-12-31T23:59:59.500Z");
    }

    @Test
    void fastPathWritesWhatJacksonWrites()
    {
        SensorJson jackson = new SensorJson();
        EventStream stream = TestStreams.stream(1000, 17, FaultPlan.NONE);
        for (int index = 0; index < 50_000; index++) {
            SensorReading reading = SensorJson.decodeUnchecked(stream.next().value());
            assertThat(json.encodeFast(reading)).isEqualTo(jackson.encodeVariant(reading, null, null));
        }
        List<SensorReading> hostile = List.of(
                READING.withValue(Double.NaN),
                READING.withValue(Double.NEGATIVE_INFINITY),
                READING.withValue(-0.0),
                READING.withValue(1.0E-4),
                READING.withValue(123456789.25),
                READING.withValue(-40.0),
                READING.withTimestamp(Instant.parse("+12026-01-01T00:00:00Z")),
                READING.withSensorId("sensor-\"quoted\""),
                READING.withSensorId("sensor-ü"),
                READING.withType("tab\there"),
                new SensorReading("id\\x", "s", "temperature", 1, "C", Instant.EPOCH, Long.MIN_VALUE, -1.5, "1.0"),
                new SensorReading("e", "s", "temperature", 1, "°C", Instant.EPOCH, 0, 0.5, "1.0"),
                new SensorReading("e", "s", "temperature", 1, "C", Instant.EPOCH, 0, 0.5, "x".repeat(300)));
        for (SensorReading reading : hostile) {
            assertThat(new String(json.encode(reading), StandardCharsets.UTF_8))
                    .isEqualTo(new String(jackson.encodeVariant(reading, null, null), StandardCharsets.UTF_8));
        }
        // The same sensor with another firmware must not reuse the cached fragments.
        SensorReading upgraded = new SensorReading("e", READING.sensorId(), READING.type(), 1, "C", Instant.EPOCH, 0, 0.5, "9.9.9");
        json.encode(READING);
        assertThat(new String(json.encode(upgraded), StandardCharsets.UTF_8)).endsWith("\"firmware\":\"9.9.9\"}");
    }

    @Test
    void timestampsMatchTheStandardFormatterAcrossDaysAndYears()
    {
        DateTimeFormatter standard = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
        SplittableRandom random = new SplittableRandom(1);
        for (int index = 0; index < 100_000; index++) {
            Instant instant = Instant.ofEpochMilli(random.nextLong(-2_000_000_000_000L, 4_000_000_000_000L));
            assertThat(SensorJson.formatTimestamp(instant)).isEqualTo(standard.format(instant));
        }
    }

    @Test
    void rejectsWithTheRightReason()
    {
        assertReason("", RejectReason.MALFORMED_JSON);
        assertReason("{\"eventId\":\"e", RejectReason.MALFORMED_JSON);
        assertReason("[1,2]", RejectReason.MALFORMED_JSON);
        assertReason("temperature=21", RejectReason.MALFORMED_JSON);
        assertReason("{\"eventId\":\"e\",\"sensorId\":\"s\",\"type\":\"temperature\",\"timestamp\":\"2026-11-24T10:00:00.000Z\"}",
                RejectReason.MISSING_FIELD);
        assertReason("{\"eventId\":\"e\",\"sensorId\":\"s\",\"type\":\"temperature\",\"value\":null,\"timestamp\":\"2026-11-24T10:00:00.000Z\"}",
                RejectReason.MISSING_FIELD);
        assertReason("{\"eventId\":\"e\",\"sensorId\":\"s\",\"type\":\"temperature\",\"value\":\"hot\",\"timestamp\":\"2026-11-24T10:00:00.000Z\"}",
                RejectReason.WRONG_TYPE);
        assertReason("{\"eventId\":\"e\",\"sensorId\":\"s\",\"type\":\"temperature\",\"value\":1,\"timestamp\":\"yesterday\"}",
                RejectReason.WRONG_TYPE);
        assertReason("{\"eventId\":\"e\",\"sensorId\":\"s\",\"type\":\"temperature\",\"value\":NaN,\"timestamp\":\"2026-11-24T10:00:00.000Z\"}",
                RejectReason.NON_FINITE);
        assertReason("{\"eventId\":\"e\",\"sensorId\":\"s\",\"type\":\"temperature\",\"value\":-Infinity,\"timestamp\":\"2026-11-24T10:00:00.000Z\"}",
                RejectReason.NON_FINITE);
    }

    @Test
    void rejectsBytesThatAreNotUtf8()
    {
        byte[] payload = "{\"eventId\":\"e\",\"sensorId\":\"s\",\"type\":\"temperature\",\"value\":1,\"timestamp\":\"2026-11-24T10:00:00.000Z\",\"firmware\":\"XX\"}"
                .getBytes(StandardCharsets.UTF_8);
        int marker = new String(payload, StandardCharsets.UTF_8).indexOf("XX");
        payload[marker] = (byte) 0xC3;
        payload[marker + 1] = (byte) 0x28;
        byte[] broken = payload;
        assertThatThrownBy(() -> SensorJson.decode(broken))
                .isInstanceOfSatisfying(InvalidEventException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.MALFORMED_JSON));
    }

    @Test
    void variantsOmitOrReplaceExactlyOneField()
    {
        String withoutSensor = new String(json.encodeVariant(READING, "sensorId", null), StandardCharsets.UTF_8);
        assertThat(withoutSensor).doesNotContain("sensorId").contains("\"eventId\":\"e-1\"", "\"value\":21.37");
        String nan = new String(json.encodeVariant(READING, null, "NaN"), StandardCharsets.UTF_8);
        assertThat(nan).contains("\"value\":NaN,");
    }

    @Test
    void hundredthsAreWrittenExactlyAsDoubleToString()
    {
        char[] out = new char[32];
        for (long hundredths = -2_500_000; hundredths <= 2_500_000; hundredths++) {
            if (hundredths == 0) {
                continue;
            }
            double value = hundredths / 100.0;
            int length = SensorJson.formatHundredths(hundredths, out);
            if (!Double.toString(value).equals(new String(out, 0, length))) {
                throw new AssertionError(hundredths + ": " + Double.toString(value) + " but wrote " + new String(out, 0, length));
            }
        }
        assertThat(new String(json.encode(READING.withValue(-0.0)), StandardCharsets.UTF_8)).contains("\"value\":-0.0,");
        assertThat(new String(json.encode(READING.withValue(1.0E-4)), StandardCharsets.UTF_8)).contains("\"value\":1.0E-4,");
        assertThat(new String(json.encode(READING.withValue(21.0)), StandardCharsets.UTF_8)).contains("\"value\":21.0,");
    }

    private static void assertReason(String payload, RejectReason reason)
    {
        assertThatThrownBy(() -> SensorJson.decode(payload.getBytes(StandardCharsets.UTF_8)))
                .as(payload)
                .isInstanceOfSatisfying(InvalidEventException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }
}
