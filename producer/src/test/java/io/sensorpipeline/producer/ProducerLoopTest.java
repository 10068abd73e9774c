package io.sensorpipeline.producer;

import io.sensorpipeline.common.EventStream;
import io.sensorpipeline.common.FaultPlan;
import io.sensorpipeline.common.SensorJson;
import io.sensorpipeline.common.StreamRecord;
import io.sensorpipeline.common.TestStreams;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

class ProducerLoopTest
{
    @Test
    void sendsTheCountKeyedBySensorAndCountsEachCategory()
            throws InterruptedException
    {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        ProducerStats stats = new ProducerStats();
        ProducerLoop loop = loop(producer, new FaultPlan(0.1, 0.05, 0.05, 0), Optional.of(10_000L), stats, new AtomicBoolean());

        assertThat(loop.run()).isEqualTo("count");

        assertThat(producer.history()).hasSize(10_000).allSatisfy(record -> {
            assertThat(record.topic()).isEqualTo("readings");
            assertThat(record.key()).isNotNull();
        });
        Map<String, Object> summary = stats.summary("readings", 0, 1.0, "count");
        assertThat(summary.get("eventsSent")).isEqualTo(10_000L);
        long malformed = (long) summary.get("malformed");
        long categories = (long) summary.get("valid") + (long) summary.get("late") + (long) summary.get("duplicates") + malformed;
        assertThat(categories).isEqualTo(10_000L);
        assertThat(malformed).isBetween(800L, 1200L);
        @SuppressWarnings("unchecked")
        Map<String, Long> faults = (Map<String, Long>) summary.get("faults");
        assertThat(faults.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(malformed);
        EventStream again = TestStreams.stream(1000, 3, new FaultPlan(0.1, 0.05, 0.05, 0));
        Instant first = Instant.MAX;
        Instant last = Instant.MIN;
        for (int index = 0; index < 10_000; index++) {
            StreamRecord record = again.next();
            if (record.kind() != StreamRecord.Kind.MALFORMED) {
                first = record.eventTime().isBefore(first) ? record.eventTime() : first;
                last = record.eventTime().isAfter(last) ? record.eventTime() : last;
            }
        }
        assertThat(summary.get("firstEventTime")).isEqualTo(SensorJson.formatTimestamp(first));
        assertThat(summary.get("lastEventTime")).isEqualTo(SensorJson.formatTimestamp(last));
    }

    @Test
    void stopsWhenAsked()
            throws InterruptedException
    {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        AtomicBoolean stop = new AtomicBoolean(true);
        assertThat(loop(producer, FaultPlan.NONE, Optional.empty(), new ProducerStats(), stop).run()).isEqualTo("signal");
        assertThat(producer.history()).isEmpty();
    }

    @Test
    void aFailedDeliveryStopsTheRun()
            throws InterruptedException
    {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());
        ProducerStats stats = new ProducerStats();
        ProducerLoop loop = loop(producer, FaultPlan.NONE, Optional.of(1_000_000L), stats, new AtomicBoolean());
        Thread broker = new Thread(() -> {
            while (producer.history().isEmpty()) {
                Thread.onSpinWait();
            }
            producer.errorNext(new RecordTooLargeException("too large"));
            while (!Thread.currentThread().isInterrupted()) {
                producer.completeNext();
            }
        });
        broker.start();
        String stoppedBy = loop.run();
        broker.interrupt();
        assertThat(stoppedBy).isEqualTo("failure");
        assertThat(loop.failure()).containsInstanceOf(RecordTooLargeException.class);
        assertThat(stats.failedCount()).isEqualTo(1);
        assertThat(stats.summary("readings", 0, 1, "failure").get("sendErrors")).isEqualTo(Map.of("RecordTooLargeException", 1L));
    }

    @Test
    void replaysAFileLineByLine()
            throws InterruptedException
    {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        ProducerStats stats = new ProducerStats();
        ProducerLoop loop = new ProducerLoop(producer, "readings", new ReplaySource(java.nio.file.Path.of("..", "data", "sample-events.jsonl")),
                new RatePacer(0, Ticker.SYSTEM), Optional.empty(), Optional.empty(), Ticker.SYSTEM, stats, new AtomicBoolean());
        assertThat(loop.run()).isEqualTo("end-of-replay");
        assertThat(producer.history()).hasSize(500);
        assertThat(new String(producer.history().get(0).key(), StandardCharsets.UTF_8)).isEqualTo("sensor-00000");
        assertThat(stats.summary("readings", 0, 1, "end-of-replay").get("replayed")).isEqualTo(500L);
    }

    private static ProducerLoop loop(MockProducer<byte[], byte[]> producer, FaultPlan plan, Optional<Long> count, ProducerStats stats,
            AtomicBoolean stop)
    {
        return new ProducerLoop(producer, "readings", new SimulatedSource(TestStreams.stream(1000, 3, plan)), new RatePacer(0, Ticker.SYSTEM),
                count, Optional.of(Duration.ofMinutes(5)), Ticker.SYSTEM, stats, stop);
    }
}
