package io.sensorpipeline.common;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * One reading as it travels on the topic. The JSON form is written and read by {@link SensorJson}.
 *
 * @param eventId unique per reading; a re-sent reading keeps it, which is how duplicates are recognised
 * @param seq per-sensor sequence number of the reporting slot; a gap means readings were never sent (a dropout)
 */
public record SensorReading(
        String eventId,
        String sensorId,
        String type,
        double value,
        String unit,
        Instant timestamp,
        long seq,
        double battery,
        String firmware)
{
    public SensorReading
    {
        requireNonNull(eventId, "eventId is null");
        requireNonNull(sensorId, "sensorId is null");
        requireNonNull(type, "type is null");
        requireNonNull(unit, "unit is null");
        requireNonNull(timestamp, "timestamp is null");
        requireNonNull(firmware, "firmware is null");
    }

    public SensorReading withValue(double newValue)
    {
        return new SensorReading(eventId, sensorId, type, newValue, unit, timestamp, seq, battery, firmware);
    }

    public SensorReading withTimestamp(Instant newTimestamp)
    {
        return new SensorReading(eventId, sensorId, type, value, unit, newTimestamp, seq, battery, firmware);
    }

    public SensorReading withSensorId(String newSensorId)
    {
        return new SensorReading(eventId, newSensorId, type, value, unit, timestamp, seq, battery, firmware);
    }

    public SensorReading withType(String newType)
    {
        return new SensorReading(eventId, sensorId, newType, value, unit, timestamp, seq, battery, firmware);
    }
}
