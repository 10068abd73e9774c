package io.sensorpipeline.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sensorpipeline.localstack.LocalProcesses;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's first command, {@code ./pipeline demo}, run as a user runs it, on the jars the build just made: the
 * script starts the local broker (which comes with its two topics), {@code --fresh} empties a topic that already holds
 * records, and the demo ends with verify's OK over exactly the readings it produced, in the output directory it was
 * given. The demo goes on without a Prometheus of its own when port 9090 is taken (here by the test). And a demo whose
 * job a start-up guard refuses ends then, with the reason.
 */
class DemoIT
{
    private static final Path SCRIPT = Path.of("..", "pipeline").toAbsolutePath().normalize();

    @TempDir
    static Path directory;

    @AfterAll
    static void stopServers()
            throws Exception
    {
        run("stop-monitor.log", "monitor", "stop");
        run("stop-kafka.log", "kafka", "stop");
    }

    @Test
    void theDemoStartsOverWithFreshAndEveryReadingItProducedIsAccountedFor()
            throws Exception
    {
        // The demo's fixed ports: the producer's and the job's metrics.
        for (int port : new int[] {9400, 9401}) {
            try {
                // Free: closed again at once, for the demo.
                new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
            }
            catch (BindException e) {
                throw new AssertionError("port " + port + " on 127.0.0.1 is in use, and the demo needs it for its metrics: is a demo, ./pipeline stream"
                        + " or ./pipeline produce running on this machine? Stop it, then run the test again.", e);
            }
        }
        int[] ports = LocalProcesses.freePorts(2);
        assertThat(run("kafka-start.log", "kafka", "start", "--port", String.valueOf(ports[0]), "--controller-port", String.valueOf(ports[1])))
                .as(log("kafka-start.log"))
                .isZero();
        String bootstrap = "127.0.0.1:" + ports[0];
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            Map<String, TopicDescription> topics = admin.describeTopics(List.of("sensor-readings", "sensor-alerts")).allTopicNames().get(30, TimeUnit.SECONDS);
            assertThat(topics.get("sensor-readings").partitions()).hasSize(2);
            assertThat(topics.get("sensor-alerts").partitions()).hasSize(1);
        }
        // An earlier run's readings, which --fresh must take away: the accounting below counts the demo's own alone.
        TestProcesses.produce(directory, bootstrap, "--count", "700", "--rate", "0", "--sensors", "50");

        // Prometheus's port taken, as by the system's own Prometheus service: the demo goes on without one of its own.
        ServerSocket prometheusPort = null;
        try {
            prometheusPort = new ServerSocket(9090, 50, InetAddress.getByName("127.0.0.1"));
        }
        catch (BindException e) {
            // Something else holds it already, which is the same case for the demo.
        }
        try {
            assertThat(run("demo.log", "demo", "--duration", "10s", "--rate", "1000", "--sensors", "100", "--fresh"))
                    .as(log("demo.log"))
                    .isZero();
        }
        finally {
            if (prometheusPort != null) {
                prometheusPort.close();
            }
        }

        String demo = log("demo.log");
        System.out.println(demo);
        Path output = directory.resolve("output");
        long produced = new ObjectMapper().readTree(output.resolve("demo-producer-summary.json").toFile()).get("eventsSent").asLong();
        assertThat(produced).isGreaterThan(5_000L);
        assertThat(number(demo, "records in the topic\\s+([\\d,]+)")).as(demo).isEqualTo(produced);
        long processed = number(demo, "processed_data rows\\s+([\\d,]+)");
        long deadLetters = number(demo, "dead_letters rows\\s+([\\d,]+)");
        // 1% malformed readings go to dead_letters, 0.5% duplicates and 0.5% late ones are dropped and counted.
        assertThat(processed).isBetween(produced * 95 / 100, produced);
        assertThat(deadLetters).isPositive();
        // The demo's own query of the lake (rows per table) reads what verify read.
        assertThat(number(demo, "\\n  processed_data\\s+([\\d,]+)")).isEqualTo(processed);
        assertThat(demo).contains(prometheusInstalled()
                ? "pipeline: port 9090 on 127.0.0.1 is in use (the system's Prometheus?), so the demo starts none"
                : "pipeline: Prometheus is not installed");
        assertThat(demo).contains("SELECT * FROM processed_data WHERE timestamp > '2025-01-01'")
                .contains("verify: OK, every record is accounted for exactly once");
        // In the output directory it was given: a test must never write into the repository's output/.
        assertThat(output.resolve("lake").resolve("processed_data").resolve("_spark_metadata")).isDirectory();
        assertThat(output.resolve("checkpoints").resolve("ingest").resolve("commits")).isDirectory();
        assertThat(output.resolve("demo-stream.log")).isNotEmptyFile();

