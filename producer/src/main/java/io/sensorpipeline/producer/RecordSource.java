package io.sensorpipeline.producer;

import java.time.Instant;

/** Where the records to send come from: the simulated fleet, or a recorded file. */
interface RecordSource
        extends AutoCloseable
{
    /** The next record, or null when the source is exhausted. */
    Outgoing next();

    @Override
    default void close() {}

    /**
     * A record to send.
     *
     * @param key may be null for a replayed line whose sensor cannot be read
     * @param eventTime null when the record carries no readable timestamp
     * @param category what the summary counts it as, one of the {@link ProducerStats} category numbers
     */
    record Outgoing(byte[] key, byte[] value, Instant eventTime, int category) {}
}
