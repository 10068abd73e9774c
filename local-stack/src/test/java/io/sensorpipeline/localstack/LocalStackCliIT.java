package io.sensorpipeline.localstack;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs the CLI as users do: its own JVM with only local-stack's classes, no Kafka jar, on the classpath. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class LocalStackCliIT
{
    @TempDir
    Path dataDirectory;

    private final List<ProcessHandle> brokers = new ArrayList<>();

    @AfterEach
    void stopBrokers()
    {
        brokers.forEach(broker -> LocalProcesses.terminate(broker, Duration.ofSeconds(30)));
    }

    @Test
    void startIsIdempotentOutlivesTheCliAndStopStopsIt()
            throws Exception
    {
        KafkaBroker ports = KafkaBroker.onFreePorts(dataDirectory);
        String address = "127.0.0.1:" + ports.port();
        String[] start = {"kafka", "start", "--port", Integer.toString(ports.port()),
                "--controller-port", Integer.toString(ports.controllerPort()), "--data-dir", dataDirectory.toString()};

        // The CLI's stdout is a pipe read to its end: a broker that kept it open would hang `$(pipeline kafka start)`.
        CliRun first = cli(start);

        assertThat(first.exitCode()).as(first.toString()).isZero();
        assertThat(first.err()).contains("starting Kafka", "formatting storage", "waiting for broker");
        assertThat(first.lastLine()).startsWith("Kafka broker ready: bootstrap.servers=" + address + " (pid ");
        ProcessHandle broker = brokerOf(dataDirectory);
        assertThat(broker.isAlive()).as("broker outlives the CLI").isTrue();
        assertThat(accepts(ports.port())).isTrue();

        CliRun second = cli(start);

        assertThat(second.exitCode()).as(second.toString()).isZero();
        assertThat(second.out()).isEqualTo("Kafka already running at " + address + " (pid " + broker.pid() + ")\n");
        assertThat(brokerOf(dataDirectory)).isEqualTo(broker);

        CliRun status = cli("kafka", "status", "--data-dir", dataDirectory.toString());

        assertThat(status.exitCode()).isZero();
        assertThat(status.out()).startsWith("Kafka running at " + address + " (pid " + broker.pid());

        CliRun stop = cli("kafka", "stop", "--data-dir", dataDirectory.toString());

        assertThat(stop.exitCode()).as(stop.toString()).isZero();
        assertThat(stop.out()).isEqualTo("Kafka stopped (pid " + broker.pid() + ")\n");
        assertThat(broker.isAlive()).isFalse();
        assertThat(accepts(ports.port())).isFalse();
        assertThat(dataDirectory.resolve("broker.pid")).doesNotExist();
        assertThat(cli("kafka", "status", "--data-dir", dataDirectory.toString()).exitCode()).isEqualTo(3);
    }

    @Test
    void startAfterACrashReplacesTheStalePidFileAndKeepsTheData()
            throws Exception
    {
        KafkaBroker ports = KafkaBroker.onFreePorts(dataDirectory);
        String[] start = {"kafka", "start", "--port", Integer.toString(ports.port()),
                "--controller-port", Integer.toString(ports.controllerPort()), "--data-dir", dataDirectory.toString()};
        assertThat(cli(start).exitCode()).isZero();
        String bootstrap = "127.0.0.1:" + ports.port();
        TopicPartition kept = new TopicPartition("kept", 2);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap));
                KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "acks", "all"),
                        new StringSerializer(), new StringSerializer())) {
            admin.createTopics(List.of(new NewTopic("kept", 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
            producer.send(new ProducerRecord<>("kept", kept.partition(), "key", "a reading")).get(30, TimeUnit.SECONDS);
        }
        ProcessHandle crashed = brokerOf(dataDirectory);
        crashed.destroyForcibly();
        crashed.onExit().get(30, TimeUnit.SECONDS);

        assertThat(cli("kafka", "status", "--data-dir", dataDirectory.toString()).exitCode()).isEqualTo(3);
        CliRun restart = cli(start);

        assertThat(restart.exitCode()).as(restart.toString()).isZero();
        assertThat(restart.err()).contains("removing stale").doesNotContain("formatting storage");
        ProcessHandle restarted = brokerOf(dataDirectory);
        assertThat(restarted.pid()).isNotEqualTo(crashed.pid());
        assertThat(accepts(ports.port())).isTrue();
        // The topic and its record outlived the crash.
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            assertThat(admin.describeTopics(List.of("kept")).allTopicNames().get(30, TimeUnit.SECONDS).get("kept").partitions()).hasSize(3);
            assertThat(admin.listOffsets(Map.of(kept, OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS).get(kept).offset()).isEqualTo(1);
        }
    }

    /** The broker named by the PID file; registered so that a failing test still stops it. */
    private ProcessHandle brokerOf(Path dataDirectory)
            throws IOException
    {
        long pid = Long.parseLong(Files.readString(dataDirectory.resolve("broker.pid")).strip());
        ProcessHandle broker = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no process " + pid));
        brokers.add(broker);
        return broker;
    }

    private static CliRun cli(String... arguments)
            throws Exception
    {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classesOfLocalStack(), LocalStackCli.class.getName()));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).as("CLI exited").isTrue();
        return new CliRun(process.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    }

    private static String classesOfLocalStack()
            throws URISyntaxException
    {
        return Path.of(LocalStackCli.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    private static String readAll(InputStream stream)
    {
        try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean accepts(int port)
            throws IOException
    {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        }
        catch (ConnectException e) {
            return false;
        }
    }

    private record CliRun(int exitCode, String out, String err)
    {
        String lastLine()
        {
            List<String> lines = out.lines().toList();
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }
    }
}
