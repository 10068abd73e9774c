package io.sensorpipeline.producer;

/** The clock the pacer reads and sleeps on; tests inject one that only pretends to sleep. */
public interface Ticker
{
    long nanoTime();

    void sleepNanos(long nanos)
            throws InterruptedException;

    Ticker SYSTEM = new Ticker()
    {
        @Override
        public long nanoTime()
        {
            return System.nanoTime();
        }

        @Override
        public void sleepNanos(long nanos)
                throws InterruptedException
        {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        }
    };
}
