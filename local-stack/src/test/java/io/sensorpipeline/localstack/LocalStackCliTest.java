package io.sensorpipeline.localstack;

import io.sensorpipeline.localstack.LocalStackCli.Action;
import io.sensorpipeline.localstack.LocalStackCli.Invocation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalStackCliTest
{
    @TempDir
    Path dataDirectory;

    @Test
    void parsesDefaults()
    {
        assertThat(Invocation.parse("kafka", "start"))
                .isEqualTo(new Invocation(Action.START, 9092, 9093, Path.of(".pipeline", "kafka")));
    }

    @Test
    void parsesEveryFlagInBothForms()
    {
        assertThat(Invocation.parse("kafka", "start", "--port", "19092", "--controller-port=19093", "--data-dir", "/tmp/k"))
                .isEqualTo(new Invocation(Action.START, 19092, 19093, Path.of("/tmp/k")));
        assertThat(Invocation.parse("kafka", "status", "--data-dir=/tmp/k").dataDirectory()).isEqualTo(Path.of("/tmp/k"));
        assertThat(Invocation.parse("kafka", "stop", "--help").action()).isEqualTo(Action.HELP);
    }

    @Test
    void rejectsBadArgumentsNamingThem()
    {
        assertThatThrownBy(() -> Invocation.parse())
                .hasMessage("Missing command: expected kafka start, kafka stop or kafka status");
        assertThatThrownBy(() -> Invocation.parse("zookeeper", "start"))
                .hasMessage("Unknown service 'zookeeper': expected kafka");
        assertThatThrownBy(() -> Invocation.parse("kafka"))
                .hasMessage("Missing action after kafka: expected start, stop or status");
        assertThatThrownBy(() -> Invocation.parse("kafka", "restart"))
                .hasMessage("Unknown action 'restart' for kafka: expected start, stop or status");
        assertThatThrownBy(() -> Invocation.parse("kafka", "start", "--port", "abc"))
                .hasMessage("Bad value for --port: 'abc' (expected a port number from 1 to 65535)");
        assertThatThrownBy(() -> Invocation.parse("kafka", "start", "--controller-port=70000"))
                .hasMessage("Bad value for --controller-port: '70000' (expected a port number from 1 to 65535)");
        assertThatThrownBy(() -> Invocation.parse("kafka", "start", "--port"))
                .hasMessage("Flag --port needs a value");
        assertThatThrownBy(() -> Invocation.parse("kafka", "start", "--prot", "1"))
                .hasMessage("Unknown flag --prot for kafka start: expected --controller-port, --data-dir, --port");
        assertThatThrownBy(() -> Invocation.parse("kafka", "stop", "--port", "9092"))
                .hasMessage("Unknown flag --port for kafka stop: expected --data-dir");
        assertThatThrownBy(() -> Invocation.parse("kafka", "start", "9092"))
                .hasMessage("Unexpected argument '9092' for kafka start");
        assertThatThrownBy(() -> Invocation.parse("kafka", "start", "--port", "9093"))
                .hasMessage("--port and --controller-port must differ, both are 9093");
        assertThatThrownBy(() -> Invocation.parse("kafka", "start", "--data-dir="))
                .hasMessage("Bad value for --data-dir: '' (expected a directory path)");
    }

    @Test
    void badFlagExitsWithTwoAndPointsToHelp()
    {
        Result result = run("kafka", "start", "--port", "abc");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.out()).isEmpty();
        assertThat(result.err()).isEqualTo("Bad value for --port: 'abc' (expected a port number from 1 to 65535)\n"
                + "Run with --help for usage.\n");
    }

    @Test
    void helpPrintsUsageOnStdout()
    {
        Result result = run("--help");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).isEqualTo(LocalStackCli.USAGE).contains("kafka start [--port 9092]");
    }

    @Test
    void portInUseNamesThePortAndTheFlag()
            throws IOException
    {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            int controllerPort = port == 65535 ? port - 1 : port + 1;

            Result result = run("kafka", "start", "--port", Integer.toString(port),
                    "--controller-port", Integer.toString(controllerPort), "--data-dir", dataDirectory.toString());

            assertThat(result.exitCode()).isEqualTo(1);
            assertThat(result.err()).contains("Error: port " + port + " on 127.0.0.1 is already in use by another"
                    + " process. Stop that process, or pick another port with --port (for example --port ");
            // Nothing was started or formatted.
            assertThat(dataDirectory).isEmptyDirectory();
        }
    }

    @Test
    void statusAndStopWithoutBroker()
    {
        Result status = run("kafka", "status", "--data-dir", dataDirectory.toString());
        assertThat(status.exitCode()).isEqualTo(3);
        assertThat(status.out()).isEqualTo("Kafka not running (data " + dataDirectory + ")\n");

        Result stop = run("kafka", "stop", "--data-dir", dataDirectory.toString());
        assertThat(stop.exitCode()).isZero();
        assertThat(stop.out()).isEqualTo("Kafka not running (no broker.pid in " + dataDirectory + ")\n");
    }

    @Test
    void stopNeverSignalsAProcessThatIsNotTheBroker()
            throws Exception
    {
        // A live process whose id is in the PID file, as after a reboot reused the broker's id.
        Process stranger = new ProcessBuilder("sleep", "60").start();
        try {
            Files.writeString(dataDirectory.resolve("broker.pid"), stranger.pid() + "\n");

            assertThat(run("kafka", "status", "--data-dir", dataDirectory.toString()).exitCode()).isEqualTo(3);
            Result stop = run("kafka", "stop", "--data-dir", dataDirectory.toString());

            assertThat(stop.exitCode()).isZero();
            assertThat(stop.err()).contains("removing stale " + dataDirectory.resolve("broker.pid"));
            assertThat(stranger.waitFor(500, TimeUnit.MILLISECONDS)).as("the stranger was signalled").isFalse();
            assertThat(dataDirectory.resolve("broker.pid")).doesNotExist();
        }
        finally {
            stranger.destroyForcibly();
        }
    }

    private static Result run(String... arguments)
    {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exitCode = LocalStackCli.run(arguments, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private record Result(int exitCode, String out, String err) {}
}
