package io.sensorpipeline.producer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RatePacerTest
{
    /** A clock that moves only when told to, or when the pacer sleeps. */
    private static final class FakeTicker
            implements Ticker
    {
        private long now = 1_000_000_000L;
        private final List<Long> sleeps = new ArrayList<>();

        @Override
        public long nanoTime()
        {
            return now;
        }

        @Override
        public void sleepNanos(long nanos)
        {
            sleeps.add(nanos);
            now += nanos;
        }

        void advance(long nanos)
        {
            now += nanos;
        }
    }

    @Test
    void holdsTheRateBySchedule()
            throws InterruptedException
    {
        FakeTicker ticker = new FakeTicker();
        RatePacer pacer = new RatePacer(1000, ticker);
        long start = ticker.nanoTime();
        for (int index = 0; index <= 20_000; index++) {
            pacer.awaitTurn(index);
            ticker.advance(2_000); // each send takes 2 µs
        }
        // 20,000 intervals of 1 ms: record 20,000 goes out at 20 s, not a sleep-per-record drift later.
        long elapsed = ticker.nanoTime() - start;
        assertThat(elapsed).isBetween(20_000_000_000L, 20_001_000_000L);
    }

    @Test
    void catchesUpAfterAStallInsteadOfLosingRate()
            throws InterruptedException
    {
        FakeTicker ticker = new FakeTicker();
        RatePacer pacer = new RatePacer(1000, ticker);
        pacer.awaitTurn(0);
        ticker.advance(50_000_000); // a 50 ms stall, 50 records behind
        int sleepsBefore = ticker.sleeps.size();
        for (int index = 1; index <= 50; index++) {
            pacer.awaitTurn(index);
        }
        assertThat(ticker.sleeps.size()).as("no sleeping while behind schedule").isEqualTo(sleepsBefore);
        pacer.awaitTurn(60);
        assertThat(ticker.sleeps).last().isEqualTo(10_000_000L);
    }

    @Test
    void sleepsInChunksOfAtLeastAMillisecondAtHighRates()
            throws InterruptedException
    {
        FakeTicker ticker = new FakeTicker();
        RatePacer pacer = new RatePacer(1_000_000, ticker);
        for (int index = 0; index < 100_000; index++) {
            pacer.awaitTurn(index);
        }
        assertThat(ticker.sleeps).isNotEmpty().allSatisfy(sleep -> assertThat(sleep).isGreaterThanOrEqualTo(1_000_000L));
        assertThat(ticker.sleeps.size()).isLessThanOrEqualTo(100);
    }

    @Test
    void rateZeroNeverWaits()
            throws InterruptedException
    {
        FakeTicker ticker = new FakeTicker();
        RatePacer pacer = new RatePacer(0, ticker);
        for (int index = 0; index < 1000; index++) {
            pacer.awaitTurn(index);
        }
        assertThat(ticker.sleeps).isEmpty();
    }
}
