package io.sensorpipeline.common;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;

import static java.util.Objects.requireNonNull;

/**
 * The stream the producer sends: the fleet's readings with faults, duplicates, late and out-of-order events mixed in
 * as a {@link FaultPlan} asks. Deterministic: the n-th record depends only on the seed, the simulator and the plan,
 * never on time or pacing. Not thread-safe; one stream per producer thread.
 */
public final class EventStream
{
    private static final int RECENT = 256;
    private static final String[] WRONG_TYPED_VALUES = {"\"hot\"", "\"n/a\"", "true", "\"ERR\"", "{\"v\":1}"};
    private static final String[] NON_FINITE_VALUES = {"NaN", "Infinity", "-Infinity"};
    private static final String[] UNKNOWN_TYPES = {"radiation", "noise-level", "thermometer", ""};
    private static final String UTF8_MARKER = "~~~";

    private final FleetSimulator simulator;
    private final FaultPlan plan;
    private final long seed;
    private final SensorJson json = new SensorJson();
    private final byte[][] keys;
    private final StreamRecord[] recent = new StreamRecord[RECENT];
    private int recentCount;
    private long nextReadingIndex;
    private long position;

    public EventStream(FleetSimulator simulator, FaultPlan plan, long seed)
    {
        this.simulator = requireNonNull(simulator, "simulator is null");
        this.plan = requireNonNull(plan, "plan is null");
        this.seed = seed;
        this.keys = new byte[simulator.fleetSize()][];
        for (int index = 0; index < keys.length; index++) {
            keys[index] = simulator.sensor(index).sensorId().getBytes(StandardCharsets.UTF_8);
        }
    }

    /** How many records this stream has produced. */
    public long position()
    {
        return position;
    }

    public StreamRecord next()
    {
        SplittableRandom random = new SplittableRandom(FleetSimulator.mix(seed ^ 0x00FA_017EL, position));
        position++;
        double draw = random.nextDouble();
        if (draw < plan.duplicateRatio() && recentCount > 0) {
            StreamRecord original = recent[random.nextInt(Math.min(recentCount, RECENT))];
            return new StreamRecord(original.key(), original.value(), original.sensorId(), original.eventId(),
                    original.eventTime(), StreamRecord.Kind.DUPLICATE, null);
        }
        SensorReading reading = nextReading();
        int sensorIndex = (int) ((nextReadingIndex - 1) % keys.length);
        if (draw >= plan.duplicateRatio() && draw < plan.duplicateRatio() + plan.malformedRatio()) {
            FaultKind[] kinds = FaultKind.values();
            return malformed(kinds[random.nextInt(kinds.length)], reading, keys[sensorIndex], random);
        }
        StreamRecord.Kind kind = StreamRecord.Kind.VALID;
        if (draw >= plan.duplicateRatio() + plan.malformedRatio() && draw < plan.duplicateRatio() + plan.malformedRatio() + plan.lateRatio()) {
            kind = StreamRecord.Kind.LATE;
            reading = reading.withTimestamp(reading.timestamp().minusMillis(120_000 + random.nextLong(480_000)));
        }
        else if (plan.outOfOrderMillis() > 0) {
            reading = reading.withTimestamp(reading.timestamp().minusMillis(random.nextLong(plan.outOfOrderMillis() + 1)));
        }
        StreamRecord record = new StreamRecord(keys[sensorIndex], json.encode(reading), reading.sensorId(),
                reading.eventId(), reading.timestamp(), kind, null);
        recent[recentCount % RECENT] = record;
        recentCount++;
        return record;
    }

    /** The next reading that is not lost to a dropout; afterwards {@code nextReadingIndex - 1} is its index. */
    private SensorReading nextReading()
    {
        while (true) {
            Optional<SensorReading> reading = simulator.reading(nextReadingIndex++);
            if (reading.isPresent()) {
                return reading.get();
            }
        }
    }

    private StreamRecord malformed(FaultKind fault, SensorReading reading, byte[] key, SplittableRandom random)
    {
        SensorType type = SensorType.fromWireName(reading.type()).orElseThrow();
        byte[] value;
        switch (fault) {
            case TRUNCATED_JSON -> {
                byte[] full = json.encode(reading);
                value = Arrays.copyOf(full, 1 + random.nextInt(full.length - 2));
            }
            case NOT_JSON -> value = String.format(Locale.ROOT, "%s %s %s=%s seq=%d",
                    SensorJson.formatTimestamp(reading.timestamp()), reading.sensorId(), reading.type(), reading.value(), reading.seq())
                    .getBytes(StandardCharsets.UTF_8);
            case NOT_UTF8 -> value = withInvalidUtf8(json.encode(withFirmware(reading, UTF8_MARKER)));
            case EMPTY_PAYLOAD -> value = new byte[0];
            case WRONG_TYPE -> value = json.encodeVariant(reading, null, WRONG_TYPED_VALUES[random.nextInt(WRONG_TYPED_VALUES.length)]);
            case MISSING_FIELD -> value = json.encodeVariant(reading, SensorJson.REQUIRED_FIELDS.get(random.nextInt(SensorJson.REQUIRED_FIELDS.size())), null);
            case UNKNOWN_TYPE -> value = json.encode(reading.withType(UNKNOWN_TYPES[random.nextInt(UNKNOWN_TYPES.length)]));
            case UNKNOWN_SENSOR -> {
                reading = reading.withSensorId(SensorCatalog.sensorId(SensorCatalog.MAX_SENSORS + random.nextInt(9_999)));
                key = reading.sensorId().getBytes(StandardCharsets.UTF_8);
                value = json.encode(reading);
            }
            case NON_FINITE -> value = json.encodeVariant(reading, null, NON_FINITE_VALUES[random.nextInt(NON_FINITE_VALUES.length)]);
            case OUT_OF_RANGE -> {
                double span = type.maximum() - type.minimum();
                double canonical = random.nextBoolean()
                        ? type.maximum() + span * (0.1 + random.nextDouble())
                        : type.minimum() - span * (0.1 + random.nextDouble());
                value = json.encode(reading.withValue(Math.round(type.fromCanonicalUnit(canonical, reading.unit()) * 100.0) / 100.0));
            }
            case FUTURE_TIMESTAMP -> {
                reading = reading.withTimestamp(reading.timestamp().plus(Duration.ofDays(1 + random.nextInt(30))));
                value = json.encode(reading);
            }
            default -> throw new IllegalStateException("unhandled fault kind " + fault);
        }
        return new StreamRecord(key, value, reading.sensorId(), reading.eventId(), reading.timestamp(), StreamRecord.Kind.MALFORMED, fault);
    }

    private static SensorReading withFirmware(SensorReading reading, String firmware)
    {
        return new SensorReading(reading.eventId(), reading.sensorId(), reading.type(), reading.value(), reading.unit(),
                reading.timestamp(), reading.seq(), reading.battery(), firmware);
    }

    /** Replaces the marker with bytes no UTF-8 decoder accepts: a lone continuation byte and 0xFF. */
    private static byte[] withInvalidUtf8(byte[] payload)
    {
        byte[] marker = UTF8_MARKER.getBytes(StandardCharsets.US_ASCII);
        for (int start = 0; start + marker.length <= payload.length; start++) {
            if (payload[start] == marker[0] && payload[start + 1] == marker[1] && payload[start + 2] == marker[2]) {
                byte[] copy = payload.clone();
                copy[start] = (byte) 0xC3;
                copy[start + 1] = (byte) 0x28;
                copy[start + 2] = (byte) 0xFF;
                return copy;
            }
        }
        throw new IllegalStateException("marker not found in payload");
    }
}
