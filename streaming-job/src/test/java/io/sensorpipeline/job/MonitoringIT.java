package io.sensorpipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sensorpipeline.common.FaultKind;
import io.sensorpipeline.localstack.GrafanaDashboards;
import io.sensorpipeline.localstack.KafkaBrokerExtension;
import io.sensorpipeline.localstack.LocalProcesses;
import io.sensorpipeline.localstack.Prometheus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.DoublePredicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped monitoring configuration against the real thing: the producer and the job (each in its own JVM) on a
 * real broker, scraped by a real Prometheus running configs/prometheus with only the ports changed. Every dashboard
 * expression must return data; Kafka lag must rise while the job is down and fall once it is back; the job's dead
 * letter counters by reason must equal the faults the producer injected (its summary).
 */
class MonitoringIT
{
    private static final Path CONFIGS = Path.of("..", "configs");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FAULTY_RECORDS = 20_000;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1));

    @TempDir
    static Path directory;

    private static final List<Process> processes = new ArrayList<>();

    @AfterAll
    static void stopProcesses()
    {
        for (Process process : processes) {
            process.destroyForcibly();
        }
    }

    @Test
    void dashboardsShowDataLagFollowsTheJobAndDeadLettersMatchTheInjectedFaults()
            throws Exception
    {
        int[] ports = LocalProcesses.freePorts(4);
        int producerPort = ports[0];
        int jobPort = ports[1];
        int sparkPort = ports[2];
        try (Prometheus prometheus = Prometheus.start(testConfig(producerPort, jobPort, sparkPort), directory.resolve("prometheus"), ports[3])) {
            Process job = startJob(jobPort, sparkPort);
            // The producer starts once the job is up, and runs 40 s: the dashboards are checked while both run, because
            // the producer's gauges (its rate, its JVM's memory) have no data once it has ended.
            TestProcesses.awaitIngestCommits(job, directory, directory.resolve("checkpoints").toString(), 1, Duration.ofSeconds(120));
            Process producer = start(TestProcesses.startProducer(directory, kafka.bootstrapServers(), "--metrics-port", Integer.toString(producerPort),
                    "--rate", "500", "--count", Integer.toString(FAULTY_RECORDS), "--malformed-ratio", "0.05", "--duplicate-ratio", "0.01",
                    "--progress-interval", "1s"));

            // While both run: every panel of every shipped dashboard has data. Polled: a scrape that a busy machine
            // delays past its 1 s timeout leaves a target's series without data for a moment.
            awaitValue(prometheus, "sum(sensorpipeline_producer_events_sent_total)", value -> value > 3_000, Duration.ofSeconds(60));
            List<String> expressions = GrafanaDashboards.expressions(CONFIGS);
            assertThat(expressions).isNotEmpty();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            List<String> empty = withoutData(prometheus, expressions);
            while (!empty.isEmpty() && System.nanoTime() < deadline) {
                assertThat(producer.isAlive()).as("the producer still runs while the dashboards are checked (without data: %s)", empty).isTrue();
                Thread.sleep(1_000);
                empty = withoutData(prometheus, expressions);
            }
            assertThat(empty).as("dashboard expressions without data").isEmpty();

            // Once the producer is done and the job has caught up: dead letters by reason = the injected faults.
            assertThat(producer.waitFor(2, TimeUnit.MINUTES)).isTrue();
            awaitValue(prometheus, "sum(sensorpipeline_query_input_rows_total{query=\"ingest\"})", value -> value == FAULTY_RECORDS, Duration.ofSeconds(60));
            // The producer's own count is its summary: its last records can fall after Prometheus's last scrape of it.
            Map<String, Double> injected = new TreeMap<>();
            JsonNode faults = TestProcesses.summary(directory).get("faults");
            for (FaultKind fault : FaultKind.values()) {
                injected.merge(fault.expectedReason().name(), faults.get(fault.name()).asDouble(), Double::sum);
            }
            injected.values().removeIf(count -> count == 0);
            assertThat(injected.values().stream().mapToDouble(Double::doubleValue).sum()).isGreaterThan(500);
            // Polled until Prometheus has scraped the job's counters after its last batch.
            deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            Map<String, Double> deadLetters = byLabel(prometheus, "sum by (reason) (sensorpipeline_dead_letters_total)", "reason");
            while (!deadLetters.equals(injected) && System.nanoTime() < deadline) {
                Thread.sleep(1_000);
                deadLetters = byLabel(prometheus, "sum by (reason) (sensorpipeline_dead_letters_total)", "reason");
            }
            assertThat(deadLetters).isEqualTo(injected);
            // The alerts query reads every reading written to processed_data, and the sensor aggregates besides: Spark's own
            // count of its input rows is 0 whenever one of its two tables has no new files, so the job counts them itself.
            awaitValue(prometheus, "sum(sensorpipeline_query_input_rows_total{query=\"alerts\"}) - sum(sensorpipeline_processed_rows_total)",
                    value -> value >= 0, Duration.ofSeconds(60));
            // What Prometheus last scraped from the producer is at most that, and most of it.
            Map<String, Double> scraped = byLabel(prometheus,
                    "sum by (reason) (last_over_time(sensorpipeline_producer_faults_injected_total[10m]))", "reason");
            assertThat(scraped.keySet()).isEqualTo(injected.keySet());
            scraped.forEach((reason, count) -> assertThat(count).as(reason).isBetween(injected.get(reason) * 0.8, injected.get(reason)));

            // The job stops while readings keep coming: on restart its first batches report the backlog, then work it off.
            Process steady = start(TestProcesses.startProducer(directory, kafka.bootstrapServers(), "--metrics-port", Integer.toString(producerPort),
                    "--rate", "1000", "--duration", "60s", "--progress-interval", "1s"));
            awaitValue(prometheus, "sum(sensorpipeline_producer_events_sent_total)", value -> value > 3_000, Duration.ofSeconds(30));
            double lagBefore = awaitValue(prometheus, "max(sensorpipeline:kafka_lag:max)", value -> true, Duration.ofSeconds(30));
            job.destroy();
            assertThat(job.waitFor(60, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(15_000);
            startJob(jobPort, sparkPort, "--max-offsets-per-trigger", "2000");
            double peak = awaitValue(prometheus, "max(sensorpipeline:kafka_lag:max)", value -> value > 8_000, Duration.ofSeconds(90));
            // The lag is labelled by the topic it is in, and its sum over the partitions is at least its largest part.
            assertThat(byLabel(prometheus, "sensorpipeline_kafka_offsets_behind_latest{query=\"ingest\", statistic=\"sum\"}", "topic"))
                    .containsOnlyKeys("sensor-readings");
            assertThat(value(prometheus, "sum(sensorpipeline_kafka_offsets_behind_latest{query=\"ingest\", statistic=\"sum\"}) "
                    + "- max(sensorpipeline_kafka_offsets_behind_latest{query=\"ingest\", statistic=\"max\"})")).isGreaterThanOrEqualTo(0);
            // The readings stop once the backlog is seen, so that catching up does not depend on how fast a busy
            // machine runs batches of 2,000 records against 1,000 new ones a second.
            steady.destroy();
            double after = awaitValue(prometheus, "max(sensorpipeline:kafka_lag:max)", value -> value < 2_000, Duration.ofSeconds(180));
            assertThat(peak).as("lag while the job was away").isGreaterThan(lagBefore + 5_000);
            assertThat(after).as("lag once it caught up").isLessThan(peak / 4);
        }
    }

    private static Process startJob(int metricsPort, int sparkPort, String... flags)
            throws IOException
    {
        List<String> arguments = new ArrayList<>(List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(),
                "--lake-root", directory.resolve("lake").toString(), "--checkpoint-root", directory.resolve("checkpoints").toString(),
                "--sensors-file", "../data/sensors.csv", "--shuffle-partitions", "2", "--trigger", "1s", "--aggregates-trigger", "2s",
                "--metrics-port", Integer.toString(metricsPort)));
        arguments.addAll(List.of(flags));
        return start(TestProcesses.startJob(directory, List.of("-Dspark.ui.enabled=true", "-Dspark.ui.port=" + sparkPort), arguments));
    }

    private static Process start(Process process)
    {
        processes.add(process);
        return process;
    }

    /** configs/prometheus/prometheus.yml with the test's ports, a 1 s scrape interval and absolute rule paths. */
    private static Path testConfig(int producerPort, int jobPort, int sparkPort)
            throws IOException
    {
        Path shipped = CONFIGS.resolve("prometheus").toAbsolutePath();
        String config = Files.readString(shipped.resolve("prometheus.yml"))
                .replace("127.0.0.1:9400", "127.0.0.1:" + producerPort)
                .replace("127.0.0.1:9401", "127.0.0.1:" + jobPort)
                .replace("127.0.0.1:4040", "127.0.0.1:" + sparkPort)
                .replace("scrape_interval: 5s", "scrape_interval: 1s")
                .replace("evaluation_interval: 5s", "evaluation_interval: 1s")
                .replace("- rules/", "- " + shipped.resolve("rules") + "/");
        assertThat(config).contains(":" + producerPort, ":" + jobPort, ":" + sparkPort, shipped.resolve("rules").toString());
        Path file = directory.resolve("prometheus.yml");
        Files.writeString(file, config);
        return file;
    }

    private static JsonNode results(Prometheus prometheus, String expression)
            throws IOException, InterruptedException
    {
        JsonNode answer = JSON.readTree(prometheus.query(expression));
        assertThat(answer.path("status").asText()).as("%s: %s", expression, answer).isEqualTo("success");
        return answer.path("data").path("result");
    }

    private static List<String> withoutData(Prometheus prometheus, List<String> expressions)
            throws IOException, InterruptedException
    {
        List<String> empty = new ArrayList<>();
        for (String expression : expressions) {
            if (results(prometheus, expression).isEmpty()) {
                empty.add(expression);
            }
        }
        return empty;
    }

    private static double value(Prometheus prometheus, String expression)
            throws IOException, InterruptedException
    {
        JsonNode result = results(prometheus, expression);
        return result.isEmpty() ? Double.NaN : result.get(0).path("value").get(1).asDouble();
    }

    private static Map<String, Double> byLabel(Prometheus prometheus, String expression, String label)
            throws IOException, InterruptedException
    {
        Map<String, Double> values = new TreeMap<>();
        for (JsonNode series : results(prometheus, expression)) {
            double value = series.path("value").get(1).asDouble();
            if (value != 0) {
                values.put(series.path("metric").path(label).asText(), value);
            }
        }
        return values;
    }

    private static double awaitValue(Prometheus prometheus, String expression, DoublePredicate condition, Duration timeout)
            throws IOException, InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            double value = value(prometheus, expression);
            if (!Double.isNaN(value) && condition.test(value)) {
                return value;
            }
            assertThat(System.nanoTime()).as("%s reaches its condition within %s (last value %s; job log %s)", expression, timeout, value,
                    directory.resolve("job.log")).isLessThan(deadline);
            Thread.sleep(500);
        }
    }
}
