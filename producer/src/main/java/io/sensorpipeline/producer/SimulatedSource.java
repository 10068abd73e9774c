package io.sensorpipeline.producer;

import io.sensorpipeline.common.EventStream;
import io.sensorpipeline.common.StreamRecord;

import static java.util.Objects.requireNonNull;

/** The simulated fleet, with the faults the settings ask for. Never exhausted. */
final class SimulatedSource
        implements RecordSource
{
    private final EventStream stream;

    SimulatedSource(EventStream stream)
    {
        this.stream = requireNonNull(stream, "stream is null");
    }

    @Override
    public Outgoing next()
    {
        StreamRecord record = stream.next();
        int category = switch (record.kind()) {
            case VALID -> ProducerStats.VALID;
            case LATE -> ProducerStats.LATE;
            case DUPLICATE -> ProducerStats.DUPLICATE;
            case MALFORMED -> ProducerStats.faultCategory(record.fault());
        };
        // A malformed record's timestamp may be garbage (a month ahead, or unreadable): only readings count for the
        // first and last event time of the summary.
        boolean reading = record.kind() != StreamRecord.Kind.MALFORMED;
        return new Outgoing(record.key(), record.value(), reading ? record.eventTime() : null, category);
    }
}
