package io.sensorpipeline.job;

import io.sensorpipeline.common.settings.Setting;
import io.sensorpipeline.common.settings.Settings;
import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.common.settings.SettingsLoader;
import io.sensorpipeline.job.io.InPlaceStateStoreProvider;
import io.sensorpipeline.job.io.JavaLocalFileSystem;
import io.sensorpipeline.job.io.ReopeningCheckpointFileManager;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.spark.SparkConf;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Everything the streaming job is told, validated once at start-up. Sources, in rising precedence: defaults,
 * {@code --config FILE} (configs/pipeline.properties), {@code PIPELINE_*} environment variables, flags
 * ({@code --key value} or {@code --set key=value}). Keys under {@code kafka.} are options of Spark's Kafka source and go
 * to it unchanged, prefix included ({@code kafka.bootstrap.servers}, {@code kafka.security.protocol}).
 *
 * @param trigger a processing-time interval, or empty for {@code available-now} (process what is there, then stop)
 * @param aggregatesTrigger the interval of the window aggregates' queries when {@code trigger} is an interval
 * @param metricsPort the port of the Prometheus endpoint, 0 for any free port, empty for none
 */
public record JobSettings(
        String bootstrapServers,
        String topic,
        String startingOffsets,
        Optional<Long> maxOffsetsPerTrigger,
        boolean failOnDataLoss,
        String lakeRoot,
        String checkpointRoot,
        Optional<Duration> trigger,
        Duration aggregatesTrigger,
        Duration watermarkDelay,
        Duration sensorWindow,
        Duration siteWindow,
        String sensorsFile,
        Duration futureTolerance,
        int stuckReadings,
        String alertsTopic,
        int shufflePartitions,
        String stateStoreProvider,
        boolean reset,
        String metricsHost,
        Optional<Integer> metricsPort,
        Map<String, String> kafkaOptions,
        Map<String, String> sparkOptions)
{
    public static final String ENVIRONMENT_PREFIX = "PIPELINE_";
    public static final String KAFKA_PREFIX = "kafka.";
    public static final String SPARK_PREFIX = "spark.";
    static final String SESSION_TIME_ZONE = "spark.sql.session.timeZone";
    static final String SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions";
    public static final String AVAILABLE_NOW = "available-now";
    /** Hadoop's class for {@code file:} paths, as a Spark setting. */
    public static final String LOCAL_FILE_SYSTEM_KEY = "spark.hadoop.fs.file.impl";

    public static final List<Setting> SETTINGS = List.of(
            Setting.of("kafka.bootstrap.servers", "127.0.0.1:9092", "HOSTS", "Kafka bootstrap servers; any other kafka.* key is passed as it is to Spark's Kafka source and sink and to the admin clients that check the topics and read their offsets (verify)"),
            Setting.of("topic", "sensor-readings", "NAME", "topic of the sensor readings (it must exist when the job starts; a comma-separated list reads several)"),
            Setting.of("starting-offsets", "earliest", "OFFSETS", "where a new query starts: earliest, latest, or Spark's JSON form; a restart continues from the checkpoint"),
            Setting.of("max-offsets-per-trigger", "500000", "N", "cap on records per micro-batch, which bounds a batch's memory when the job catches up on a backlog; empty for no cap"),
            Setting.of("fail-on-data-loss", "true", "BOOL", "stop when offsets were deleted before being read, instead of skipping them"),
            Setting.of("lake-root", "output/lake", "URI", "where the tables go: a path, file:, hdfs: or s3a: URI; each table is <lake-root>/<table>"),
            Setting.of("checkpoint-root", "output/checkpoints", "URI", "where the checkpoints go, one per query: <checkpoint-root>/ingest (processed_data and dead_letters), alerts, sensor_aggregates, site_aggregates"),
            Setting.of("trigger", "10s", "TIME", "micro-batch interval (500ms, 10s, 1m), or available-now to process what is in the topic and stop"),
            Setting.of("aggregates-trigger", "10s", "TIME", "micro-batch interval of sensor_aggregates and site_aggregates, whose windows close minutes after their readings; a batch runs only when processed_data has new files; each batch holds the cores for a while, so a slower trigger costs less CPU and a faster one keeps ingest's batches from waiting long (ignored with available-now)"),
            Setting.of("watermark", "2m", "TIME", "how late an event may arrive and still be de-duplicated and aggregated; the de-duplication holds about rate x 2 x watermark eventIds (README: Sizing the de-duplication state)"),
            Setting.of("sensor-window", "1m", "TIME", "window of the per-sensor aggregates (sensor_aggregates)"),
            Setting.of("site-window", "5m", "TIME", "window of the per-site, per-type aggregates (site_aggregates)"),
            Setting.of("sensors-file", "data/sensors.csv", "URI", "sensor metadata CSV joined onto every reading"),
            Setting.of("future-tolerance", "1m", "TIME", "an event time further ahead of its Kafka timestamp than this is FUTURE_TIMESTAMP; below the watermark"),
            Setting.of("stuck-readings", "20", "N", "a sensor with at least N readings in one sensor-window, all of one value, raises a STUCK_SENSOR alert"),
            Setting.of("alerts-topic", "sensor-alerts", "NAME", "Kafka topic the alerts are also written to (JSON, key = sensorId); it must exist when the job starts"),
            Setting.of("shuffle-partitions", "2", "N", "spark.sql.shuffle.partitions: state stores of the de-duplication and the aggregates, and processed_data's files per batch; the default suits the local topic's 2 partitions and a small machine, raise it on a cluster (fixed in the checkpoint once a query has run)"),
            Setting.of("state-store", "in-place", "STORE", "state store of the de-duplication and the aggregates: in-place (this job's: updates one map per partition instead of copying it every batch, in the files of Spark's default store), default (Spark's HDFSBackedStateStoreProvider) or rocksdb (Spark's RocksDB store, off the heap); an explicit spark.sql.streaming.stateStore.providerClass wins; fixed in the checkpoint once a query has run"),
            Setting.of("metrics-host", "127.0.0.1", "HOST", "address the Prometheus endpoint listens on (0.0.0.0 for every interface)"),
            Setting.of("metrics-port", "9401", "PORT", "port of the Prometheus endpoint (/metrics): the queries' progress, Kafka lag, dead letters, alerts, JVM; off for none"),
            Setting.onOff("reset", "delete this job's tables and checkpoints before starting (after a start-up guard refused to run)"));

    public JobSettings
    {
        requireNonNull(bootstrapServers, "bootstrapServers is null");
        requireNonNull(topic, "topic is null");
        requireNonNull(startingOffsets, "startingOffsets is null");
        requireNonNull(maxOffsetsPerTrigger, "maxOffsetsPerTrigger is null");
        requireNonNull(lakeRoot, "lakeRoot is null");
        requireNonNull(checkpointRoot, "checkpointRoot is null");
        requireNonNull(trigger, "trigger is null");
        requireNonNull(aggregatesTrigger, "aggregatesTrigger is null");
        requireNonNull(watermarkDelay, "watermarkDelay is null");
        requireNonNull(sensorWindow, "sensorWindow is null");
        requireNonNull(siteWindow, "siteWindow is null");
        requireNonNull(sensorsFile, "sensorsFile is null");
        requireNonNull(futureTolerance, "futureTolerance is null");
        requireNonNull(alertsTopic, "alertsTopic is null");
        requireNonNull(stateStoreProvider, "stateStoreProvider is null");
        requireNonNull(metricsHost, "metricsHost is null");
        requireNonNull(metricsPort, "metricsPort is null");
        kafkaOptions = Map.copyOf(requireNonNull(kafkaOptions, "kafkaOptions is null"));
        sparkOptions = Map.copyOf(requireNonNull(sparkOptions, "sparkOptions is null"));
    }

    public static SettingsLoader loader()
    {
        return new SettingsLoader("streaming-job", SETTINGS, ENVIRONMENT_PREFIX, List.of(
                new SettingsLoader.PassThrough(KAFKA_PREFIX, "the Kafka client setting NAME, for Spark's Kafka source, the alerts' Kafka sink, the topic checks and verify (e.g. --kafka.security.protocol=SASL_SSL)"),
                new SettingsLoader.PassThrough(SPARK_PREFIX, "sets spark.NAME on the job's Spark session, unless spark-submit --conf or spark-defaults.conf set it, which the job then says (e.g. --spark.hadoop.dfs.replication=1);"
                        + " spark.sql.session.timeZone is always UTC")));
    }

    /**
     * Takes a tool's own flag, such as a benchmark's {@code --runs N}, out of the job's flags that come with it: removes
     * the flag and its value and returns the value. When the flag is missing or has no value, nothing is removed.
     */
    static Optional<String> takeFlag(List<String> flags, String flag)
    {
        int index = flags.indexOf(flag);
        if (index < 0 || index + 1 >= flags.size()) {
            return Optional.empty();
        }
        String value = flags.get(index + 1);
        flags.subList(index, index + 2).clear();
        return Optional.of(value);
    }

    /**
     * The settings of the job or one of its command-line tools from its flags and the environment; when they are bad,
     * the message, prefixed with the tool's name, goes to stderr and the program exits with code 2.
     */
    public static JobSettings loadOrExit(String tool, List<String> arguments)
    {
        try {
            return load(arguments, System.getenv());
        }
        catch (SettingsException e) {
            System.err.println(tool + ": " + e.getMessage().replaceFirst("^streaming-job: ", ""));
            System.exit(2);
            throw new IllegalStateException("unreachable: the JVM exits", e);
        }
    }

    public static JobSettings load(List<String> arguments, Map<String, String> environment)
    {
        Settings settings = loader().load(arguments, environment);
        String trigger = settings.string("trigger");
        Optional<Duration> interval = trigger.toLowerCase(Locale.ROOT).equals(AVAILABLE_NOW)
                ? Optional.empty()
                : Optional.of(settings.positiveDuration("trigger", "expected a duration such as 10s, or available-now"));
        Duration sensorWindow = settings.positiveDuration("sensor-window", "expected a positive duration");
        Duration siteWindow = settings.positiveDuration("site-window", "expected a positive duration");
        if (siteWindow.toMillis() % sensorWindow.toMillis() != 0) {
            throw new SettingsException("invalid settings sensor-window=" + settings.string("sensor-window") + ", site-window="
                    + settings.string("site-window") + ": the site window must be a whole multiple of the sensor window");
        }
        Duration watermark = settings.duration("watermark");
        Duration futureTolerance = settings.duration("future-tolerance");
        if (futureTolerance.compareTo(watermark) >= 0) {
            throw new SettingsException("invalid settings future-tolerance=" + settings.string("future-tolerance") + ", watermark="
                    + settings.string("watermark") + ": the future tolerance must be below the watermark, or one reading from a clock"
                    + " that runs ahead moves the watermark past every on-time reading, which are then dropped as late");
        }
        String startingOffsets = settings.string("starting-offsets");
        if (!startingOffsets.equals("earliest") && !startingOffsets.equals("latest") && !startingOffsets.startsWith("{")) {
            throw settings.invalid("starting-offsets", startingOffsets, "expected earliest, latest or a JSON object of offsets");
        }
        Map<String, String> kafkaOptions = new TreeMap<>();
        settings.withPrefix(KAFKA_PREFIX).forEach((key, value) -> kafkaOptions.put(KAFKA_PREFIX + key, value));
        checkKafkaOptions(settings.withPrefix(KAFKA_PREFIX));
        Map<String, String> sparkOptions = new TreeMap<>();
        settings.withPrefix(SPARK_PREFIX).forEach((key, value) -> sparkOptions.put(SPARK_PREFIX + key, value));
        // Every session of the job and its tools runs in UTC: another zone would otherwise be replaced without a word.
        if (sparkOptions.containsKey(SESSION_TIME_ZONE) && !sparkOptions.get(SESSION_TIME_ZONE).equals("UTC")) {
            throw settings.invalid(SESSION_TIME_ZONE, sparkOptions.get(SESSION_TIME_ZONE),
                    "the job's session zone is always UTC, so that event_date and event_hour are UTC days and hours on any machine");
        }
        if (topicNames(settings.string("topic")).isEmpty()) {
            throw settings.invalid("topic", settings.string("topic"), "expected a topic name, or a comma-separated list of them");
        }
        return new JobSettings(
                settings.string("kafka.bootstrap.servers"),
                settings.string("topic"),
                startingOffsets,
                settings.optionalString("max-offsets-per-trigger").map(value -> settings.whole("max-offsets-per-trigger", 1, Long.MAX_VALUE)),
                settings.bool("fail-on-data-loss"),
                settings.string("lake-root"),
                settings.string("checkpoint-root"),
                interval,
                settings.positiveDuration("aggregates-trigger", "expected a duration such as 30s"),
                watermark,
                sensorWindow,
                siteWindow,
                settings.string("sensors-file"),
                futureTolerance,
                settings.integer("stuck-readings", 2, 1_000_000),
                settings.string("alerts-topic"),
                settings.integer("shuffle-partitions", 1, 10_000),
                stateStoreProvider(settings),
                settings.bool("reset"),
                settings.string("metrics-host"),
                settings.portOrOff("metrics-port"),
                kafkaOptions,
                sparkOptions);
    }

    /** The class of the state store that {@code state-store} names. */
    private static String stateStoreProvider(Settings settings)
    {
        String store = settings.string("state-store");
        return switch (store) {
            case "in-place" -> InPlaceStateStoreProvider.class.getName();
            case "default" -> "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider";
            case "rocksdb" -> "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider";
            default -> throw settings.invalid("state-store", store, "expected in-place, default or rocksdb");
        };
    }

    /**
     * The Kafka client's own checks of the kafka.* keys (types and allowed values), at start-up rather than when the
     * first query starts: Kafka's message names the key and the value.
     */
    private static void checkKafkaOptions(Map<String, String> consumerSettings)
    {
        Map<String, Object> properties = new HashMap<>(consumerSettings);
        // Spark sets the deserializers itself; the check needs some.
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try {
            new ConsumerConfig(properties);
        }
        catch (ConfigException e) {
            throw new SettingsException("invalid Kafka setting: " + e.getMessage() + " (kafka.* keys go to the Kafka clients without the prefix)");
        }
    }

    /**
     * The session's Spark settings from the config file, environment and flags ({@code spark.*}, such as
     * {@code spark.hadoop.fs.s3a.endpoint}); a key the Spark configuration already set (spark-submit's {@code --conf},
     * spark-defaults.conf) keeps that value.
     */
    public SparkConf applyTo(SparkConf conf)
    {
        sparkOptions.forEach(conf::setIfMissing);
        return conf;
    }

    /**
     * What to say of the {@code spark.*} settings that {@link #applyTo} will not apply, because the Spark configuration
     * has another value for them: a line each, naming both values.
     */
    public List<String> overriddenBy(SparkConf conf)
    {
        // The keys as set: SparkConf's contains and get also answer for a deprecated name of the key, which applyTo's
        // setIfMissing does not look at (the settings' value is used then).
        Map<String, String> given = new HashMap<>();
        for (scala.Tuple2<String, String> entry : conf.getAll()) {
            given.put(entry._1(), entry._2());
        }
        List<String> lines = new ArrayList<>();
        new TreeMap<>(sparkOptions).forEach((key, value) -> {
            if (!key.equals(SESSION_TIME_ZONE) && given.containsKey(key) && !given.get(key).equals(value)) {
                lines.add(key + "=" + value + " from the settings is not used: the Spark configuration (spark-submit --conf, spark-defaults.conf, -D)"
                        + " has " + key + "=" + given.get(key));
            }
        });
        return lines;
    }

    /**
     * The configuration of a session of the job or one of its tools: the app name, UTC as the session zone (event
     * dates and hours are UTC days and hours, whatever the machine's zone), the {@code spark.*} settings, and, unless
     * they set it, {@link ReopeningCheckpointFileManager} for checkpoint and log files (a table's log file that
     * {@code compact} replaces on S3 as a query opens it is read whole instead of failing the query), and in local mode
     * {@link JavaLocalFileSystem} for {@code file:} paths (no {@code chmod} process per file written).
     */
    public SparkConf sparkConf(String appName)
    {
        SparkConf conf = new SparkConf();
        // The Spark configuration (spark-submit's --conf, spark-defaults.conf, -D), perhaps a cluster's default for every
        // job: said, not refused.
        if (!conf.get(SESSION_TIME_ZONE, "UTC").equals("UTC")) {
            System.err.println(appName + ": " + SESSION_TIME_ZONE + "=" + conf.get(SESSION_TIME_ZONE) + " from the Spark configuration (spark-submit --conf, spark-defaults.conf, -D) is replaced by UTC:"
                    + " event_date and event_hour are UTC days and hours");
        }
        overriddenBy(conf).forEach(line -> System.err.println(appName + ": " + line));
        conf = applyTo(conf.setAppName(appName).set(SESSION_TIME_ZONE, "UTC"))
                .setIfMissing(ReopeningCheckpointFileManager.SPARK_KEY, ReopeningCheckpointFileManager.class.getName());
        // Local mode only: there the job's jar is on the classpath of every thread that opens a file system. On a
        // cluster, Hadoop's own class stays (its executors write to HDFS or S3).
        if (conf.get("spark.master", "").startsWith("local")) {
            conf.setIfMissing(LOCAL_FILE_SYSTEM_KEY, JavaLocalFileSystem.class.getName());
        }
        return conf;
    }

    /** The readings topics: {@code topic} is one name or a comma-separated list. */
    public List<String> topics()
    {
        return topicNames(topic);
    }

    /** A list of topics as Spark's subscribe reads it: comma-separated, blank names left out. */
    private static List<String> topicNames(String list)
    {
        return Arrays.stream(list.split(",")).map(String::strip).filter(name -> !name.isEmpty()).toList();
    }

    /** The location of one table: {@code <lake-root>/<table>}. */
    public String tablePath(String table)
    {
        return join(lakeRoot, table);
    }

    /** The checkpoint of the query that writes one table: {@code <checkpoint-root>/<table>}. */
    public String checkpointPath(String table)
    {
        return join(checkpointRoot, table);
    }

    private static String join(String root, String child)
    {
        return root.endsWith("/") ? root + child : root + "/" + child;
    }
}
