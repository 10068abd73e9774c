package io.sensorpipeline.common;

import static java.util.Objects.requireNonNull;

/** A payload that is not a valid reading, with the code the dead-letter table would record for it. */
public final class InvalidEventException
        extends Exception
{
    private final RejectReason reason;

    public InvalidEventException(RejectReason reason, String detail)
    {
        super(reason + ": " + detail);
        this.reason = requireNonNull(reason, "reason is null");
    }

    public RejectReason reason()
    {
        return reason;
    }
}
