package io.sensorpipeline.producer;

import static java.util.Objects.requireNonNull;

/**
 * Holds a steady rate by schedule, not by sleeping a fixed gap after each send: record {@code n} is due at
 * {@code start + n / rate}, so a slow send is caught up on instead of lowering the rate for good. Sleeps happen only
 * when at least a millisecond ahead, which keeps the number of sleeps small at high rates.
 */
public final class RatePacer
{
    private static final long MINIMUM_SLEEP_NANOS = 1_000_000;

    private final double nanosPerRecord;
    private final Ticker ticker;
    private long startNanos;
    private boolean started;

    /** @param ratePerSecond records per second; 0 means no pacing */
    public RatePacer(long ratePerSecond, Ticker ticker)
    {
        if (ratePerSecond < 0) {
            throw new IllegalArgumentException("rate must not be negative: " + ratePerSecond);
        }
        this.nanosPerRecord = ratePerSecond == 0 ? 0 : 1.0e9 / ratePerSecond;
        this.ticker = requireNonNull(ticker, "ticker is null");
    }

    /** Waits until record {@code index} (counted from 0) is due. The first call starts the schedule. */
    public void awaitTurn(long index)
            throws InterruptedException
    {
        if (nanosPerRecord == 0) {
            return;
        }
        if (!started) {
            startNanos = ticker.nanoTime();
            started = true;
        }
        long due = startNanos + (long) (index * nanosPerRecord);
        long ahead = due - ticker.nanoTime();
        if (ahead >= MINIMUM_SLEEP_NANOS) {
            ticker.sleepNanos(ahead);
        }
    }
}
