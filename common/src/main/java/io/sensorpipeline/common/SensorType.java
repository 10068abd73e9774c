package io.sensorpipeline.common;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * The kinds of sensor in the fleet, with the unit each reports in and the range the physical quantity can take.
 * A reading outside {@link #minimum()}..{@link #maximum()} (in the canonical unit) is not a measurement but a fault.
 */
public enum SensorType
{
    // name on the wire, canonical unit, physical range, typical level, daily swing, noise (all in the canonical unit)
    TEMPERATURE("temperature", "C", -40.0, 85.0, 21.0, 3.0, 0.15),
    HUMIDITY("humidity", "%", 0.0, 100.0, 45.0, 8.0, 0.6),
    PRESSURE("pressure", "hPa", 870.0, 1085.0, 1013.0, 1.5, 0.3),
    CO2("co2", "ppm", 250.0, 10000.0, 650.0, 180.0, 12.0),
    VIBRATION("vibration", "mm/s", 0.0, 100.0, 2.5, 1.2, 0.25);

    private final String wireName;
    private final String unit;
    private final double minimum;
    private final double maximum;
    private final double typicalLevel;
    private final double dailySwing;
    private final double noise;

    SensorType(String wireName, String unit, double minimum, double maximum, double typicalLevel, double dailySwing, double noise)
    {
        this.wireName = wireName;
        this.unit = unit;
        this.minimum = minimum;
        this.maximum = maximum;
        this.typicalLevel = typicalLevel;
        this.dailySwing = dailySwing;
        this.noise = noise;
    }

    /** The value of the event's {@code type} field. */
    public String wireName()
    {
        return wireName;
    }

    /** The unit a reading of this type is stored in after normalisation. */
    public String unit()
    {
        return unit;
    }

    public double minimum()
    {
        return minimum;
    }

    public double maximum()
    {
        return maximum;
    }

    public double typicalLevel()
    {
        return typicalLevel;
    }

    public double dailySwing()
    {
        return dailySwing;
    }

    public double noise()
    {
        return noise;
    }

    /** Whether {@code value}, given in {@code unit}, is a physically possible reading of this type. */
    public boolean inPhysicalRange(double value, String unit)
    {
        double canonical = toCanonicalUnit(value, unit);
        return canonical >= minimum && canonical <= maximum;
    }

    /** Converts a value reported in {@code unit} into this type's canonical unit; only temperature has another unit. */
    public double toCanonicalUnit(double value, String unit)
    {
        if (this == TEMPERATURE && "F".equals(unit)) {
            return (value - 32.0) * 5.0 / 9.0;
        }
        return value;
    }

    /** The reverse of {@link #toCanonicalUnit}: a canonical value as a sensor configured for {@code unit} reports it. */
    public double fromCanonicalUnit(double canonicalValue, String unit)
    {
        if (this == TEMPERATURE && "F".equals(unit)) {
            return canonicalValue * 9.0 / 5.0 + 32.0;
        }
        return canonicalValue;
    }

    /** The units a sensor of this type may report in: the canonical one, and Fahrenheit for temperature. */
    public boolean acceptsUnit(String unit)
    {
        return this.unit.equals(unit) || (this == TEMPERATURE && "F".equals(unit));
    }

    public static Optional<SensorType> fromWireName(String wireName)
    {
        if (wireName == null) {
            return Optional.empty();
        }
        String lower = wireName.toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(type -> type.wireName.equals(lower)).findFirst();
    }
}
