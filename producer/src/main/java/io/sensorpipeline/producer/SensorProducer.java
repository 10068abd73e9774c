package io.sensorpipeline.producer;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sensorpipeline.common.DataFiles;
import io.sensorpipeline.common.EventStream;
import io.sensorpipeline.common.FleetSimulator;
import io.sensorpipeline.common.SensorCatalog;
import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.common.settings.SettingsLoader;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Simulates a fleet of IoT sensors and sends their JSON readings to Kafka, keyed by sensorId.
 *
 * <pre>
 * java -jar producer/target/producer.jar --bootstrap-servers 127.0.0.1:9092 --create-topic --rate 5000 --duration 60s
 * java -jar producer/target/producer.jar --replay data/sample-events.jsonl --rate 0
 * </pre>
 *
 * Progress goes to stderr every few seconds; a one-line JSON summary goes to stdout at the end. Exit codes: 0 done
 * (also after SIGINT or SIGTERM, which flush and summarise first), 1 a fatal Kafka error, 2 bad flags or settings.
 */
public final class SensorProducer
{
    static final int EXIT_OK = 0;
    static final int EXIT_FATAL = 1;
    static final int EXIT_USAGE = 2;

    private static final ObjectMapper JSON = new ObjectMapper();

    private SensorProducer() {}

