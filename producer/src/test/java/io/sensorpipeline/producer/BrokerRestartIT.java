package io.sensorpipeline.producer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sensorpipeline.common.DataFiles;
import io.sensorpipeline.common.EventStream;
import io.sensorpipeline.common.FaultPlan;
import io.sensorpipeline.common.FleetSimulator;
import io.sensorpipeline.localstack.KafkaBrokerExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/** The broker JVM dies (SIGKILL) and comes back while the producer runs: idempotent retries lose and double nothing. */
class BrokerRestartIT
{
    private static final int EVENTS = 150_000;
    private static final Instant START = Instant.parse("2026-11-24T10:00:00Z");

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("readings", 2));


    @Test
    void everyEventIdIsInTheTopicExactlyOnceAfterABrokerCrash()
            throws Exception
    {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<Integer> producer = CompletableFuture.supplyAsync(() -> SensorProducer.run(List.of(
                "--bootstrap-servers", kafka.bootstrapServers(), "--metrics-port", "0", "--topic", "readings",
                "--rate", "15000", "--count", Integer.toString(EVENTS),
                "--seed", "13", "--start-time", START.toString(), "--sensor-interval", "1s", "--progress-interval", "1s"),
                Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8), System.err, new AtomicBoolean()));

        waitUntilSomethingWasSent();
        Thread.sleep(2_000);
        kafka.broker().kill();
        assertThat(kafka.broker().isRunning()).isFalse();
        Thread.sleep(2_000);
        kafka.broker().start();

        assertThat(producer.get(3, TimeUnit.MINUTES)).isZero();
        JsonNode summary = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertThat(summary.get("eventsSent").asLong()).isEqualTo(EVENTS);
        assertThat(summary.get("eventsFailed").asLong()).isZero();
        assertThat(summary.get("retries").asLong()).as("the client retried what the dead broker never acknowledged").isPositive();

        List<ConsumerRecord<byte[], byte[]>> records = TopicReader.readAll(kafka.bootstrapServers(), "readings");
        Map<String, Integer> seen = new HashMap<>();
        ObjectMapper json = new ObjectMapper();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            seen.merge(json.readTree(record.value()).get("eventId").asText(), 1, Integer::sum);
        }
        EventStream generated = new EventStream(new FleetSimulator(DataFiles.defaultCatalog(), 13, START, Duration.ofSeconds(1)), FaultPlan.NONE, 13);
        for (int index = 0; index < EVENTS; index++) {
            String eventId = generated.next().eventId();
            assertThat(seen.get(eventId)).as("event %d (%s)", index, eventId).isEqualTo(1);
        }
        assertThat(records).hasSize(EVENTS);
    }

    private static void waitUntilSomethingWasSent()
            throws InterruptedException
    {
        // The producer prints nothing on stdout until the end: wait for the topic to fill instead.
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!TopicReader.readAll(kafka.bootstrapServers(), "readings").isEmpty()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the producer sent nothing within 60 s");
    }
}
