package io.sensorpipeline.common;

import java.time.LocalDate;

import static java.util.Objects.requireNonNull;

/**
 * One row of the sensor metadata ({@code data/sensors.csv}), the dimension the streaming job joins on.
 * Ranges, alert band and calibration offset are in the type's canonical unit, whatever unit the sensor reports in.
 *
 * @param unit the unit the device reports in: the type's canonical unit, or {@code F} for some temperature sensors
 * @param validMin the lowest value the device is rated to measure
 * @param alertLow readings below this raise an alert
 * @param calibrationOffset added to every reading (after unit conversion) to correct the device's bias
 */
public record Sensor(
        String sensorId,
        SensorType type,
        String siteId,
        String building,
        int floor,
        double latitude,
        double longitude,
        String unit,
        double validMin,
        double validMax,
        double alertLow,
        double alertHigh,
        double calibrationOffset,
        LocalDate installedDate)
{
    public Sensor
    {
        requireNonNull(sensorId, "sensorId is null");
        requireNonNull(type, "type is null");
        requireNonNull(siteId, "siteId is null");
        requireNonNull(building, "building is null");
        requireNonNull(unit, "unit is null");
        requireNonNull(installedDate, "installedDate is null");
        if (!type.acceptsUnit(unit)) {
            throw new IllegalArgumentException("sensor " + sensorId + ": unit '" + unit + "' is not a unit of " + type.wireName());
        }
        if (!(validMin < validMax) || !(alertLow < alertHigh)) {
            throw new IllegalArgumentException("sensor " + sensorId + ": empty valid range or alert band");
        }
    }
}
