package io.sensorpipeline.producer;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static java.util.Objects.requireNonNull;

/**
 * Hands records from a source to a Kafka producer at the paced rate until a limit, a stop request, the end of the
 * source or a failed delivery. Retriable errors never reach here: the client retries them (idempotently) until
 * {@code delivery.timeout.ms}; whatever still fails is final, and stops the run so no loss goes unnoticed.
 */
final class ProducerLoop
{
    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final RecordSource source;
    private final RatePacer pacer;
    private final Optional<Long> count;
    private final Optional<Duration> duration;
    private final Ticker ticker;
    private final ProducerStats stats;
    private final AtomicBoolean stopRequested;
    private final AtomicReference<Exception> firstFailure = new AtomicReference<>();

    ProducerLoop(Producer<byte[], byte[]> producer, String topic, RecordSource source, RatePacer pacer, Optional<Long> count,
            Optional<Duration> duration, Ticker ticker, ProducerStats stats, AtomicBoolean stopRequested)
    {
        this.producer = requireNonNull(producer, "producer is null");
        this.topic = requireNonNull(topic, "topic is null");
        this.source = requireNonNull(source, "source is null");
        this.pacer = requireNonNull(pacer, "pacer is null");
        this.count = requireNonNull(count, "count is null");
        this.duration = requireNonNull(duration, "duration is null");
        this.ticker = requireNonNull(ticker, "ticker is null");
        this.stats = requireNonNull(stats, "stats is null");
        this.stopRequested = requireNonNull(stopRequested, "stopRequested is null");
    }

    /** Runs to the end and flushes. Returns why it stopped: count, duration, signal, end-of-replay or failure. */
    String run()
            throws InterruptedException
    {
        long startNanos = ticker.nanoTime();
        long deadline = duration.map(limit -> startNanos + limit.toNanos()).orElse(Long.MAX_VALUE);
        long limit = count.orElse(Long.MAX_VALUE);
        String stoppedBy;
        long index = 0;
        while (true) {
            if (index >= limit) {
                stoppedBy = "count";
                break;
            }
            if (stopRequested.get()) {
                stoppedBy = "signal";
                break;
            }
            if (firstFailure.get() != null) {
                stoppedBy = "failure";
                break;
            }
            pacer.awaitTurn(index);
            if (deadline != Long.MAX_VALUE && ticker.nanoTime() - deadline >= 0) {
                stoppedBy = "duration";
                break;
            }
            RecordSource.Outgoing record = source.next();
            if (record == null) {
                stoppedBy = "end-of-replay";
                break;
            }
            stats.handedOver(record);
            long sentNanos = System.nanoTime();
            producer.send(new ProducerRecord<>(topic, record.key(), record.value()), (metadata, exception) -> {
                if (exception == null) {
                    stats.acknowledged(System.nanoTime() - sentNanos);
                }
                else {
                    onFailure(exception);
                }
            });
            index++;
        }
        producer.flush();
        if (firstFailure.get() != null) {
            return "failure";
        }
        return stoppedBy;
    }

    /** The first delivery that failed for good, if any. */
    Optional<Exception> failure()
    {
        return Optional.ofNullable(firstFailure.get());
    }

    private void onFailure(Exception exception)
    {
        stats.failed(exception);
        firstFailure.compareAndSet(null, exception);
    }
}
