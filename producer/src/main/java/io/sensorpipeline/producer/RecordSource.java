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
     * @param category what the summary counts it as: VALID, LATE, DUPLICATE, REPLAYED or a fault kind
     */
    record Outgoing(byte[] key, byte[] value, Instant eventTime, String category) {}
}