    public static void main(String[] arguments)
    {
        AtomicBoolean stopRequested = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);
        int[] exitCode = {EXIT_OK};
        Thread shutdownHook = new Thread(() -> {
            if (finished.getCount() == 0) {
                // A normal exit: main is done; let the JVM's other hooks (flight recorder, logging) run.
                return;
            }
            // On SIGINT/SIGTERM: stop generating, let main flush and print the summary, then exit with main's code
            // (0 after a clean stop) instead of the JVM's 130/143.
            stopRequested.set(true);
            try {
                if (finished.await(60, TimeUnit.SECONDS)) {
                    System.out.flush();
                    System.err.flush();
                    Runtime.getRuntime().halt(exitCode[0]);
                }
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "producer-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            exitCode[0] = run(Arrays.asList(arguments), System.getenv(), System.out, System.err, stopRequested);
        }
        catch (RuntimeException | Error e) {
            // A bug, not a user's mistake: say so with the trace, and exit now instead of waiting in the shutdown hook.
            System.err.println("producer: unexpected error: " + e);
            e.printStackTrace(System.err);
            exitCode[0] = EXIT_FATAL;
        }
        finally {
            finished.countDown();
        }
        System.exit(exitCode[0]);
    }

    static int run(List<String> arguments, Map<String, String> environment, PrintStream out, PrintStream err, AtomicBoolean stopRequested)
    {
        if (SettingsLoader.wantsHelp(arguments)) {
            out.print(usage());
            return EXIT_OK;
        }
        ProducerSettings settings;
        SensorCatalog catalog;
        Properties kafka;
        try {
            settings = ProducerSettings.load(arguments, environment);
            catalog = settings.sensorFile().map(SensorProducer::loadCatalog).orElseGet(DataFiles::defaultCatalog);
            if (settings.sensors() > catalog.size()) {
                throw new SettingsException("invalid setting sensors=" + settings.sensors() + ": the sensor catalog has only "
                        + catalog.size() + " sensors (give a larger --sensor-file)");
            }
            kafka = kafkaProperties(settings);
            checkKafkaProperties(kafka);
        }
        catch (SettingsException | IllegalArgumentException e) {
            err.println("producer: " + e.getMessage().replaceFirst("^producer: ", ""));
            return EXIT_USAGE;
        }

        try {
            ensureTopic(settings, kafka, err);
        }
        catch (FatalException e) {
            err.println("producer: " + e.getMessage());
            return EXIT_FATAL;
        }
        catch (KafkaException e) {
            // The client could not be created, such as when no bootstrap address resolves.
            err.println("producer: cannot reach Kafka at " + settings.bootstrapServers() + ": " + rootMessage(e)
                    + ". Check --bootstrap-servers, and that the broker runs and its name resolves here.");
            return EXIT_FATAL;
        }

        RecordSource records = settings.replay().<RecordSource>map(ReplaySource::new).orElseGet(() -> {
            Instant start = settings.effectiveStartTime(Instant.now());
            FleetSimulator simulator = new FleetSimulator(catalog.first(settings.sensors()), settings.seed(), start,
                    settings.effectiveSensorInterval());
            return new SimulatedSource(new EventStream(simulator, settings.faults(), settings.seed()));
        });
        RecordSource source = new PrefetchingSource(records);
        ProducerStats stats = new ProducerStats();
        ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "producer-progress");
            thread.setDaemon(true);
            return thread;
        });
        ProducerMetrics metrics = null;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka); source) {
            if (settings.metricsPort().isPresent()) {
                try {
                    metrics = ProducerMetrics.start(settings.metricsHost(), settings.metricsPort().get(), stats, () -> retries(producer.metrics()));
                }
                catch (IllegalArgumentException e) {
                    err.println("producer: " + e.getMessage());
                    return EXIT_USAGE;
                }
                err.println("producer: metrics on " + metrics.url());
            }
            // The clock starts once the client exists, as in Kafka's ProducerPerformance, so rates compare.
            long startNanos = System.nanoTime();
            err.printf(Locale.ROOT, "producer: sending to topic %s at %s, %s%n", settings.topic(), settings.bootstrapServers(),
                    settings.rate() == 0 ? "as fast as possible" : settings.rate() + " events/s");
            ProgressLine line = new ProgressLine(stats, () -> retries(producer.metrics()), startNanos, err);
            long periodMillis = settings.progressInterval().toMillis();
            progress.scheduleAtFixedRate(line::print, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
            ProducerLoop loop = new ProducerLoop(producer, settings.topic(), source, new RatePacer(settings.rate(), Ticker.SYSTEM),
                    settings.count(), settings.duration(), Ticker.SYSTEM, stats, stopRequested);
            String stoppedBy = loop.run();
            progress.shutdownNow();
            double elapsed = (System.nanoTime() - startNanos) / 1e9;
            out.println(JSON.writeValueAsString(stats.summary(settings.topic(), retries(producer.metrics()), elapsed, stoppedBy)));
            out.flush();
            if (loop.failure().isPresent()) {
                err.println("producer: " + explain(loop.failure().get(), settings));
                return EXIT_FATAL;
            }
            return EXIT_OK;
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("producer: interrupted");
            return EXIT_FATAL;
        }
        catch (Exception e) {
            err.println("producer: " + explain(e, settings));
            return EXIT_FATAL;
        }
        finally {
            progress.shutdownNow();
            if (metrics != null) {
                metrics.close();
            }
        }
    }

    static Properties kafkaProperties(ProducerSettings settings)
    {
        Properties properties = new Properties();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        properties.put(ProducerConfig.CLIENT_ID_CONFIG, "sensor-producer");
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // Retries after a lost connection must not write a record twice, and must keep a sensor's readings in order.
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        // A record counts as sent only once every in-sync replica has it; a leader failover then loses nothing.
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        // The most requests in flight that idempotence allows while still keeping order.
        properties.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        // JSON readings repeat their field names: zstd shrinks them several-fold at little CPU cost.
        properties.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
        // Wait up to 10 ms to fill a batch: bigger batches compress better and cost the broker fewer requests.
        properties.put(ProducerConfig.LINGER_MS_CONFIG, "10");
        // 128 KiB batches: about a thousand readings, large enough to compress well, small enough to send often.
        properties.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(128 * 1024));
        // Room for a few seconds of records at full speed while a broker is briefly away.
        properties.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(64L * 1024 * 1024));
        // Retry for up to two minutes (the client's default); a record still unsent after that fails the run.
        properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        // Flags win over every default above (kafka.* pass-through), so secured clusters and tuning need no code.
        properties.putAll(settings.kafkaProperties());
        return properties;
    }

    private static SensorCatalog loadCatalog(Path file)
    {
        try {
            return SensorCatalog.load(file);
        }
        catch (UncheckedIOException | IllegalArgumentException e) {
            throw new SettingsException("invalid setting sensor-file='" + file + "': " + e.getMessage());
        }
    }

    /**
     * The Kafka client's own checks of its settings (types, allowed values, bootstrap addresses), run before anything
     * connects: a bad --kafka.* value or address stops the producer at start-up, with Kafka's message, which names the
     * key and the value.
     */
    static void checkKafkaProperties(Properties kafka)
    {
        ProducerConfig config;
        try {
            config = new ProducerConfig(kafka);
        }
        catch (ConfigException e) {
            throw new SettingsException("invalid Kafka setting: " + e.getMessage());
        }
        // The form of each address only: a name that does not resolve yet (a broker still starting, in a container
        // network) is a Kafka error at connection, not a bad setting.
        List<String> servers = config.getList(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
        for (String server : servers) {
            if (Utils.getHost(server) == null || Utils.getPort(server) == null) {
                throw new SettingsException("invalid setting bootstrap-servers='" + String.join(",", servers) + "': '" + server
                        + "' is not host:port");
            }
        }
    }

    private static void ensureTopic(ProducerSettings settings, Properties kafka, PrintStream err)
    {
        Properties adminProperties = new Properties();
        kafka.forEach((key, value) -> {
            if (!key.toString().startsWith("key.") && !key.toString().startsWith("value.")) {
                adminProperties.put(key, value);
            }
        });
        adminProperties.put("client.id", "sensor-producer-admin");
        long timeoutMillis = settings.startupTimeout().toMillis();
        try (Admin admin = Admin.create(adminProperties)) {
            try {
                TopicDescription description = admin.describeTopics(List.of(settings.topic()), new DescribeTopicsOptions().timeoutMs((int) timeoutMillis))
                        .allTopicNames().get().get(settings.topic());
                err.printf(Locale.ROOT, "producer: topic %s has %d partitions%n", settings.topic(), description.partitions().size());
                return;
            }
            catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw new FatalException(explain(e.getCause(), settings));
                }
            }
            if (!settings.createTopic()) {
                throw new FatalException("topic '" + settings.topic() + "' does not exist on " + settings.bootstrapServers()
                        + ". Create it, or pass --create-topic (with --partitions and --replication-factor).");
            }
            try {
                admin.createTopics(List.of(new NewTopic(settings.topic(), settings.partitions(), settings.replicationFactor())))
                        .all().get(timeoutMillis, TimeUnit.MILLISECONDS);
                err.printf(Locale.ROOT, "producer: created topic %s with %d partitions, replication factor %d%n",
                        settings.topic(), settings.partitions(), settings.replicationFactor());
            }
            catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new FatalException("cannot create topic '" + settings.topic() + "': " + explain(e.getCause(), settings));
                }
            }
            catch (java.util.concurrent.TimeoutException e) {
                throw new FatalException(unreachable(settings));
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FatalException("interrupted while checking the topic");
        }
    }

    private static String rootMessage(Throwable error)
    {
        Throwable cause = error;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getMessage();
    }

    /** A message that says what went wrong and what to do about it. */
    static String explain(Throwable error, ProducerSettings settings)
    {
        Throwable cause = error instanceof ExecutionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof AuthenticationException) {
            return "authentication with Kafka at " + settings.bootstrapServers() + " failed: " + cause.getMessage()
                    + ". Check the --kafka.security.protocol and --kafka.sasl.* settings.";
        }
        if (cause instanceof AuthorizationException) {
            return "not authorised: " + cause.getMessage() + ". Ask for write access to topic '" + settings.topic() + "'.";
        }
        if (cause instanceof UnknownTopicOrPartitionException) {
            return "topic '" + settings.topic() + "' does not exist (any more) on " + settings.bootstrapServers() + ": " + cause.getMessage();
        }
        if (cause instanceof TimeoutException) {
            return unreachable(settings) + " (" + cause.getMessage() + ")";
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    private static String unreachable(ProducerSettings settings)
    {
        return "cannot reach Kafka at " + settings.bootstrapServers() + ": no answer within the timeout. Check"
                + " --bootstrap-servers, that the broker runs (./pipeline kafka start), and the network in between.";
    }

    static long retries(Map<MetricName, ? extends Metric> metrics)
    {
        return metrics.entrySet().stream()
                .filter(entry -> entry.getKey().name().equals("record-retry-total") && entry.getKey().group().equals("producer-metrics"))
                .mapToLong(entry -> Math.round(((Number) entry.getValue().metricValue()).doubleValue()))
                .sum();
    }

    static String usage()
    {
        return """
                Usage: java -jar producer.jar [flags]     (or ./pipeline produce [flags])

                Simulates a fleet of IoT sensors and sends their JSON readings to Kafka, keyed by sensorId. Prints a
                progress line on stderr every few seconds and a one-line JSON summary on stdout at the end.

                Flags:
                """ + ProducerSettings.loader().usage() + """

                Examples:
                  java -jar producer.jar --create-topic --rate 5000 --duration 60s --malformed-ratio 0.01
                  java -jar producer.jar --rate 0 --count 2000000
                  java -jar producer.jar --replay data/sample-events.jsonl --rate 100
                  java -jar producer.jar --bootstrap-servers broker:9093 --kafka.security.protocol=SASL_SSL \\
                      --kafka.sasl.mechanism=PLAIN --kafka.sasl.jaas.config='...'

                Exit codes: 0 done (also after SIGINT/SIGTERM), 1 fatal Kafka error, 2 bad flags or settings.
                """;
    }

    /** A failure that ends the run, with a message for the user. */
    static final class FatalException
            extends RuntimeException
    {
        FatalException(String message)
        {
            super(message);
        }
    }

    /** The progress line on stderr: totals, the rate since the last line, errors and retries. */
    private static final class ProgressLine
    {
        private final ProducerStats stats;
        private final java.util.function.LongSupplier retries;
        private final long startNanos;
        private final PrintStream err;
        private long lastCount;
        private long lastNanos;

        ProgressLine(ProducerStats stats, java.util.function.LongSupplier retries, long startNanos, PrintStream err)
        {
            this.stats = stats;
            this.retries = retries;
            this.startNanos = startNanos;
            this.lastNanos = startNanos;
            this.err = err;
        }

        void print()
        {
            long now = System.nanoTime();
            long sent = stats.acknowledgedCount();
            double rate = (sent - lastCount) / Math.max(1e-9, (now - lastNanos) / 1e9);
            lastCount = sent;
            lastNanos = now;
            stats.currentRate(rate);
            err.printf(Locale.ROOT, "producer: sent %,d (%,.0f/s), errors %d, retries %d, elapsed %s%n",
                    sent, rate, stats.failedCount(), retries.getAsLong(), Duration.ofNanos(now - startNanos).toSeconds() + "s");
        }
    }
}
