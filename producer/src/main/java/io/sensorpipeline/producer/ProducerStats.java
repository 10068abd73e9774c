package io.sensorpipeline.producer;

import io.sensorpipeline.common.FaultKind;
import io.sensorpipeline.common.SensorJson;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;

/**
 * What the producer has done. Records are counted by category when handed to the client (main thread only), and
 * acknowledged or failed as the client reports back (its I/O thread); the progress line reads both.
 */
final class ProducerStats
{
    static final int VALID = 0;
    static final int LATE = 1;
    static final int DUPLICATE = 2;
    static final int REPLAYED = 3;
    private static final int FIRST_FAULT = 4;

    // Counted per record on the sending thread: an array, not a map, keeps that off the profile.
    private final long[] byCategory = new long[FIRST_FAULT + FaultKind.values().length];
    private final LongAdder acknowledged = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final Map<String, LongAdder> errorsByKind = new ConcurrentHashMap<>();
    private volatile LongConsumer latencyListener = nanos -> {};
    private volatile double currentRate;
    private long firstEventMillis = Long.MAX_VALUE;
    private long lastEventMillis = Long.MIN_VALUE;

    static int faultCategory(FaultKind fault)
    {
        return FIRST_FAULT + fault.ordinal();
    }

    void handedOver(RecordSource.Outgoing record)
    {
        byCategory[record.category()]++;
        if (record.eventTime() != null) {
            long millis = record.eventTime().toEpochMilli();
            firstEventMillis = Math.min(firstEventMillis, millis);
            lastEventMillis = Math.max(lastEventMillis, millis);
        }
    }

    void acknowledged()
    {
        acknowledged.increment();
    }

    /** An acknowledgement, with the time since the record was handed to the client. */
    void acknowledged(long latencyNanos)
    {
        acknowledged.increment();
        latencyListener.accept(latencyNanos);
    }

    void onLatency(LongConsumer listener)
    {
        this.latencyListener = listener;
    }

    /** Records handed over in one category; read from another thread, it may lag the sending thread a little. */
    long handedOver(int category)
    {
        return byCategory[category];
    }

    Map<String, Long> handedOverByCategory()
    {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("valid", byCategory[VALID]);
        counts.put("late", byCategory[LATE]);
        counts.put("duplicate", byCategory[DUPLICATE]);
        counts.put("replayed", byCategory[REPLAYED]);
        long malformed = 0;
        for (FaultKind fault : FaultKind.values()) {
            malformed += byCategory[faultCategory(fault)];
        }
        counts.put("malformed", malformed);
        return counts;
    }

    Map<String, Long> errorsByKind()
    {
        Map<String, Long> counts = new TreeMap<>();
        errorsByKind.forEach((kind, count) -> counts.put(kind, count.sum()));
        return counts;
    }

    /** The acknowledgement rate the progress line last measured. */
    double currentRate()
    {
        return currentRate;
    }

    void currentRate(double eventsPerSecond)
    {
        currentRate = eventsPerSecond;
    }

    void failed(Exception exception)
    {
        failed.increment();
        errorsByKind.computeIfAbsent(exception.getClass().getSimpleName(), kind -> new LongAdder()).increment();
    }

    long acknowledgedCount()
    {
        return acknowledged.sum();
    }

    long failedCount()
    {
        return failed.sum();
    }

    /** The summary scripts parse: one JSON object, keys in a fixed order. */
    Map<String, Object> summary(String topic, long retries, double elapsedSeconds, String stoppedBy)
    {
        Map<String, Object> faults = new LinkedHashMap<>();
        long malformed = 0;
        for (FaultKind fault : FaultKind.values()) {
            long count = byCategory[faultCategory(fault)];
            faults.put(fault.name(), count);
            malformed += count;
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("topic", topic);
        summary.put("eventsSent", acknowledgedCount());
        summary.put("eventsFailed", failedCount());
        summary.put("valid", byCategory[VALID]);
        summary.put("late", byCategory[LATE]);
        summary.put("duplicates", byCategory[DUPLICATE]);
        summary.put("malformed", malformed);
        summary.put("replayed", byCategory[REPLAYED]);
        summary.put("faults", faults);
        summary.put("retries", retries);
        Map<String, Long> errors = new TreeMap<>();
        errorsByKind.forEach((kind, count) -> errors.put(kind, count.sum()));
        summary.put("sendErrors", errors);
        summary.put("firstEventTime", firstEventMillis == Long.MAX_VALUE ? null : SensorJson.formatTimestamp(Instant.ofEpochMilli(firstEventMillis)));
        summary.put("lastEventTime", lastEventMillis == Long.MIN_VALUE ? null : SensorJson.formatTimestamp(Instant.ofEpochMilli(lastEventMillis)));
        summary.put("elapsedSeconds", Math.round(elapsedSeconds * 1000) / 1000.0);
        summary.put("eventsPerSecond", elapsedSeconds > 0 ? Math.round(acknowledgedCount() / elapsedSeconds * 10) / 10.0 : 0.0);
        summary.put("stoppedBy", stoppedBy);
        return summary;
    }
}
