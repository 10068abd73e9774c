package io.sensorpipeline.common;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * The physics of the fleet: what sensor {@code s} reads in its reporting slot {@code k}, as a pure function of the seed,
 * the sensor and the slot (after the flink-training generators: every field comes from a random source seeded by the
 * event's own index). The same seed, start and interval therefore give the same readings, byte for byte, however fast
 * they are sent and in whatever chunks they are asked for.
 *
 * <p>Reading index {@code i} is slot {@code i / n} of sensor {@code i % n}. Each sensor reports once per interval at its
 * own phase, so timestamps interleave across sensors. The signal is a typical level per sensor, a daily cycle in local
 * solar time, a slow drift and Gaussian noise. Real faults appear on their own: rare spikes, sensors stuck on one value
 * for a ten-minute block, and dropouts, blocks in which a sensor sends nothing (its {@code seq} then skips).
 */
public final class FleetSimulator
{
    static final double SPIKE_PROBABILITY = 0.0005;
    static final double STUCK_PROBABILITY = 0.003;
    static final double DROPOUT_PROBABILITY = 0.003;
    private static final long BLOCK_MILLIS = Duration.ofMinutes(10).toMillis();
    private static final double MILLIS_PER_DAY = 86_400_000.0;

    private final List<Sensor> sensors;
    private final long seed;
    private final long startMillis;
    private final long eventIdSalt;
    private final long intervalMillis;
    private final long slotsPerBlock;
    private final double[] phase;
    private final double[] levelOffset;
    private final double[] driftPerDay;
    private final double[] batteryStart;
    private final String[] firmware;

    public FleetSimulator(SensorCatalog fleet, long seed, Instant start, Duration interval)
    {
        requireNonNull(fleet, "fleet is null");
        requireNonNull(start, "start is null");
        requireNonNull(interval, "interval is null");
        if (interval.toMillis() < 1) {
            throw new IllegalArgumentException("the reporting interval must be at least 1 ms but was " + interval);
        }
        this.sensors = fleet.sensors();
        this.seed = seed;
        this.startMillis = start.toEpochMilli();
        this.eventIdSalt = mix(seed, startMillis);
        this.intervalMillis = interval.toMillis();
        this.slotsPerBlock = Math.max(1, BLOCK_MILLIS / intervalMillis);
        int count = sensors.size();
        this.phase = new double[count];
        this.levelOffset = new double[count];
        this.driftPerDay = new double[count];
        this.batteryStart = new double[count];
        this.firmware = new String[count];
        for (int index = 0; index < count; index++) {
            SplittableRandom random = new SplittableRandom(mix(seed, 0x5EED_0000L + index));
            SensorType type = sensors.get(index).type();
            phase[index] = random.nextDouble();
            levelOffset[index] = (random.nextDouble() - 0.5) * type.dailySwing();
            driftPerDay[index] = (random.nextDouble() - 0.5) * 0.2 * type.dailySwing();
            batteryStart[index] = 0.6 + 0.4 * random.nextDouble();
            firmware[index] = SensorCatalog.firmwareOf(index);
        }
    }

    public int fleetSize()
    {
        return sensors.size();
    }

    public Sensor sensor(int sensorIndex)
    {
        return sensors.get(sensorIndex);
    }

    public long intervalMillis()
    {
        return intervalMillis;
    }

    /** The reading with this index, or empty when its sensor is in a dropout. */
    public Optional<SensorReading> reading(long index)
    {
        if (index < 0) {
            throw new IllegalArgumentException("reading index must not be negative: " + index);
        }
        int sensorIndex = (int) (index % sensors.size());
        long slot = index / sensors.size();
        long block = slot / slotsPerBlock;
        double blockDraw = new SplittableRandom(mix(seed, mix(sensorIndex, block))).nextDouble();
        if (blockDraw >= STUCK_PROBABILITY && blockDraw < STUCK_PROBABILITY + DROPOUT_PROBABILITY) {
            return Optional.empty();
        }
        Sensor sensor = sensors.get(sensorIndex);
        SensorType type = sensor.type();
        SplittableRandom random = new SplittableRandom(mix(seed, index));
        // The eventId also depends on the start time: two runs with the same seed but another start are other events,
        // not duplicates of each other.
        UUID eventId = new UUID((mix(eventIdSalt, index) & ~0xF000L) | 0x4000L, (mix(~eventIdSalt, index) & 0x3FFF_FFFF_FFFF_FFFFL) | Long.MIN_VALUE);
        long jitter = (long) (random.nextDouble() * 0.05 * intervalMillis);
        long eventMillis = startMillis + slot * intervalMillis + (long) (phase[sensorIndex] * intervalMillis) + jitter;

        double canonical;
        if (blockDraw < STUCK_PROBABILITY) {
            // A stuck sensor repeats the value it had when it got stuck, without noise, for the whole block.
            long blockStartMillis = startMillis + block * slotsPerBlock * intervalMillis;
            canonical = signal(sensorIndex, sensor, blockStartMillis);
        }
        else {
            canonical = signal(sensorIndex, sensor, eventMillis) + gaussian(random) * type.noise();
            if (random.nextDouble() < SPIKE_PROBABILITY) {
                double sign = random.nextBoolean() ? 1.0 : -1.0;
                canonical += sign * (6.0 + 4.0 * random.nextDouble()) * type.dailySwing();
            }
        }
        canonical = Math.max(type.minimum(), Math.min(type.maximum(), canonical));
        double reported = round2(type.fromCanonicalUnit(canonical, sensor.unit()));
        // Rounding Fahrenheit can step just outside the range in Celsius; stay a real measurement.
        while (!type.inPhysicalRange(reported, sensor.unit())) {
            reported = round2(reported + (canonical < type.minimum() + 1 ? 0.01 : -0.01));
        }
        double battery = Math.max(0.05, round2(batteryStart[sensorIndex] - slot * 1.0e-6));
        return Optional.of(new SensorReading(
                eventId.toString(),
                sensor.sensorId(),
                type.wireName(),
                reported,
                sensor.unit(),
                Instant.ofEpochMilli(eventMillis),
                slot,
                battery,
                firmware[sensorIndex]));
    }

    private double signal(int sensorIndex, Sensor sensor, long epochMillis)
    {
        SensorType type = sensor.type();
        // Local solar time: the daily cycle peaks in the afternoon wherever the site is.
        double localDays = (epochMillis + sensor.longitude() / 15.0 * 3_600_000.0) / MILLIS_PER_DAY;
        double dayFraction = localDays - Math.floor(localDays);
        double daily = type.dailySwing() * Math.sin(2 * Math.PI * (dayFraction - 0.375));
        double drift = driftPerDay[sensorIndex] * (epochMillis - startMillis) / MILLIS_PER_DAY;
        return type.typicalLevel() + levelOffset[sensorIndex] + daily + drift;
    }

    /**
     * A standard normal draw, approximated by the sum of four uniforms (Irwin-Hall, scaled to variance 1): close enough
     * for sensor noise, and several times cheaper than {@code nextGaussian} on the generator's hot path.
     */
    private static double gaussian(SplittableRandom random)
    {
        double sum = random.nextDouble() + random.nextDouble() + random.nextDouble() + random.nextDouble();
        return (sum - 2.0) * Math.sqrt(3.0);
    }

    private static double round2(double value)
    {
        return Math.round(value * 100.0) / 100.0;
    }

    /** A 64-bit mix of two values (SplitMix64's finaliser), so nearby indexes get unrelated random streams. */
    static long mix(long first, long second)
    {
        long z = first * 0x9E37_79B9_7F4A_7C15L + second;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
