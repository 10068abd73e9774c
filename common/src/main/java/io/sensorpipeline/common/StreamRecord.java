package io.sensorpipeline.common;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * One record of the generated stream, ready to send: the Kafka key and value, and what the generator knows about it.
 *
 * @param key the sensorId in UTF-8; every record of a sensor has the same key, so they share a partition
 * @param eventId the reading's eventId; for a malformed record, that of the reading it was made from
 * @param eventTime the timestamp the record carries (or would carry, for a malformed record)
 * @param fault what is wrong with the record, or null when it is a valid reading
 */
public record StreamRecord(byte[] key, byte[] value, String sensorId, String eventId, Instant eventTime, Kind kind, FaultKind fault)
{
    public enum Kind
    {
        /** A valid reading on time. */
        VALID,
        /** A valid reading whose timestamp is minutes old. */
        LATE,
        /** An exact copy of a reading sent earlier: same bytes, same eventId. */
        DUPLICATE,
        /** A record the job must dead-letter; {@link #fault()} says how it is broken. */
        MALFORMED
    }

    public StreamRecord
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        requireNonNull(sensorId, "sensorId is null");
        requireNonNull(eventId, "eventId is null");
        requireNonNull(eventTime, "eventTime is null");
        requireNonNull(kind, "kind is null");
        if ((kind == Kind.MALFORMED) != (fault != null)) {
            throw new IllegalArgumentException("a fault kind is given exactly for malformed records");
        }
    }
}
