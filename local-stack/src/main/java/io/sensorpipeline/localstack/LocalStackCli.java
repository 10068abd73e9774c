package io.sensorpipeline.localstack;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Starts, stops and reports the local Kafka broker of the demo and the benchmarks. The broker keeps running after
 * {@code kafka start} returns; its PID and ports are kept in the data directory for {@code stop} and {@code status}.
 *
 * <pre>
 * java -cp local-stack/target/local-stack.jar io.sensorpipeline.localstack.LocalStackCli kafka start --port 9092
 * </pre>
 */
public final class LocalStackCli
{
    static final int EXIT_OK = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_NOT_RUNNING = 3;

    static final String USAGE = """
            Usage: LocalStackCli kafka start [--port 9092] [--controller-port 9093] [--data-dir .pipeline/kafka]
                   LocalStackCli kafka stop [--data-dir .pipeline/kafka]
                   LocalStackCli kafka status [--data-dir .pipeline/kafka]
                   LocalStackCli --help

              kafka start   start a Kafka broker (KRaft) on 127.0.0.1 in its own JVM and return once it is ready;
                            it keeps running after this command exits. Does nothing if it already runs.
              kafka stop    stop the broker of the data dir (SIGTERM, SIGKILL after 30 s).
              kafka status  print whether the broker of the data dir runs; exit code 0 if it does, 3 if not.

            Topics and the broker log (broker.log) are kept in the data dir across restarts.
            """;

    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final String PID_FILE = "broker.pid";
    private static final String PORTS_FILE = "broker.ports";

    private final PrintStream out;
    private final PrintStream err;

    private LocalStackCli(PrintStream out, PrintStream err)
    {
        this.out = requireNonNull(out, "out is null");
        this.err = requireNonNull(err, "err is null");
    }

    public static void main(String[] arguments)
    {
        System.exit(run(arguments, System.out, System.err));
    }

