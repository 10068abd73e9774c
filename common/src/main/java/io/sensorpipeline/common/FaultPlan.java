package io.sensorpipeline.common;

/**
 * How often the generated stream departs from clean readings. Ratios are fractions of all records sent.
 *
 * @param malformedRatio records that are broken in one of the {@link FaultKind} ways
 * @param duplicateRatio exact re-sends of a recent reading (same eventId)
 * @param lateRatio readings whose timestamp is 2 to 10 minutes old
 * @param outOfOrderMillis the timestamp of every valid (not late, malformed or duplicate) reading is moved back by a
 *         random 0 to this many milliseconds
 */
public record FaultPlan(double malformedRatio, double duplicateRatio, double lateRatio, long outOfOrderMillis)
{
    public static final FaultPlan NONE = new FaultPlan(0, 0, 0, 0);

    public FaultPlan
    {
        checkRatio("malformed ratio", malformedRatio);
        checkRatio("duplicate ratio", duplicateRatio);
        checkRatio("late ratio", lateRatio);
        if (malformedRatio + duplicateRatio + lateRatio > 1.0) {
            throw new IllegalArgumentException("the malformed, duplicate and late ratios add up to more than 1: "
                    + (malformedRatio + duplicateRatio + lateRatio));
        }
        if (outOfOrderMillis < 0) {
            throw new IllegalArgumentException("out-of-order milliseconds must not be negative: " + outOfOrderMillis);
        }
    }

    private static void checkRatio(String name, double ratio)
    {
        if (!(ratio >= 0.0 && ratio <= 1.0)) {
            throw new IllegalArgumentException(name + " must be between 0 and 1 but was " + ratio);
        }
    }
}
