package io.sensorpipeline.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;

/**
 * The one JSON codec for sensor readings, used by the producer, the job and the tests.
 *
 * <p>Encoding is byte-for-byte deterministic: fixed field order, and timestamps always with three fraction digits
 * ({@code 2026-11-24T10:15:30.120Z}), which {@link java.time.format.DateTimeFormatter#ISO_INSTANT} does not promise.
 * An instance is not thread-safe (it reuses its output buffer); create one per thread.
 */
public final class SensorJson
{
    /** The fields without which a record cannot become a reading. */
    public static final List<String> REQUIRED_FIELDS = List.of("eventId", "sensorId", "type", "value", "timestamp");

    private static final JsonFactory FACTORY = new JsonFactoryBuilder()
            // NaN and Infinity are sent by broken firmware; we write them as bare tokens, as such devices do, and
            // read them so they can be rejected as NON_FINITE rather than as unparseable.
            .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();
    private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

    private final ByteArrayBuilder buffer = new ByteArrayBuilder(256);

    public byte[] encode(SensorReading reading)
    {
        return write(reading, null, null);
    }

    /**
     * Encodes a reading with one field left out or one field's JSON replaced by a raw literal; the fault injector
     * uses this to build payloads that are wrong in exactly one way.
     *
     * @param omittedField a field to leave out, or null
     * @param rawValue JSON text written as the value of {@code value} instead of the number, or null
     */
    public byte[] encodeVariant(SensorReading reading, String omittedField, String rawValue)
    {
        return write(reading, omittedField, rawValue);
    }

    private byte[] write(SensorReading reading, String omittedField, String rawValue)
    {
        buffer.reset();
        try (JsonGenerator generator = FACTORY.createGenerator(buffer)) {
            generator.writeStartObject();
            writeString(generator, omittedField, "eventId", reading.eventId());
            writeString(generator, omittedField, "sensorId", reading.sensorId());
            writeString(generator, omittedField, "type", reading.type());
            if (!"value".equals(omittedField)) {
                generator.writeFieldName("value");
                if (rawValue != null) {
                    generator.writeRawValue(rawValue);
                }
                else {
                    generator.writeNumber(reading.value());
                }
            }
            writeString(generator, omittedField, "unit", reading.unit());
            writeString(generator, omittedField, "timestamp", formatTimestamp(reading.timestamp()));
            if (!"seq".equals(omittedField)) {
                generator.writeNumberField("seq", reading.seq());
            }
            if (!"battery".equals(omittedField)) {
                generator.writeNumberField("battery", reading.battery());
            }
            writeString(generator, omittedField, "firmware", reading.firmware());
            generator.writeEndObject();
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }

    private static void writeString(JsonGenerator generator, String omittedField, String field, String value)
            throws IOException
    {
        if (!field.equals(omittedField)) {
            generator.writeStringField(field, value);
        }
    }

    /**
     * Reads a payload strictly: it must be one JSON object with every required field of the right type and a finite
     * value. Range, type and sensor checks need the sensor metadata and belong to the caller.
     */
    public static SensorReading decode(byte[] payload)
            throws InvalidEventException
    {
        if (payload == null || payload.length == 0) {
            throw new InvalidEventException(RejectReason.MALFORMED_JSON, "empty payload");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(payload);
        }
        catch (JsonParseException e) {
            throw new InvalidEventException(RejectReason.MALFORMED_JSON, e.getOriginalMessage());
        }
        catch (IOException e) {
            throw new InvalidEventException(RejectReason.MALFORMED_JSON, e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidEventException(RejectReason.MALFORMED_JSON, "not a JSON object");
        }
        for (String field : REQUIRED_FIELDS) {
            JsonNode node = root.get(field);
            if (node == null || node.isNull()) {
                throw new InvalidEventException(RejectReason.MISSING_FIELD, "missing required field '" + field + "'");
            }
        }
        JsonNode valueNode = root.get("value");
        if (!valueNode.isNumber()) {
            throw new InvalidEventException(RejectReason.WRONG_TYPE, "'value' is " + describe(valueNode) + ", not a number");
        }
        double value = valueNode.doubleValue();
        if (!Double.isFinite(value)) {
            throw new InvalidEventException(RejectReason.NON_FINITE, "'value' is " + value);
        }
        Instant timestamp;
        try {
            timestamp = Instant.parse(text(root, "timestamp"));
        }
        catch (DateTimeParseException e) {
            throw new InvalidEventException(RejectReason.WRONG_TYPE, "'timestamp' is not an ISO-8601 instant: " + root.get("timestamp"));
        }
        return new SensorReading(
                text(root, "eventId"),
                text(root, "sensorId"),
                text(root, "type"),
                value,
                root.path("unit").asText(""),
                timestamp,
                root.path("seq").asLong(-1),
                root.path("battery").asDouble(Double.NaN),
                root.path("firmware").asText(""));
    }

    private static String text(JsonNode root, String field)
            throws InvalidEventException
    {
        JsonNode node = root.get(field);
        if (!node.isTextual()) {
            throw new InvalidEventException(RejectReason.WRONG_TYPE, "'" + field + "' is " + describe(node) + ", not a string");
        }
        return node.textValue();
    }

    private static String describe(JsonNode node)
    {
        return node.getNodeType().name().toLowerCase(Locale.ROOT) + " " + node;
    }

    /** ISO-8601 in UTC with exactly three fraction digits, the form every event carries. */
    public static String formatTimestamp(Instant instant)
    {
        LocalDateTime time = LocalDateTime.ofEpochSecond(instant.getEpochSecond(), 0, ZoneOffset.UTC);
        int millis = instant.getNano() / 1_000_000;
        char[] out = new char[24];
        int year = time.getYear();
        if (year < 0 || year > 9999) {
            return instant.toString();
        }
        digits(out, 0, year, 4);
        out[4] = '-';
        digits(out, 5, time.getMonthValue(), 2);
        out[7] = '-';
        digits(out, 8, time.getDayOfMonth(), 2);
        out[10] = 'T';
        digits(out, 11, time.getHour(), 2);
        out[13] = ':';
        digits(out, 14, time.getMinute(), 2);
        out[16] = ':';
        digits(out, 17, time.getSecond(), 2);
        out[19] = '.';
        digits(out, 20, millis, 3);
        out[23] = 'Z';
        return new String(out);
    }

    private static void digits(char[] out, int offset, int value, int width)
    {
        for (int position = offset + width - 1; position >= offset; position--) {
            out[position] = (char) ('0' + value % 10);
            value /= 10;
        }
    }
}
