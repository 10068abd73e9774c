package io.sensorpipeline.job.transform;

import io.sensorpipeline.common.RejectReason;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ReadingDecoderTest
{
    private static final Instant KAFKA_TIME = Instant.parse("2026-11-24T10:05:00Z");
    private static final ReadingDecoder DECODER = new ReadingDecoder(Set.of("sensor-00001"), Duration.ofMinutes(1));

    @Test
    void timestampsAreIsoInstantsWithAnOffsetKeptToTheMicrosecond()
    {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z");
        cases.put("2026-11-24T11:30:00+01:30", "2026-11-24T10:00:00Z");
        cases.put("2026-11-24T10:00:00.5-02:00", "2026-11-24T12:00:00.500Z");
        cases.put("2026-11-24T10:00:00.123456789Z", "2026-11-24T10:00:00.123456Z");
        cases.put("2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z");
        cases.put("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z");
        cases.put("2026-11-24T10:00:00", null);
        cases.put("2026-11-24 10:00:00Z", null);
        cases.put("2026-11-24", null);
        cases.put("2026-02-29T10:00:00Z", null);
        cases.put("2026-13-01T10:00:00Z", null);
        cases.put("2026-11-24T24:00:00Z", null);
        cases.put("2026-11-24T10:60:00Z", null);
        cases.put("2026-11-24T10:00:00.Z", null);
        cases.put("2026-11-24T10:00:00.1234567890Z", null);
        cases.put("2026-11-24T10:00:00+1:00", null);
        cases.put("2026-11-24T10:00:00+19:00", null);
        cases.put(" 2026-11-24T10:00:00Z", null);
        cases.put("2026-11-24T10:00:00Zjunk", null);
        cases.put("+2026-11-24T10:00:00Z", null);
        cases.forEach((text, expected) -> {
            Long micros = ReadingDecoder.parseTimestamp(text);
            assertThat(micros == null ? null : Instant.EPOCH.plusNanos(micros * 1000).toString()).as(text).isEqualTo(expected);
        });
    }

    @Test
    void aValidReadingKeepsEveryField()
    {
        ReadingDecoder.Decoded decoded = decode("{\"eventId\":\"e-1\",\"sensorId\":\"sensor-00001\",\"type\":\"TEMPERATURE\",\"value\":70,"
                + "\"unit\":\"F\",\"timestamp\":\"2026-11-24T10:00:00.250Z\",\"seq\":7,\"battery\":0.5,\"firmware\":\"1.2.3\",\"extra\":{\"a\":[1,2]}}");
        assertThat(decoded.valid()).as(decoded.detail).isTrue();
        assertThat(decoded.eventId).isEqualTo("e-1");
        assertThat(decoded.type).isEqualTo("temperature");
        assertThat(decoded.value).isEqualTo(70.0);
        assertThat(decoded.unit).isEqualTo("F");
        assertThat(decoded.timestampMicros).isEqualTo(Instant.parse("2026-11-24T10:00:00.250Z").toEpochMilli() * 1000);
        assertThat(decoded.seq).isEqualTo(7L);
        assertThat(decoded.battery).isEqualTo(0.5);
        assertThat(decoded.firmware).isEqualTo("1.2.3");
        assertThat(decoded.payload).as("a valid reading does not carry its payload").isNull();
    }

    @Test
    void eachFaultGetsItsReasonAndADetail()
    {
        String good = "\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"humidity\",\"timestamp\":\"2026-11-24T10:00:00Z\"";
        assertRejected("", RejectReason.MALFORMED_JSON, "empty payload");
        assertRejected("[1,2]", RejectReason.MALFORMED_JSON, "not a JSON object: [1,2]");
        assertRejected("{\"eventId\":\"e\",\"val", RejectReason.MALFORMED_JSON, "not a JSON object: {\"eventId\":\"e\",\"val");
        assertRejected("{" + good + ",\"value\":1} trailing", RejectReason.MALFORMED_JSON, "not a JSON object: {");
        assertRejected("{" + good + "}", RejectReason.MISSING_FIELD, "missing required field: value");
        assertRejected("{\"value\":1,\"type\":null}", RejectReason.MISSING_FIELD, "missing required field: eventId, sensorId, type, timestamp");
        assertRejected("{" + good + ",\"value\":true}", RejectReason.WRONG_TYPE, "'value' is a boolean, not a number");
        assertRejected("{" + good + ",\"value\":{\"v\":1}}", RejectReason.WRONG_TYPE, "'value' is an object, not a number");
        assertRejected("{\"eventId\":7,\"sensorId\":\"sensor-00001\",\"type\":\"humidity\",\"value\":1,\"timestamp\":\"2026-11-24T10:00:00Z\"}",
                RejectReason.WRONG_TYPE, "'eventId' is a number, not a string");
        assertRejected("{" + good + ",\"value\":1,\"seq\":\"7\"}", RejectReason.WRONG_TYPE, "'seq' is a string, not an integer");
        assertRejected("{" + good.replace("10:00:00Z", "10:00:00") + ",\"value\":1}", RejectReason.WRONG_TYPE,
                "'timestamp' is not an ISO-8601 instant with an offset: 2026-11-24T10:00:00");
        assertRejected("{" + good + ",\"value\":NaN}", RejectReason.NON_FINITE, "'value' is NaN");
        assertRejected("{" + good + ",\"value\":-Infinity}", RejectReason.NON_FINITE, "'value' is -Infinity");
        assertRejected("{" + good + ",\"value\":1e999}", RejectReason.NON_FINITE, "'value' is Infinity");
        assertRejected("{" + good.replace("humidity", "radiation") + ",\"value\":1}", RejectReason.UNKNOWN_TYPE, "unknown sensor type 'radiation'");
        assertRejected("{" + good.replace("sensor-00001", "sensor-99999") + ",\"value\":1}", RejectReason.UNKNOWN_SENSOR,
                "sensor 'sensor-99999' is not in the sensor metadata");
        assertRejected("{" + good + ",\"value\":101,\"unit\":\"%\"}", RejectReason.OUT_OF_RANGE, "value 101.0 % is outside the physical range of humidity");
        assertRejected("{" + good.replace("10:00:00Z", "10:06:01Z") + ",\"value\":1}", RejectReason.FUTURE_TIMESTAMP,
                "timestamp 2026-11-24T10:06:01Z is more than PT1M ahead of the Kafka timestamp 2026-11-24T10:05:00Z");
        assertThat(decode("{" + good.replace("10:00:00Z", "10:06:00Z") + ",\"value\":1}").valid()).as("exactly at the tolerance").isTrue();
    }

    @Test
    void theFirstFaultInReasonOrderWinsAndTheLastRepeatedFieldCounts()
    {
        // Missing eventId and an unknown type: MISSING_FIELD comes first.
        assertRejected("{\"sensorId\":\"sensor-00001\",\"type\":\"radiation\",\"value\":1,\"timestamp\":\"2026-11-24T10:00:00Z\"}",
                RejectReason.MISSING_FIELD, "missing required field: eventId");
        // NaN and an unknown sensor: NON_FINITE comes first.
        assertRejected("{\"eventId\":\"e\",\"sensorId\":\"nope\",\"type\":\"humidity\",\"value\":NaN,\"timestamp\":\"2026-11-24T10:00:00Z\"}",
                RejectReason.NON_FINITE, "'value' is NaN");
        assertThat(decode("{\"eventId\":\"e\",\"sensorId\":\"sensor-00001\",\"type\":\"humidity\",\"value\":\"x\",\"value\":5,"
                + "\"timestamp\":\"2026-11-24T10:00:00Z\"}").value).isEqualTo(5.0);
    }

    @Test
    void payloadsThatAreNotUtf8AreKeptAsBase64()
    {
        byte[] bytes = "{\"eventId\":\"\u00e9\"}".getBytes(StandardCharsets.UTF_8);
        assertThat(ReadingDecoder.utf8(bytes)).isEqualTo("{\"eventId\":\"\u00e9\"}");
        bytes[bytes.length - 3] = (byte) 0xFF;
        assertThat(ReadingDecoder.utf8(bytes)).isNull();
        ReadingDecoder.Decoded decoded = DECODER.decode(bytes, micros(KAFKA_TIME));
        assertThat(decoded.reason).isEqualTo(RejectReason.MALFORMED_JSON);
        assertThat(decoded.detail).isEqualTo("payload is not valid UTF-8");
        assertThat(decoded.payloadEncoding).isEqualTo("base64");
        assertThat(Base64.getDecoder().decode(decoded.payload)).isEqualTo(bytes);
    }

    private static void assertRejected(String payload, RejectReason reason, String detailStart)
    {
        ReadingDecoder.Decoded decoded = decode(payload);
        assertThat(decoded.reason).as(payload).isEqualTo(reason);
        assertThat(decoded.detail).as(payload).startsWith(detailStart);
        assertThat(decoded.payload).as(payload).isEqualTo(payload);
        assertThat(decoded.payloadEncoding).isEqualTo("utf-8");
    }

    private static ReadingDecoder.Decoded decode(String payload)
    {
        return DECODER.decode(payload.getBytes(StandardCharsets.UTF_8), micros(KAFKA_TIME));
    }

    private static long micros(Instant instant)
    {
        return instant.toEpochMilli() * 1000;
    }
}
