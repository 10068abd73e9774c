package io.sensorpipeline.producer;

import io.sensorpipeline.common.EventStream;
import io.sensorpipeline.common.FaultPlan;
import io.sensorpipeline.common.SensorJson;
import io.sensorpipeline.common.StreamRecord;
import io.sensorpipeline.common.TestStreams;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
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

        assertThat(producer.history()).hasSize(10_000).allSatisfy(record -> assertThat(record.topic()).isEqualTo("readings"));
        Map<String, Object> summary = stats.summary("readings", 0, 1.0, "count");
        assertThat(summary.get("eventsSent")).isEqualTo(10_000L);
        // The same seed again: record by record, what the loop should have sent and counted.
        EventStream again = TestStreams.stream(1000, 3, new FaultPlan(0.1, 0.05, 0.05, 0));
        Map<StreamRecord.Kind, Long> kinds = new EnumMap<>(StreamRecord.Kind.class);
        Instant first = Instant.MAX;
        Instant last = Instant.MIN;
        for (int index = 0; index < 10_000; index++) {
            StreamRecord record = again.next();
            ProducerRecord<byte[], byte[]> sent = producer.history().get(index);
            assertThat(new String(sent.key(), StandardCharsets.UTF_8)).as("key of record %d", index).isEqualTo(record.sensorId());
            assertThat(sent.value()).as("value of record %d", index).isEqualTo(record.value());
            kinds.merge(record.kind(), 1L, Long::sum);
            if (record.kind() != StreamRecord.Kind.MALFORMED) {
                first = record.eventTime().isBefore(first) ? record.eventTime() : first;
                last = record.eventTime().isAfter(last) ? record.eventTime() : last;
            }
        }
        // Every category is in the stream, so a record counted in the wrong one shows.
        assertThat(kinds).containsOnlyKeys(StreamRecord.Kind.values());
        assertThat(summary.get("valid")).as("valid").isEqualTo(kinds.get(StreamRecord.Kind.VALID));
        assertThat(summary.get("late")).as("late").isEqualTo(kinds.get(StreamRecord.Kind.LATE));
        assertThat(summary.get("duplicates")).as("duplicates").isEqualTo(kinds.get(StreamRecord.Kind.DUPLICATE));
        assertThat(summary.get("malformed")).as("malformed").isEqualTo(kinds.get(StreamRecord.Kind.MALFORMED));
        assertThat(kinds.get(StreamRecord.Kind.MALFORMED)).isBetween(800L, 1200L);
        @SuppressWarnings("unchecked")
        Map<String, Long> faults = (Map<String, Long>) summary.get("faults");
        assertThat(faults.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(kinds.get(StreamRecord.Kind.MALFORMED));
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