        // The lake's processed_data gone while its checkpoint stays: the job's start-up guard refuses, and the demo
        // ends then, with the job's reason, instead of producing for its whole --duration (30 minutes: past the
        // time this run is given).
        deleteRecursively(output.resolve("lake").resolve("processed_data"));
        assertThat(run("refused.log", 3, "demo", "--duration", "30m", "--rate", "100", "--sensors", "100"))
                .as(log("refused.log"))
                .isEqualTo(1);
        assertThat(log("refused.log"))
                .contains("streaming-job: Refusing to start query 'ingest': the checkpoint " + output.resolve("checkpoints").resolve("ingest")
                        + " has committed batches but the tables [" + output.resolve("lake").resolve("processed_data") + "] have no _spark_metadata log.")
                .contains("pipeline: the streaming job stopped early (the lines above say why; its log is " + output.resolve("demo-stream.log")
                        + "). When a start-up guard refused to start it, ./pipeline demo --storage local --fresh starts over");
        // The producer it had started is gone, with its metrics port.
        new ServerSocket(9400, 1, InetAddress.getByName("127.0.0.1")).close();
        if (prometheusInstalled()) {
            // The Prometheus it started (port 9090 was free this time) runs in a session of its own, so the
            // terminal's Ctrl-C to the demo does not stop it: it runs until ./pipeline monitor stop.
            long prometheus = Long.parseLong(Files.readString(directory.resolve("state/prometheus/prometheus.pid")).trim());
            assertThat(ProcessHandle.of(prometheus)).as("the demo's Prometheus runs").isPresent();
            assertThat(session(prometheus)).as("the session of the demo's Prometheus (pid %d)", prometheus).isEqualTo(prometheus);
        }
    }

    private static void deleteRecursively(Path path)
            throws IOException
    {
        try (Stream<Path> files = Files.walk(path)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }

    /** The session id of a process, from /proc/PID/stat: the fourth field after the command's closing parenthesis. */
    private static long session(long pid)
            throws IOException
    {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3]);
    }

    private static boolean prometheusInstalled()
    {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(entry -> !entry.isEmpty() && Files.isExecutable(Path.of(entry, "prometheus")));
    }

    private static long number(String text, String regex)
    {
        Matcher matcher = Pattern.compile(regex).matcher(text);
        assertThat(matcher.find()).as("'%s' in:%n%s", regex, text).isTrue();
        return Long.parseLong(matcher.group(1).replace(",", ""));
    }

    private static String log(String name)
            throws IOException
    {
        return Files.readString(directory.resolve(name));
    }

    /** Runs ./pipeline with the arguments, its state and output in the test's directory; returns its exit code. */
    private static int run(String logName, String... arguments)
            throws IOException, InterruptedException
    {
        return run(logName, 8, arguments);
    }

    /** The same, failing the test when it has not ended within {@code minutes}. */
    private static int run(String logName, int minutes, String... arguments)
            throws IOException, InterruptedException
    {
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(directory.resolve(logName).toFile());
        builder.environment().put("PIPELINE_STATE_DIR", directory.resolve("state").toString());
        builder.environment().put("PIPELINE_OUTPUT_DIR", directory.resolve("output").toString());
        // The script's defaults, with the JIT flag of every JVM the tests start (see TestProcesses.SHORT_LIVED_JVM).
        builder.environment().put("JOB_JAVA_OPTS", "-Xmx2g " + TestProcesses.SHORT_LIVED_JVM);
        builder.environment().put("PRODUCER_JAVA_OPTS", "-Xmx256m " + TestProcesses.SHORT_LIVED_JVM);
        Process process = builder.start();
        if (!process.waitFor(minutes, TimeUnit.MINUTES)) {
            // The demo's job and producer too: killed with the script, they would hold the demo's ports.
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            throw new AssertionError("./pipeline " + String.join(" ", arguments) + " did not end in " + minutes + " minutes:\n" + log(logName));
        }
        return process.exitValue();
    }
}
