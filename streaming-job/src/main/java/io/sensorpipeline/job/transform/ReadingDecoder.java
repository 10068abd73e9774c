package io.sensorpipeline.job.transform;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import io.sensorpipeline.common.RejectReason;
import io.sensorpipeline.common.SensorType;

import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Reads one Kafka value in one pass and decides what it is: a valid reading, or a reject with the first fault in
 * {@link RejectReason}'s order and a detail a person can act on. Plain Java, no Spark: {@link Decoding} runs it once
 * per record, which is several times cheaper than Spark's {@code from_json} (see docs/streaming-job-design.md).
 *
 * <p>The payload must be UTF-8 and one JSON object. Required: eventId, sensorId, type, timestamp (strings) and value
 * (a number); optional: unit and firmware (strings), seq (an integer), battery (a number). A field of the wrong JSON
 * type is WRONG_TYPE, JSON null counts as absent, other fields are ignored, and the last of repeated fields wins. The
 * timestamp is ISO-8601 with an offset and up to nine fraction digits (kept to the microsecond, Spark's precision).
 * The type matches case-insensitively and is stored by its wire name. FUTURE_TIMESTAMP compares the event time with
 * the record's Kafka timestamp, not with the clock, so a re-run of a micro-batch classifies every record as before.
 */
public final class ReadingDecoder
        implements Serializable
{
    private static final long serialVersionUID = 1L;

    private static final int DETAIL_PREFIX = 120;
    private static final List<String> REQUIRED = List.of("eventId", "sensorId", "type", "value", "timestamp");

    // Broken firmware sends NaN and Infinity as bare tokens: they parse, and are then NON_FINITE, not MALFORMED_JSON.
    private static final JsonFactory FACTORY = new JsonFactoryBuilder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private final Set<String> knownSensors;
    private final long futureToleranceMicros;
    private final String futureTolerance;

    public ReadingDecoder(Set<String> knownSensors, Duration futureTolerance)
    {
        this.knownSensors = Set.copyOf(requireNonNull(knownSensors, "knownSensors is null"));
        this.futureToleranceMicros = requireNonNull(futureTolerance, "futureTolerance is null").toNanos() / 1000;
        this.futureTolerance = futureTolerance.toString();
    }

    /** A decoded record: the reading's fields (null when absent or unreadable), and a reason and detail for a reject. */
    public static final class Decoded
    {
        public String eventId;
        public String sensorId;
        public String type;
        public Double value;
        public String unit;
        public String timestampText;
        public Long timestampMicros;
        public Long seq;
        public Double battery;
        public String firmware;
        public RejectReason reason;
        public String detail;
        /** For a reject: the payload as text when it is UTF-8, else base64, so nothing is lost; null for a reading. */
        public String payload;
        /** {@code utf-8}, {@code base64} or {@code null} (the record had no value at all); null for a reading. */
        public String payloadEncoding;

        private final List<String> wrongTypes = new ArrayList<>(1);

        public boolean valid()
        {
            return reason == null;
        }
    }

    public Decoded decode(byte[] payload, long kafkaTimestampMicros)
    {
        Decoded decoded = new Decoded();
        String text = utf8(payload);
        if (payload == null || payload.length == 0) {
            return reject(decoded, payload, text, RejectReason.MALFORMED_JSON, "empty payload");
        }
        if (text == null) {
            return reject(decoded, payload, null, RejectReason.MALFORMED_JSON, "payload is not valid UTF-8");
        }
        if (!readFields(payload, decoded)) {
            return reject(decoded, payload, text, RejectReason.MALFORMED_JSON, "not a JSON object: " + prefix(text));
        }
        List<String> missing = new ArrayList<>(0);
        for (String field : REQUIRED) {
            if (isAbsent(decoded, field)) {
                missing.add(field);
            }
        }
        if (!missing.isEmpty()) {
            return reject(decoded, payload, text, RejectReason.MISSING_FIELD, "missing required field: " + String.join(", ", missing));
        }
        if (!decoded.wrongTypes.isEmpty()) {
            return reject(decoded, payload, text, RejectReason.WRONG_TYPE, String.join("; ", decoded.wrongTypes));
        }
        decoded.timestampMicros = parseTimestamp(decoded.timestampText);
        if (decoded.timestampMicros == null) {
            return reject(decoded, payload, text, RejectReason.WRONG_TYPE,
                    "'timestamp' is not an ISO-8601 instant with an offset: " + decoded.timestampText);
        }
        double value = decoded.value;
        if (!Double.isFinite(value)) {
            return reject(decoded, payload, text, RejectReason.NON_FINITE, "'value' is " + value);
        }
        Optional<SensorType> type = SensorType.fromWireName(decoded.type);
        if (type.isEmpty()) {
            return reject(decoded, payload, text, RejectReason.UNKNOWN_TYPE, "unknown sensor type '" + decoded.type + "'");
        }
        decoded.type = type.get().wireName();
        if (!knownSensors.contains(decoded.sensorId)) {
            return reject(decoded, payload, text, RejectReason.UNKNOWN_SENSOR, "sensor '" + decoded.sensorId + "' is not in the sensor metadata");
        }
        if (!type.get().inPhysicalRange(value, decoded.unit)) {
            return reject(decoded, payload, text, RejectReason.OUT_OF_RANGE,
                    "value " + value + " " + decoded.unit + " is outside the physical range of " + decoded.type);
        }
        if (decoded.timestampMicros > kafkaTimestampMicros + futureToleranceMicros) {
            return reject(decoded, payload, text, RejectReason.FUTURE_TIMESTAMP, "timestamp " + decoded.timestampText + " is more than "
                    + futureTolerance + " ahead of the Kafka timestamp " + Instant.EPOCH.plusNanos(kafkaTimestampMicros * 1000));
        }
        return decoded;
    }

    /** Reads the top-level fields into {@code decoded}; false when the payload is not exactly one JSON object. */
    private static boolean readFields(byte[] payload, Decoded decoded)
    {
        try (JsonParser parser = FACTORY.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken token = parser.nextToken();
                switch (field) {
                    case "eventId" -> decoded.eventId = string(parser, token, field, decoded);
                    case "sensorId" -> decoded.sensorId = string(parser, token, field, decoded);
                    case "type" -> decoded.type = string(parser, token, field, decoded);
                    case "unit" -> decoded.unit = string(parser, token, field, decoded);
                    case "timestamp" -> decoded.timestampText = string(parser, token, field, decoded);
                    case "firmware" -> decoded.firmware = string(parser, token, field, decoded);
                    case "value" -> decoded.value = number(parser, token, field, decoded);
                    case "battery" -> decoded.battery = number(parser, token, field, decoded);
                    case "seq" -> {
                        if (token == JsonToken.VALUE_NUMBER_INT) {
                            decoded.seq = parser.getLongValue();
                        }
                        else {
                            decoded.seq = null;
                            wrongType(parser, token, field, "an integer", decoded);
                        }
                    }
                    default -> parser.skipChildren();
                }
            }
            // The object must have closed, with nothing but whitespace after it.
            return parser.currentToken() == JsonToken.END_OBJECT && parser.nextToken() == null;
        }
        catch (IOException e) {
            // Jackson reports truncated and invalid JSON, and numbers out of a long's range, as parse errors.
            return false;
        }
    }

    private static String string(JsonParser parser, JsonToken token, String field, Decoded decoded)
            throws IOException
    {
        if (token == JsonToken.VALUE_STRING) {
            return parser.getText();
        }
        wrongType(parser, token, field, "a string", decoded);
        return null;
    }

    private static Double number(JsonParser parser, JsonToken token, String field, Decoded decoded)
            throws IOException
    {
        if (token == JsonToken.VALUE_NUMBER_FLOAT || token == JsonToken.VALUE_NUMBER_INT) {
            return parser.getDoubleValue();
        }
        wrongType(parser, token, field, "a number", decoded);
        return null;
    }

    /** Notes a field of the wrong JSON type; JSON null is not a wrong type but an absent field. */
    private static void wrongType(JsonParser parser, JsonToken token, String field, String expected, Decoded decoded)
            throws IOException
    {
        if (token == JsonToken.VALUE_NULL) {
            return;
        }
        String kind = switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            default -> "a number";
        };
        decoded.wrongTypes.add("'" + field + "' is " + kind + ", not " + expected);
        parser.skipChildren();
    }

    private static boolean isAbsent(Decoded decoded, String field)
    {
        // A field whose value had the wrong type is present: it is a WRONG_TYPE, not a MISSING_FIELD.
        boolean wrongTyped = decoded.wrongTypes.stream().anyMatch(message -> message.startsWith("'" + field + "' "));
        Object value = switch (field) {
            case "eventId" -> decoded.eventId;
            case "sensorId" -> decoded.sensorId;
            case "type" -> decoded.type;
            case "value" -> decoded.value;
            case "timestamp" -> decoded.timestampText;
            default -> throw new IllegalArgumentException(field);
        };
        return value == null && !wrongTyped;
    }

    private static Decoded reject(Decoded decoded, byte[] payload, String text, RejectReason reason, String detail)
    {
        decoded.reason = reason;
        decoded.detail = detail;
        if (payload == null) {
            decoded.payloadEncoding = "null";
        }
        else if (text == null) {
            decoded.payload = Base64.getEncoder().encodeToString(payload);
            decoded.payloadEncoding = "base64";
        }
        else {
            decoded.payload = text;
            decoded.payloadEncoding = "utf-8";
        }
        return decoded;
    }

    /** The payload as text, or null when it is null or not valid UTF-8. Pure ASCII, the usual case, needs no decoder. */
    static String utf8(byte[] payload)
    {
        if (payload == null) {
            return null;
        }
        boolean ascii = true;
        for (byte b : payload) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(payload, StandardCharsets.ISO_8859_1);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(payload))
                    .toString();
        }
        catch (CharacterCodingException e) {
            return null;
        }
    }

    private static String prefix(String text)
    {
        return text.length() <= DETAIL_PREFIX ? text : text.substring(0, DETAIL_PREFIX);
    }

    /**
     * Microseconds since the epoch of {@code yyyy-MM-ddTHH:mm:ss[.fraction](Z|+HH:MM|-HH:MM)}, with one to nine
     * fraction digits; null for anything else, including impossible dates and times.
     */
    static Long parseTimestamp(String text)
    {
        if (text == null || text.length() < 20) {
            return null;
        }
        int year = digits(text, 0, 4);
        int month = digits(text, 5, 2);
        int day = digits(text, 8, 2);
        int hour = digits(text, 11, 2);
        int minute = digits(text, 14, 2);
        int second = digits(text, 17, 2);
        if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0
                || text.charAt(4) != '-' || text.charAt(7) != '-' || text.charAt(10) != 'T' || text.charAt(13) != ':' || text.charAt(16) != ':'
                || hour > 23 || minute > 59 || second > 59) {
            return null;
        }
        int position = 19;
        long micros = 0;
        if (text.charAt(position) == '.') {
            int start = ++position;
            while (position < text.length() && Character.isDigit(text.charAt(position))) {
                if (position - start < 6) {
                    micros = micros * 10 + (text.charAt(position) - '0');
                }
                position++;
            }
            int fractionDigits = position - start;
            if (fractionDigits == 0 || fractionDigits > 9) {
                return null;
            }
            for (int scale = fractionDigits; scale < 6; scale++) {
                micros *= 10;
            }
        }
        int offsetSeconds;
        int rest = text.length() - position;
        if (rest == 1 && text.charAt(position) == 'Z') {
            offsetSeconds = 0;
        }
        else if (rest == 6 && (text.charAt(position) == '+' || text.charAt(position) == '-') && text.charAt(position + 3) == ':') {
            int offsetHours = digits(text, position + 1, 2);
            int offsetMinutes = digits(text, position + 4, 2);
            if (offsetHours < 0 || offsetMinutes < 0 || offsetHours > 18 || offsetMinutes > 59) {
                return null;
            }
            offsetSeconds = (text.charAt(position) == '-' ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
        }
        else {
            return null;
        }
        long epochDay;
        try {
            epochDay = LocalDate.of(year, month, day).toEpochDay();
        }
        catch (DateTimeException e) {
            return null;
        }
        long epochSecond = epochDay * 86_400 + hour * 3600L + minute * 60L + second - offsetSeconds;
        return epochSecond * 1_000_000 + micros;
    }

    /** The non-negative number written by {@code length} ASCII digits at {@code start}, or -1. */
    private static int digits(String text, int start, int length)
    {
        int number = 0;
        for (int index = start; index < start + length; index++) {
            char c = text.charAt(index);
            if (c < '0' || c > '9') {
                return -1;
            }
            number = number * 10 + (c - '0');
        }
        return number;
    }
}
