package io.sensorpipeline.localstack;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * A real Kafka broker (KRaft, one node that is both broker and controller) in its own JVM, bound to 127.0.0.1.
 *
 * <p>The broker's jars are not on this class's classpath: the build lists them in the resource
 * {@code broker.classpath}, so a module that uses the launcher keeps its own kafka-clients version.
 *
 * <pre>{@code
 * try (KafkaBroker broker = KafkaBroker.onFreePorts(directory)) {
 *     broker.start();
 *     broker.createTopic("sensor-readings", 2);
 *     // ... clients use broker.bootstrapServers() ...
 * }
 * }</pre>
 *
 * <p>Files in the data directory: {@code server.properties}, {@code log4j2.properties}, {@code broker.log} (everything
 * the broker and the storage tool print, appended across restarts) and {@code kafka-logs/} (topics and the metadata
 * log, kept across restarts).
 */
public final class KafkaBroker
        implements AutoCloseable
{
    public static final String HOST = LocalProcesses.HOST;

    static final String MAIN_CLASS = "kafka.Kafka";
    private static final String STORAGE_TOOL = "kafka.tools.StorageTool";
    private static final String TOPIC_COMMAND = "org.apache.kafka.tools.TopicCommand";
    private static final String CLASSPATH_RESOURCE = "broker.classpath";
    // Logged by KafkaRaftServer once every listener accepts requests.
    private static final String STARTED_MESSAGE = "Kafka Server started";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(100);
    private static final int LOG_TAIL_LINES = 40;

    private final Path dataDirectory;
    private final int port;
    private final int controllerPort;
    private final boolean outlivesJvm;
    private final List<String> jvmOptions;
    private final Consumer<String> progress;

    // Guarded by this: the broker process of the latest start(), and the hook that stops it if this JVM exits first.
    private Process process;
    private Thread shutdownHook;

    private KafkaBroker(Builder builder)
    {
        this.dataDirectory = builder.dataDirectory.toAbsolutePath().normalize();
        this.port = builder.port;
        this.controllerPort = builder.controllerPort;
        this.outlivesJvm = builder.outlivesJvm;
        this.jvmOptions = builder.jvmOptions;
        this.progress = builder.progress;
    }

    public static Builder builder(Path dataDirectory)
    {
        return new Builder(dataDirectory);
    }

    /** A broker on two ports that are free on 127.0.0.1 now, for tests that run next to other brokers. */
    public static KafkaBroker onFreePorts(Path dataDirectory)
    {
        return builder(dataDirectory).freePorts().build();
    }

    /**
     * Starts the broker and returns once it accepts clients. Formats the storage only the first time, so a restart
     * (after {@link #stop()} or {@link #kill()}) keeps the topics and listens on the same ports. Does nothing if this
     * broker already runs.
     *
     * @throws IllegalStateException if a port is taken, or the broker exits or is not ready within 60 s; the message
     *     quotes the end of broker.log
     */
    public synchronized void start()
    {
        if (isRunning()) {
            return;
        }
        requirePortFree(port, "client");
        requirePortFree(controllerPort, "controller");
        progress.accept("starting Kafka on " + bootstrapServers() + " (data " + dataDirectory + ")");
        try {
            Files.createDirectories(dataDirectory);
            Path serverProperties = writeServerProperties();
            Path loggingConfiguration = writeLoggingConfiguration();
            if (!Files.exists(kafkaLogDirectory().resolve("meta.properties"))) {
                progress.accept("formatting storage in " + kafkaLogDirectory());
                formatStorage(serverProperties, loggingConfiguration);
            }
            long logOffset = logSize();
            progress.accept("waiting for broker (log " + logFile() + ")");
            List<String> brokerOptions = new ArrayList<>(List.of("-Xmx1g"));
            brokerOptions.addAll(jvmOptions);
            ProcessBuilder brokerProcess = javaProcess(loggingConfiguration, brokerOptions, MAIN_CLASS,
                    serverProperties.toString());
            if (outlivesJvm) {
                // A new session keeps the broker alive when the terminal that ran the CLI sends SIGINT or SIGHUP.
                setsid().ifPresent(setsid -> brokerProcess.command().add(0, setsid));
            }
            Process started = brokerProcess
                    .directory(dataDirectory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                    .start();
            // The broker reads no input; closing the pipe leaves it nothing tied to this JVM.
            started.getOutputStream().close();
            process = started;
            // Until it is ready the broker dies with this JVM, so an interrupted start leaves nothing behind.
            shutdownHook = new Thread(() -> LocalProcesses.terminate(started.toHandle(), STOP_TIMEOUT), "stop-kafka-" + port);
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            awaitReady(started, logOffset);
            if (outlivesJvm) {
                removeShutdownHook();
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot start Kafka in " + dataDirectory + ": " + e.getMessage(), e);
        }
    }

    /** Stops the broker with SIGTERM, and SIGKILL if it is still running after 30 s. Does nothing if it is not running. */
    public synchronized void stop()
    {
        if (process == null) {
            return;
        }
        LocalProcesses.terminate(process.toHandle(), STOP_TIMEOUT);
        removeShutdownHook();
    }

    /** Kills the broker with SIGKILL, as a crash would, and returns once it has exited. */
    public synchronized void kill()
    {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        LocalProcesses.awaitExit(process.toHandle(), STOP_TIMEOUT);
        removeShutdownHook();
    }

    @Override
    public void close()
    {
        stop();
    }

    public synchronized boolean isRunning()
    {
        return process != null && process.isAlive();
    }

    /** The process id of the broker of the latest {@link #start()}. */
    public synchronized long pid()
    {
        if (process == null) {
            throw new IllegalStateException("Kafka broker in " + dataDirectory + " was never started");
        }
        return process.pid();
    }

    public String bootstrapServers()
    {
        return HOST + ":" + port;
    }

    public int port()
    {
        return port;
    }

    public int controllerPort()
    {
        return controllerPort;
    }

    public Path dataDirectory()
    {
        return dataDirectory;
    }

    public Path logFile()
    {
        return dataDirectory.resolve("broker.log");
    }

    /** Creates a topic with replication factor 1; does nothing if it exists. Throws with the tool's output if it fails. */
    public void createTopic(String name, int partitions)
    {
        requireNonNull(name, "name is null");
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1, got " + partitions);
        }
        runTool(TOOL_TIMEOUT, TOPIC_COMMAND, "--create", "--if-not-exists", "--bootstrap-server", bootstrapServers(),
                "--topic", name, "--partitions", Integer.toString(partitions), "--replication-factor", "1");
    }

    /**
     * The classpath of the broker JVM (Kafka 4.3.1 with kafka-tools and log4j2), for running Kafka's own tools such as
     * {@code org.apache.kafka.tools.ProducerPerformance} in a subprocess.
     */
    public static String classpath()
    {
        try (InputStream resource = KafkaBroker.class.getResourceAsStream(CLASSPATH_RESOURCE)) {
            if (resource == null) {
                throw new IllegalStateException("local-stack was built without broker.classpath: run mvn package");
            }
            return new String(resource.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + CLASSPATH_RESOURCE, e);
        }
    }

    /**
     * Runs a main class of Kafka's tools with {@link #classpath()} in its own JVM and returns what it printed (stdout
     * and stderr together).
     *
     * @throws IllegalStateException with that output if the tool exits with a non-zero code or outlives the timeout
     */
    public static String runTool(Duration timeout, String mainClass, String... arguments)
    {
        requireNonNull(timeout, "timeout is null");
        requireNonNull(mainClass, "mainClass is null");
        String commandLine = mainClass + " " + String.join(" ", arguments);
        Path output = null;
        try {
            // A file rather than a pipe: the tool cannot block on a full pipe, and a timeout still leaves its output.
            output = Files.createTempFile("kafka-tool", ".log");
            Process tool = javaProcess(null, List.of(), mainClass, arguments)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .start();
            tool.getOutputStream().close();
            if (!tool.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                tool.destroyForcibly();
                LocalProcesses.awaitExit(tool.toHandle(), STOP_TIMEOUT);
                throw new IllegalStateException("Timed out after " + timeout.toSeconds() + " s: " + commandLine
                        + "\n" + Files.readString(output));
            }
            String printed = Files.readString(output);
            if (tool.exitValue() != 0) {
                throw new IllegalStateException("Failed with exit code " + tool.exitValue() + ": " + commandLine
                        + "\n" + printed);
            }
            return printed;
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot run " + commandLine, e);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running " + commandLine, e);
        }
        finally {
            deleteQuietly(output);
        }
    }

    /** Whether the process is a broker started by this class for the data directory (and not a reused process id). */
    static boolean isBrokerProcess(ProcessHandle handle, Path dataDirectory)
    {
        String serverProperties = serverPropertiesOf(dataDirectory.toAbsolutePath().normalize()).toString();
        List<String> arguments = handle.info().arguments().map(Arrays::asList).orElse(List.of());
        return handle.isAlive() && arguments.contains(MAIN_CLASS) && arguments.contains(serverProperties);
    }

    static boolean isPortFree(int port)
    {
        // SO_REUSEADDR as the broker's own socket has it: a port whose old connections linger in TIME_WAIT after a
        // kill is free for the broker, so it must be free here too.
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(HOST, port));
            return true;
        }
        catch (IOException e) {
            return false;
        }
    }

    private Path writeServerProperties()
            throws IOException
    {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("process.roles", "broker,controller");
        settings.put("node.id", "1");
        settings.put("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        settings.put("listeners", "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        settings.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
        settings.put("controller.listener.names", "CONTROLLER");
        settings.put("inter.broker.listener.name", "PLAINTEXT");
        settings.put("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
        settings.put("log.dirs", kafkaLogDirectory().toString());
        // One node: every internal topic has one replica, or the coordinators never come up.
        settings.put("offsets.topic.replication.factor", "1");
        settings.put("transaction.state.log.replication.factor", "1");
        settings.put("transaction.state.log.min.isr", "1");
        settings.put("share.coordinator.state.topic.replication.factor", "1");
        settings.put("share.coordinator.state.topic.min.isr", "1");
        // Consumers in tests and the demo get their partitions at once instead of after 3 s.
        settings.put("group.initial.rebalance.delay.ms", "0");
        // After a kill, the dead broker's registration blocks the new one until its session expires: 3 s instead of
        // 9 s. Heartbeats every 0.5 s keep six per session (the default is 4.5), so a live broker is not fenced.
        settings.put("broker.session.timeout.ms", "3000");
        settings.put("broker.heartbeat.interval.ms", "500");
        // A producer writing to a topic that was never created must fail, as it does on a real cluster.
        settings.put("auto.create.topics.enable", "false");
        String text = settings.entrySet().stream()
                .map(setting -> setting.getKey() + "=" + setting.getValue())
                .collect(Collectors.joining("\n", "# Written by " + KafkaBroker.class.getName() + " on every start.\n", "\n"));
        Path file = serverPropertiesOf(dataDirectory);
        Files.writeString(file, text);
        return file;
    }

    private Path writeLoggingConfiguration()
            throws IOException
    {
        // The broker's stdout is appended to broker.log, so a console appender puts its INFO log there with one writer.
        String text = """
                status = warn
                appender.console.type = Console
                appender.console.name = console
                appender.console.layout.type = PatternLayout
                appender.console.layout.pattern = [%d] %p %m (%c)%n
                rootLogger.level = INFO
                rootLogger.appenderRef.console.ref = console
                """;
        Path file = dataDirectory.resolve("log4j2.properties");
        Files.writeString(file, text);
        return file;
    }

    private void formatStorage(Path serverProperties, Path loggingConfiguration)
            throws IOException
    {
        long logOffset = logSize();
        Process format = javaProcess(loggingConfiguration, jvmOptions, STORAGE_TOOL,
                "format", "-t", newClusterId(), "-c", serverProperties.toString())
                .directory(dataDirectory.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                .start();
        format.getOutputStream().close();
        try {
            if (!format.waitFor(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                format.destroyForcibly();
                throw new IllegalStateException("Formatting Kafka storage took longer than "
                        + START_TIMEOUT.toSeconds() + " s" + logTail(logOffset));
            }
        }
        catch (InterruptedException e) {
            format.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while formatting Kafka storage", e);
        }
        if (format.exitValue() != 0) {
            throw new IllegalStateException("Formatting Kafka storage failed with exit code " + format.exitValue()
                    + logTail(logOffset));
        }
    }

    private void awaitReady(Process broker, long logOffset)
            throws IOException
    {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        boolean logged = false;
        while (true) {
            if (!broker.isAlive()) {
                removeShutdownHook();
                throw new IllegalStateException("Kafka broker exited with code " + broker.exitValue()
                        + " before it was ready" + logTail(logOffset));
            }
            // The log line alone is not enough for a client: the port must accept connections as well.
            logged = logged || readFrom(logFile(), logOffset).contains(STARTED_MESSAGE);
            if (logged && LocalProcesses.accepts(port)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                broker.destroyForcibly();
                LocalProcesses.awaitExit(broker.toHandle(), STOP_TIMEOUT);
                removeShutdownHook();
                throw new IllegalStateException("Kafka broker was not ready within " + START_TIMEOUT.toSeconds()
                        + " s and was killed" + logTail(logOffset));
            }
            try {
                Thread.sleep(POLL_INTERVAL.toMillis());
            }
            catch (InterruptedException e) {
                broker.destroyForcibly();
                removeShutdownHook();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for the Kafka broker; it was killed", e);
            }
        }
    }

    private void removeShutdownHook()
    {
        if (shutdownHook == null) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        }
        catch (IllegalStateException e) {
            // The JVM is already exiting: the hook runs anyway and stops the broker.
        }
        shutdownHook = null;
    }

    private String logTail(long logOffset)
    {
        try {
            List<String> lines = readFrom(logFile(), logOffset).lines().collect(Collectors.toList());
            // The cause is usually the first ERROR; a dying broker then logs dozens of shutdown lines after it.
            String firstError = "";
            for (int index = 0; index < lines.size(); index++) {
                String line = lines.get(index);
                if (line.contains(" ERROR ") || line.contains(" FATAL ")) {
                    // The line and the exception under it.
                    firstError = "\n--- first error in " + logFile() + " ---\n"
                            + String.join("\n", lines.subList(index, Math.min(lines.size(), index + 4)));
                    break;
                }
            }
            List<String> tail = lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size());
            return firstError + "\n--- last lines of " + logFile() + " ---\n" + String.join("\n", tail);
        }
        catch (IOException e) {
            return " (cannot read " + logFile() + ": " + e.getMessage() + ")";
        }
    }

    private long logSize()
            throws IOException
    {
        return Files.exists(logFile()) ? Files.size(logFile()) : 0;
    }

    private Path kafkaLogDirectory()
    {
        return dataDirectory.resolve("kafka-logs");
    }

    private static Path serverPropertiesOf(Path dataDirectory)
    {
        return dataDirectory.resolve("server.properties");
    }

    private static ProcessBuilder javaProcess(Path loggingConfiguration, List<String> jvmOptions, String mainClass,
            String... arguments)
    {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        if (loggingConfiguration != null) {
            command.add("-Dlog4j2.configurationFile=" + loggingConfiguration);
        }
        command.add(mainClass);
        command.addAll(Arrays.asList(arguments));
        ProcessBuilder builder = new ProcessBuilder(command);
        // The classpath goes in the environment, not in -cp: with 90 jars the command line passes 4 KB, and past that
        // ProcessHandle.Info reports no arguments, so isBrokerProcess could not recognise the broker.
        builder.environment().put("CLASSPATH", classpath());
        return builder;
    }

    /** A cluster id as Kafka's Uuid.randomUuid makes it: 16 random bytes, URL-safe base64, never starting with '-'. */
    private static String newClusterId()
    {
        while (true) {
            UUID uuid = UUID.randomUUID();
            byte[] bytes = new byte[16];
            for (int index = 0; index < 8; index++) {
                bytes[index] = (byte) (uuid.getMostSignificantBits() >>> (56 - 8 * index));
                bytes[8 + index] = (byte) (uuid.getLeastSignificantBits() >>> (56 - 8 * index));
            }
            String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            if (!id.startsWith("-")) {
                return id;
            }
        }
    }

    private static Optional<String> setsid()
    {
        return List.of("/usr/bin/setsid", "/bin/setsid").stream()
                .filter(candidate -> Files.isExecutable(Path.of(candidate)))
                .findFirst();
    }

    private static void requirePortFree(int port, String role)
    {
        if (!isPortFree(port)) {
            throw new IllegalStateException("Kafka " + role + " port " + HOST + ":" + port
                    + " is already in use by another process");
        }
    }

    private static String readFrom(Path file, long offset)
            throws IOException
    {
        if (!Files.exists(file)) {
            return "";
        }
        try (RandomAccessFile input = new RandomAccessFile(file.toFile(), "r")) {
            long start = Math.min(offset, input.length());
            byte[] bytes = new byte[Math.toIntExact(input.length() - start)];
            input.seek(start);
            input.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private static void deleteQuietly(Path file)
    {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        }
        catch (IOException e) {
            // A leftover temporary file is harmless.
        }
    }

    public static final class Builder
    {
        private final Path dataDirectory;
        private int port = 9092;
        private int controllerPort = 9093;
        private boolean outlivesJvm;
        private List<String> jvmOptions = List.of();
        private Consumer<String> progress = message -> { };

        private Builder(Path dataDirectory)
        {
            this.dataDirectory = requireNonNull(dataDirectory, "dataDirectory is null");
        }

        /** The client (PLAINTEXT) port; 9092 by default. */
        public Builder port(int port)
        {
            this.port = checkPort(port, "port");
            return this;
        }

        /** The KRaft controller port; 9093 by default. */
        public Builder controllerPort(int controllerPort)
        {
            this.controllerPort = checkPort(controllerPort, "controllerPort");
            return this;
        }

        /** Two ports that are free on 127.0.0.1 now, as the client and the controller port. */
        public Builder freePorts()
        {
            int[] ports = LocalProcesses.freePorts(2);
            return port(ports[0]).controllerPort(ports[1]);
        }

        /**
         * Leaves the broker running when this JVM exits, as the CLI needs. Without it a broker that was not stopped
         * is stopped when the JVM exits, so a test run leaves no broker behind.
         */
        public Builder outliveJvm()
        {
            this.outlivesJvm = true;
            return this;
        }

        /**
         * Options of the broker's JVM, after its -Xmx1g, and of the JVM that formats its storage; none by default.
         * The tests' brokers run with the C1 compiler alone, for instance: they live for a minute or two.
         */
        public Builder jvmOptions(String... jvmOptions)
        {
            this.jvmOptions = List.of(jvmOptions);
            return this;
        }

        /** Receives a line for each step of start(), such as the CLI's progress on stderr. */
        public Builder progress(Consumer<String> progress)
        {
            this.progress = requireNonNull(progress, "progress is null");
            return this;
        }

        public KafkaBroker build()
        {
            if (port == controllerPort) {
                throw new IllegalArgumentException("port and controllerPort must differ, both are " + port);
            }
            return new KafkaBroker(this);
        }

        private static int checkPort(int port, String name)
        {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(name + " must be from 1 to 65535, got " + port);
            }
            return port;
        }
    }
}