    /** Runs one command and returns its exit code; results go to {@code out}, progress and errors to {@code err}. */
    static int run(String[] arguments, PrintStream out, PrintStream err)
    {
        Invocation invocation;
        try {
            invocation = Invocation.parse(arguments);
        }
        catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            err.println("Run with --help for usage.");
            return EXIT_USAGE;
        }
        LocalStackCli cli = new LocalStackCli(out, err);
        try {
            return switch (invocation.action()) {
                case HELP -> cli.help();
                case START -> cli.start(invocation);
                case STOP -> cli.stop(invocation.dataDirectory());
                case STATUS -> cli.status(invocation.dataDirectory());
            };
        }
        catch (RuntimeException e) {
            err.println("Error: " + e.getMessage());
            return EXIT_FAILURE;
        }
    }

    private int help()
    {
        out.print(USAGE);
        return EXIT_OK;
    }

    private int start(Invocation invocation)
    {
        Path dataDirectory = invocation.dataDirectory();
        Optional<ProcessHandle> running = runningBroker(dataDirectory);
        if (running.isPresent()) {
            String address = bootstrapServers(dataDirectory);
            if (!address.equals(KafkaBroker.HOST + ":" + invocation.port())) {
                err.println("Note: the running broker listens on " + address + ", not on port " + invocation.port());
            }
            out.println("Kafka already running at " + address + " (pid " + running.get().pid() + ")");
            return EXIT_OK;
        }
        removeStalePidFile(dataDirectory);
        if (isTaken(invocation.port(), "--port") || isTaken(invocation.controllerPort(), "--controller-port")) {
            return EXIT_FAILURE;
        }
        KafkaBroker broker = KafkaBroker.builder(dataDirectory)
                .port(invocation.port())
                .controllerPort(invocation.controllerPort())
                .outliveJvm()
                .progress(err::println)
                .build();
        broker.start();
        writeState(dataDirectory, broker);
        out.println("Kafka broker ready: bootstrap.servers=" + broker.bootstrapServers() + " (pid " + broker.pid()
                + ", data " + dataDirectory + ", log " + dataDirectory.resolve(broker.logFile().getFileName()) + ")");
        return EXIT_OK;
    }

    private boolean isTaken(int port, String flag)
    {
        if (KafkaBroker.isPortFree(port)) {
            return false;
        }
        int suggestion = port < 55535 ? port + 10000 : port - 10000;
        err.println("Error: port " + port + " on " + KafkaBroker.HOST + " is already in use by another process. Stop"
                + " that process, or pick another port with " + flag + " (for example " + flag + " " + suggestion + ").");
        return true;
    }

    private int stop(Path dataDirectory)
    {
        Optional<Long> pid = readPid(dataDirectory);
        if (pid.isEmpty()) {
            out.println("Kafka not running (no " + PID_FILE + " in " + dataDirectory + ")");
            return EXIT_OK;
        }
        Optional<ProcessHandle> running = runningBroker(dataDirectory);
        if (running.isEmpty()) {
            removeStalePidFile(dataDirectory);
            out.println("Kafka not running (data " + dataDirectory + ")");
            return EXIT_OK;
        }
        err.println("stopping Kafka (pid " + pid.get() + ")");
        boolean killed = LocalProcesses.terminate(running.get(), STOP_TIMEOUT);
        if (running.get().isAlive()) {
            err.println("Error: Kafka (pid " + pid.get() + ") is still running after SIGKILL");
            return EXIT_FAILURE;
        }
        deleteStateFiles(dataDirectory);
        out.println("Kafka stopped (pid " + pid.get() + (killed ? ", killed after " + STOP_TIMEOUT.toSeconds()
                + " s without exiting on SIGTERM" : "") + ")");
        return EXIT_OK;
    }

    private int status(Path dataDirectory)
    {
        Optional<ProcessHandle> running = runningBroker(dataDirectory);
        if (running.isEmpty()) {
            out.println("Kafka not running (data " + dataDirectory + ")");
            return EXIT_NOT_RUNNING;
        }
        out.println("Kafka running at " + bootstrapServers(dataDirectory) + " (pid " + running.get().pid() + ", data "
                + dataDirectory + ")");
        return EXIT_OK;
    }

    /** The broker named by the PID file, if that process is alive and is the broker of this data directory. */
    private static Optional<ProcessHandle> runningBroker(Path dataDirectory)
    {
        return readPid(dataDirectory)
                .filter(pid -> pid > 0)
                .flatMap(ProcessHandle::of)
                .filter(handle -> KafkaBroker.isBrokerProcess(handle, dataDirectory));
    }

    private void removeStalePidFile(Path dataDirectory)
    {
        Optional<Long> pid = readPid(dataDirectory);
        if (pid.isPresent()) {
            // The process id may belong to another program by now, so it is never signalled, only forgotten.
            err.println("removing stale " + dataDirectory.resolve(PID_FILE) + " (pid " + pid.get()
                    + " is not a running broker)");
            deleteStateFiles(dataDirectory);
        }
    }

    private static Optional<Long> readPid(Path dataDirectory)
    {
        Path file = dataDirectory.resolve(PID_FILE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseLong(Files.readString(file).strip()));
        }
        catch (NumberFormatException e) {
            // A damaged PID file names no process; start and stop treat it as stale.
            return Optional.of(-1L);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }

    private static String bootstrapServers(Path dataDirectory)
    {
        Properties ports = new Properties();
        try (BufferedReader reader = Files.newBufferedReader(dataDirectory.resolve(PORTS_FILE))) {
            ports.load(reader);
        }
        catch (IOException e) {
            return "(unknown address: cannot read " + dataDirectory.resolve(PORTS_FILE) + ")";
        }
        return ports.getProperty("bootstrap.servers");
    }

    private static void writeState(Path dataDirectory, KafkaBroker broker)
    {
        try {
            // The PID file holds only the number, so scripts can use `kill $(cat broker.pid)`.
            Files.writeString(dataDirectory.resolve(PID_FILE), broker.pid() + "\n");
            Files.writeString(dataDirectory.resolve(PORTS_FILE), "bootstrap.servers=" + broker.bootstrapServers()
                    + "\nport=" + broker.port() + "\ncontroller.port=" + broker.controllerPort() + "\n");
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot write the PID file in " + dataDirectory, e);
        }
    }

    private static void deleteStateFiles(Path dataDirectory)
    {
        try {
            Files.deleteIfExists(dataDirectory.resolve(PID_FILE));
            Files.deleteIfExists(dataDirectory.resolve(PORTS_FILE));
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the PID file in " + dataDirectory, e);
        }
    }

    enum Action
    {
        HELP, START, STOP, STATUS
    }

    /** A parsed command line; parse() throws IllegalArgumentException with a message that names the bad argument. */
    record Invocation(Action action, int port, int controllerPort, Path dataDirectory)
    {
        static final int DEFAULT_PORT = 9092;
        static final int DEFAULT_CONTROLLER_PORT = 9093;
        static final Path DEFAULT_DATA_DIRECTORY = Path.of(".pipeline", "kafka");

        Invocation
        {
            requireNonNull(action, "action is null");
            requireNonNull(dataDirectory, "dataDirectory is null");
        }

        static Invocation parse(String... arguments)
        {
            for (String argument : arguments) {
                if (argument.equals("--help") || argument.equals("-h") || argument.equals("help")) {
                    return new Invocation(Action.HELP, DEFAULT_PORT, DEFAULT_CONTROLLER_PORT, DEFAULT_DATA_DIRECTORY);
                }
            }
            if (arguments.length == 0) {
                throw new IllegalArgumentException("Missing command: expected kafka start, kafka stop or kafka status");
            }
            if (!arguments[0].equals("kafka")) {
                throw new IllegalArgumentException("Unknown service '" + arguments[0] + "': expected kafka");
            }
            if (arguments.length == 1) {
                throw new IllegalArgumentException("Missing action after kafka: expected start, stop or status");
            }
            Action action = switch (arguments[1]) {
                case "start" -> Action.START;
                case "stop" -> Action.STOP;
                case "status" -> Action.STATUS;
                default -> throw new IllegalArgumentException("Unknown action '" + arguments[1]
                        + "' for kafka: expected start, stop or status");
            };
            Set<String> allowed = action == Action.START
                    ? Set.of("--port", "--controller-port", "--data-dir")
                    : Set.of("--data-dir");
            int port = DEFAULT_PORT;
            int controllerPort = DEFAULT_CONTROLLER_PORT;
            Path dataDirectory = DEFAULT_DATA_DIRECTORY;
            for (int index = 2; index < arguments.length; index++) {
                String argument = arguments[index];
                if (!argument.startsWith("--")) {
                    throw new IllegalArgumentException("Unexpected argument '" + argument + "' for kafka "
                            + arguments[1]);
                }
                // Both --port 9092 and --port=9092.
                int equals = argument.indexOf('=');
                String flag = equals < 0 ? argument : argument.substring(0, equals);
                if (!allowed.contains(flag)) {
                    throw new IllegalArgumentException("Unknown flag " + flag + " for kafka " + arguments[1]
                            + ": expected " + String.join(", ", allowed.stream().sorted().toList()));
                }
                String value;
                if (equals >= 0) {
                    value = argument.substring(equals + 1);
                }
                else if (index + 1 < arguments.length) {
                    value = arguments[++index];
                }
                else {
                    throw new IllegalArgumentException("Flag " + flag + " needs a value");
                }
                switch (flag) {
                    case "--port" -> port = parsePort(flag, value);
                    case "--controller-port" -> controllerPort = parsePort(flag, value);
                    default -> dataDirectory = parseDirectory(flag, value);
                }
            }
            if (port == controllerPort) {
                throw new IllegalArgumentException("--port and --controller-port must differ, both are " + port);
            }
            return new Invocation(action, port, controllerPort, dataDirectory);
        }

        private static int parsePort(String flag, String value)
        {
            try {
                int port = Integer.parseInt(value);
                if (port >= 1 && port <= 65535) {
                    return port;
                }
            }
            catch (NumberFormatException e) {
                // Reported below with the same message as an out-of-range number.
            }
            throw new IllegalArgumentException("Bad value for " + flag + ": '" + value
                    + "' (expected a port number from 1 to 65535)");
        }

        private static Path parseDirectory(String flag, String value)
        {
            if (value.isBlank()) {
                throw new IllegalArgumentException("Bad value for " + flag + ": '" + value
                        + "' (expected a directory path)");
            }
            return Path.of(value);
        }
    }
}
