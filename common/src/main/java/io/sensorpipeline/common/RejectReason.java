package io.sensorpipeline.common;

/**
 * Why a record cannot become a reading. The streaming job writes these codes into {@code dead_letters.reason}; the
 * producer's fault injection names, for each fault it sends, the code the job must give it. A record with several
 * faults gets the first in this order.
 */
public enum RejectReason
{
    /** Not a JSON object: truncated, not JSON at all, not UTF-8, or empty. */
    MALFORMED_JSON,
    /** A required field (eventId, sensorId, type, value, timestamp) is absent or null. */
    MISSING_FIELD,
    /** A field has the wrong JSON type, such as {@code "value":"hot"}, or a timestamp that is not ISO-8601. */
    WRONG_TYPE,
    /** The value is NaN or infinite. */
    NON_FINITE,
    /** The {@code type} is not one of {@link SensorType}. */
    UNKNOWN_TYPE,
    /** The sensorId is not in the sensor metadata. */
    UNKNOWN_SENSOR,
    /** The value lies outside the physical range of its type. */
    OUT_OF_RANGE,
    /** The event time lies further in the future than clocks can drift. */
    FUTURE_TIMESTAMP
}
