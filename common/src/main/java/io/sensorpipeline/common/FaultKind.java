package io.sensorpipeline.common;

import static java.util.Objects.requireNonNull;

/**
 * The malformed records the producer can inject, each a thing real pipelines meet, and the reason code the streaming
 * job must file it under. Duplicates and late events are not malformed: they are counted separately.
 */
public enum FaultKind
{
    TRUNCATED_JSON(RejectReason.MALFORMED_JSON),
    NOT_JSON(RejectReason.MALFORMED_JSON),
    NOT_UTF8(RejectReason.MALFORMED_JSON),
    EMPTY_PAYLOAD(RejectReason.MALFORMED_JSON),
    WRONG_TYPE(RejectReason.WRONG_TYPE),
    MISSING_FIELD(RejectReason.MISSING_FIELD),
    UNKNOWN_TYPE(RejectReason.UNKNOWN_TYPE),
    UNKNOWN_SENSOR(RejectReason.UNKNOWN_SENSOR),
    NON_FINITE(RejectReason.NON_FINITE),
    OUT_OF_RANGE(RejectReason.OUT_OF_RANGE),
    FUTURE_TIMESTAMP(RejectReason.FUTURE_TIMESTAMP);

    private final RejectReason expectedReason;

    FaultKind(RejectReason expectedReason)
    {
        this.expectedReason = requireNonNull(expectedReason, "expectedReason is null");
    }

    /** The dead-letter reason the streaming job gives a record of this kind. */
    public RejectReason expectedReason()
    {
        return expectedReason;
    }
}
