package io.sensorpipeline.common;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * The validation rules in plain Java, as a test oracle: the reason a payload must be rejected with, or empty for a
 * valid reading. Shared through common's test-jar so the streaming job's tests can check Spark against it.
 */
public final class ReferenceValidator
{
    /** How far ahead of the Kafka timestamp an event time may be before it is FUTURE_TIMESTAMP. */
    public static final Duration FUTURE_TOLERANCE = Duration.ofHours(1);

    private final SensorCatalog catalog;

    public ReferenceValidator(SensorCatalog catalog)
    {
        this.catalog = requireNonNull(catalog, "catalog is null");
    }

    public Optional<RejectReason> rejection(byte[] payload, Instant now)
    {
        SensorReading reading;
        try {
            reading = SensorJson.decode(payload);
        }
        catch (InvalidEventException e) {
            return Optional.of(e.reason());
        }
        Optional<SensorType> type = SensorType.fromWireName(reading.type());
        if (type.isEmpty()) {
            return Optional.of(RejectReason.UNKNOWN_TYPE);
        }
        if (catalog.find(reading.sensorId()).isEmpty()) {
            return Optional.of(RejectReason.UNKNOWN_SENSOR);
        }
        if (!type.get().inPhysicalRange(reading.value(), reading.unit())) {
            return Optional.of(RejectReason.OUT_OF_RANGE);
        }
        if (reading.timestamp().isAfter(now.plus(FUTURE_TOLERANCE))) {
            return Optional.of(RejectReason.FUTURE_TIMESTAMP);
        }
        return Optional.empty();
    }
}
