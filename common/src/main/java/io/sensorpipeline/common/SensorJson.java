package io.sensorpipeline.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    private static final SerializedString EVENT_ID = new SerializedString("eventId");
    private static final SerializedString SENSOR_ID = new SerializedString("sensorId");
    private static final SerializedString TYPE = new SerializedString("type");
    private static final SerializedString VALUE = new SerializedString("value");
    private static final SerializedString UNIT = new SerializedString("unit");
    private static final SerializedString TIMESTAMP = new SerializedString("timestamp");
    private static final SerializedString SEQ = new SerializedString("seq");
    private static final SerializedString BATTERY = new SerializedString("battery");
    private static final SerializedString FIRMWARE = new SerializedString("firmware");
    private static final int MAX_CACHED_VALUES = 100_000;
    // Four plain fields of at most this length, two numbers and a timestamp always fit in the scratch buffer.
    private static final int MAX_PLAIN_LENGTH = 256;
    private static final byte[] EVENT_ID_PREFIX = ascii("{\"eventId\":\"");
    private static final byte[] SEQ_PREFIX = ascii("\",\"seq\":");
    private static final byte[] BATTERY_PREFIX = ascii(",\"battery\":");

    // Shared by every thread: a record is published whole, so a racing thread sees an old day or the new one.
    private static volatile CachedDay lastDay;

    private final ByteArrayBuilder buffer = new ByteArrayBuilder(256);
    private final Map<String, SerializedString> repeatedValues = new HashMap<>();
    private final char[] digits = new char[32];
    private final Map<String, SensorFragments> fragmentsBySensor = new HashMap<>();
    private final byte[] scratch = new byte[8 * MAX_PLAIN_LENGTH];
    // One generator for every record: creating one per record cost more than writing the record (the producer's hot
    // path). Root values are written back to back with no separator, and each is flushed into the reset buffer.
    private final JsonGenerator generator;

    public SensorJson()
    {
        try {
            generator = FACTORY.createGenerator(buffer);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        generator.setRootValueSeparator(null);
    }

    public byte[] encode(SensorReading reading)
    {
        byte[] fast = encodeFast(reading);
        return fast != null ? fast : write(reading, null, null);
    }

    /**
     * The producer's hot path: the same bytes Jackson writes (tests compare the two on generated and hostile input),
     * assembled from per-sensor fragments that are encoded once. Returns null when a string would need escaping, which
     * leaves that record to Jackson.
     */
    byte[] encodeFast(SensorReading reading)
    {
        SensorFragments fragments = fragmentsBySensor.get(reading.sensorId());
        if (fragments == null || !fragments.matches(reading)) {
            if (!isPlain(reading.sensorId()) || !isPlain(reading.type()) || !isPlain(reading.unit()) || !isPlain(reading.firmware())) {
                return null;
            }
            fragments = new SensorFragments(reading.sensorId(), reading.type(), reading.unit(), reading.firmware());
            if (fragmentsBySensor.size() < MAX_CACHED_VALUES) {
                fragmentsBySensor.put(reading.sensorId(), fragments);
            }
        }
        String eventId = reading.eventId();
        if (!isPlain(eventId)) {
            return null;
        }
        byte[] out = scratch;
        int length = 0;
        length = put(out, length, EVENT_ID_PREFIX);
        for (int index = 0; index < eventId.length(); index++) {
            out[length++] = (byte) eventId.charAt(index);
        }
        length = put(out, length, fragments.afterEventId());
        length = putNumber(out, length, reading.value());
        length = put(out, length, fragments.afterValue());
        String timestamp = formatTimestamp(reading.timestamp());
        for (int index = 0; index < timestamp.length(); index++) {
            out[length++] = (byte) timestamp.charAt(index);
        }
        length = put(out, length, SEQ_PREFIX);
        length = putAscii(out, length, Long.toString(reading.seq()));
        length = put(out, length, BATTERY_PREFIX);
        length = putNumber(out, length, reading.battery());
        length = put(out, length, fragments.afterBattery());
        return Arrays.copyOf(out, length);
    }

    private int putNumber(byte[] out, int length, double value)
    {
        if (Math.abs(value) < 1e7) {
            long hundredths = Math.round(value * 100.0);
            if (hundredths != 0 && hundredths / 100.0 == value) {
                int written = formatHundredths(hundredths, digits);
                for (int index = 0; index < written; index++) {
                    out[length++] = (byte) digits[index];
                }
                return length;
            }
        }
        return putAscii(out, length, Double.toString(value));
    }

    private static int put(byte[] out, int length, byte[] fragment)
    {
        System.arraycopy(fragment, 0, out, length, fragment.length);
        return length + fragment.length;
    }

    private static int putAscii(byte[] out, int length, String text)
    {
        for (int index = 0; index < text.length(); index++) {
            out[length++] = (byte) text.charAt(index);
        }
        return length;
    }

    /** Printable ASCII that JSON writes as it is (no quote, backslash or control character), and not too long. */
    private static boolean isPlain(String text)
    {
        if (text.length() > MAX_PLAIN_LENGTH) {
            return false;
        }
        for (int index = 0; index < text.length(); index++) {
            char character = text.charAt(index);
            if (character < 0x20 || character > 0x7E || character == '"' || character == '\\') {
                return false;
            }
        }
        return true;
    }

    /** The encoded JSON between the variable fields of one sensor's readings. */
    private record SensorFragments(String sensorId, String type, String unit, String firmware, byte[] afterEventId, byte[] afterValue,
            byte[] afterBattery)
    {
        SensorFragments(String sensorId, String type, String unit, String firmware)
        {
            this(sensorId, type, unit, firmware,
                    ascii("\",\"sensorId\":\"" + sensorId + "\",\"type\":\"" + type + "\",\"value\":"),
                    ascii(",\"unit\":\"" + unit + "\",\"timestamp\":\""),
                    ascii(",\"firmware\":\"" + firmware + "\"}"));
        }

        boolean matches(SensorReading reading)
        {
            return type.equals(reading.type()) && unit.equals(reading.unit()) && firmware.equals(reading.firmware());
        }
    }

    private static byte[] ascii(String text)
    {
        return text.getBytes(StandardCharsets.US_ASCII);
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
        try {
            generator.writeStartObject();
            if (!"eventId".equals(omittedField)) {
                generator.writeFieldName(EVENT_ID);
                generator.writeString(reading.eventId());
            }
            writeRepeated(SENSOR_ID, omittedField, reading.sensorId());
            writeRepeated(TYPE, omittedField, reading.type());
            if (!"value".equals(omittedField)) {
                generator.writeFieldName(VALUE);
                if (rawValue != null) {
                    generator.writeRawValue(rawValue);
                }
                else {
                    writeNumber(reading.value());
                }
            }
            writeRepeated(UNIT, omittedField, reading.unit());
            if (!"timestamp".equals(omittedField)) {
                generator.writeFieldName(TIMESTAMP);
                generator.writeString(formatTimestamp(reading.timestamp()));
            }
            if (!"seq".equals(omittedField)) {
                generator.writeFieldName(SEQ);
                generator.writeNumber(reading.seq());
            }
            if (!"battery".equals(omittedField)) {
                generator.writeFieldName(BATTERY);
                writeNumber(reading.battery());
            }
            writeRepeated(FIRMWARE, omittedField, reading.firmware());
            generator.writeEndObject();
            generator.flush();
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }

    /**
     * Writes a double as {@link Double#toString} would, faster for the common case of a value with at most two
     * decimals (readings are rounded to hundredths): digits of the whole number of hundredths, no floating-point
     * formatting. The output is identical (checked for every hundredth up to ±25,000 in SensorJsonTest).
     */
    private void writeNumber(double value)
            throws IOException
    {
        if (Math.abs(value) < 1e7) {
            long hundredths = Math.round(value * 100.0);
            if (hundredths != 0 && hundredths / 100.0 == value) {
                generator.writeNumber(digits, 0, formatHundredths(hundredths, digits));
                return;
            }
        }
        generator.writeNumber(value);
    }

    /** Writes {@code hundredths / 100} in Double.toString's plain form (21.36, 21.3, 21.0, -0.05); returns the length. */
    static int formatHundredths(long hundredths, char[] out)
    {
        int length = 0;
        long magnitude = Math.abs(hundredths);
        if (hundredths < 0) {
            out[length++] = '-';
        }
        String whole = Long.toString(magnitude / 100);
        whole.getChars(0, whole.length(), out, length);
        length += whole.length();
        out[length++] = '.';
        int fraction = (int) (magnitude % 100);
        out[length++] = (char) ('0' + fraction / 10);
        if (fraction % 10 != 0) {
            out[length++] = (char) ('0' + fraction % 10);
        }
        return length;
    }

    /**
     * Writes a value that recurs across records (a sensorId, a type, a unit, a firmware version) from a cache of
     * pre-encoded strings: a byte copy instead of escaping and encoding the same characters again.
     */
    private void writeRepeated(SerializedString field, String omittedField, String value)
            throws IOException
    {
        if (field.getValue().equals(omittedField)) {
            return;
        }
        generator.writeFieldName(field);
        SerializedString encoded = repeatedValues.get(value);
        if (encoded == null) {
            if (repeatedValues.size() >= MAX_CACHED_VALUES) {
                generator.writeString(value);
                return;
            }
            encoded = new SerializedString(value);
            repeatedValues.put(value, encoded);
        }
        generator.writeString(encoded);
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
        Instant timestamp;
        try {
            timestamp = Instant.parse(text(root, "timestamp"));
        }
        catch (DateTimeParseException e) {
            throw new InvalidEventException(RejectReason.WRONG_TYPE, "'timestamp' is not an ISO-8601 instant: " + root.get("timestamp"));
        }
        // Type errors before values: the order of RejectReason, which the streaming job follows too.
        double value = valueNode.doubleValue();
        if (!Double.isFinite(value)) {
            throw new InvalidEventException(RejectReason.NON_FINITE, "'value' is " + value);
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

    /** {@link #decode} for payloads known to be valid, such as the generator's own output. */
    static SensorReading decodeUnchecked(byte[] payload)
    {
        try {
            return decode(payload);
        }
        catch (InvalidEventException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
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
        long seconds = instant.getEpochSecond();
        long day = Math.floorDiv(seconds, 86_400);
        int secondOfDay = (int) Math.floorMod(seconds, 86_400);
        char[] out = new char[24];
        if (!datePrefix(day, out)) {
            return instant.toString();
        }
        out[10] = 'T';
        digits(out, 11, secondOfDay / 3600, 2);
        out[13] = ':';
        digits(out, 14, secondOfDay / 60 % 60, 2);
        out[16] = ':';
        digits(out, 17, secondOfDay % 60, 2);
        out[19] = '.';
        digits(out, 20, instant.getNano() / 1_000_000, 3);
        out[23] = 'Z';
        return new String(out);
    }

    /** Writes yyyy-MM-dd of an epoch day; consecutive events share a day, so the last one is kept. False past 9999. */
    private static boolean datePrefix(long day, char[] out)
    {
        CachedDay cached = lastDay;
        if (cached == null || cached.day() != day) {
            LocalDate date = LocalDate.ofEpochDay(day);
            if (date.getYear() < 0 || date.getYear() > 9999) {
                return false;
            }
            char[] text = new char[10];
            digits(text, 0, date.getYear(), 4);
            text[4] = '-';
            digits(text, 5, date.getMonthValue(), 2);
            text[7] = '-';
            digits(text, 8, date.getDayOfMonth(), 2);
            cached = new CachedDay(day, text);
            lastDay = cached;
        }
        System.arraycopy(cached.text(), 0, out, 0, 10);
        return true;
    }

    private record CachedDay(long day, char[] text) {}

    private static void digits(char[] out, int offset, int value, int width)
    {
        for (int position = offset + width - 1; position >= offset; position--) {
            out[position] = (char) ('0' + value % 10);
            value /= 10;
        }
    }
}
