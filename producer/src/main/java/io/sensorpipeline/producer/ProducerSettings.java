package io.sensorpipeline.producer;

import io.sensorpipeline.common.FaultPlan;
import io.sensorpipeline.common.SensorCatalog;
import io.sensorpipeline.common.settings.Setting;
import io.sensorpipeline.common.settings.Settings;
import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.common.settings.SettingsLoader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * Everything the producer is told, validated once at start-up. Sources, in rising precedence: defaults,
 * {@code --config FILE}, {@code PRODUCER_*} environment variables, flags. Keys under {@code kafka.} go to the Kafka
 * client unchanged, so the producer works against a secured cluster ({@code --kafka.security.protocol=SASL_SSL}).
 */
public record ProducerSettings(
        String bootstrapServers,
        String topic,
        boolean createTopic,
        int partitions,
        short replicationFactor,
        int sensors,
        Optional<Path> sensorFile,
        long rate,
        Optional<Duration> duration,
        Optional<Long> count,
        long seed,
        Optional<Instant> startTime,
        Optional<Duration> sensorInterval,
        FaultPlan faults,
        Optional<Path> replay,
        Duration progressInterval,
        Duration startupTimeout,
        String metricsHost,
        Optional<Integer> metricsPort,
        Map<String, String> kafkaProperties)
{
    public static final String ENVIRONMENT_PREFIX = "PRODUCER_";
    public static final String KAFKA_PREFIX = "kafka.";

    public static final List<Setting> SETTINGS = List.of(
            Setting.of("bootstrap-servers", "127.0.0.1:9092", "HOSTS", "Kafka bootstrap servers, host:port[,host:port]"),
            Setting.of("topic", "sensor-readings", "NAME", "topic to write the readings to"),
            Setting.onOff("create-topic", "create the topic when it does not exist (else a missing topic is an error)"),
            Setting.of("partitions", "2", "N", "partitions of a topic created by --create-topic"),
            Setting.of("replication-factor", "1", "N", "replication factor of a topic created by --create-topic"),
            Setting.of("sensors", "1000", "N", "how many sensors of the catalog to simulate (the first N)"),
            Setting.of("sensor-file", "", "FILE", "sensor metadata CSV (data/sensors.csv format); default: the built-in catalog, identical to data/sensors.csv"),
            Setting.of("rate", "1000", "N", "events per second; 0 sends as fast as possible"),
            Setting.of("duration", "", "TIME", "stop after this long (500ms, 30s, 5m, 2h); default: run until --count or a signal"),
            Setting.of("count", "", "N", "stop after this many records; default: run until --duration or a signal"),
            Setting.of("seed", "42", "N", "seed of the simulation: the same seed, start time and interval give the same bytes at any rate"),
            Setting.of("start-time", "", "INSTANT", "event time of the first reading (ISO-8601); default: now, or earlier with --rate 0 --count so the stream ends now"),
            Setting.of("sensor-interval", "", "TIME", "event time between two readings of a sensor; default: sensors/rate, so event time keeps pace with the clock (1s when --rate 0)"),
            Setting.of("malformed-ratio", "0", "R", "fraction of records that are malformed, spread over every fault kind"),
            Setting.of("duplicate-ratio", "0", "R", "fraction of records that re-send a recent reading with the same eventId"),
            Setting.of("late-ratio", "0", "R", "fraction of readings whose timestamp is 2 to 10 minutes old"),
            Setting.of("out-of-order-ms", "0", "MS", "move the timestamp of every valid (not late, malformed or duplicate) reading back by a random 0 to this many milliseconds"),
            Setting.of("replay", "", "FILE", "send the lines of a JSON-lines file instead of simulating (paced by --rate; 0 = as fast as possible)"),
            Setting.of("progress-interval", "5s", "TIME", "how often to print a progress line on stderr"),
            Setting.of("startup-timeout", "30s", "TIME", "how long to wait for the cluster when checking the topic at start-up"),
            Setting.of("metrics-host", "127.0.0.1", "HOST", "address the Prometheus endpoint listens on (0.0.0.0 for every interface)"),
            Setting.of("metrics-port", "9400", "PORT", "port of the Prometheus endpoint (/metrics): events sent, errors, retries, send latency, rate, faults, JVM; off for none"));

    public ProducerSettings
    {
        requireNonNull(bootstrapServers, "bootstrapServers is null");
        requireNonNull(topic, "topic is null");
        requireNonNull(sensorFile, "sensorFile is null");
        requireNonNull(duration, "duration is null");
        requireNonNull(count, "count is null");
        requireNonNull(startTime, "startTime is null");
        requireNonNull(sensorInterval, "sensorInterval is null");
        requireNonNull(faults, "faults is null");
        requireNonNull(replay, "replay is null");
        requireNonNull(progressInterval, "progressInterval is null");
        requireNonNull(startupTimeout, "startupTimeout is null");
        requireNonNull(metricsHost, "metricsHost is null");
        requireNonNull(metricsPort, "metricsPort is null");
        kafkaProperties = Map.copyOf(requireNonNull(kafkaProperties, "kafkaProperties is null"));
    }

    public static SettingsLoader loader()
    {
        return new SettingsLoader("producer", SETTINGS, ENVIRONMENT_PREFIX, List.of(
                new SettingsLoader.PassThrough(KAFKA_PREFIX, "the Kafka producer's setting NAME (e.g. --kafka.linger.ms=5)")));
    }

    public static ProducerSettings load(List<String> arguments, Map<String, String> environment)
    {
        Settings settings = loader().load(arguments, environment);
        double malformed = settings.decimal("malformed-ratio", 0, 1);
        double duplicate = settings.decimal("duplicate-ratio", 0, 1);
        double late = settings.decimal("late-ratio", 0, 1);
        if (malformed + duplicate + late > 1.0) {
            throw new SettingsException("invalid settings malformed-ratio=" + malformed + ", duplicate-ratio=" + duplicate
                    + ", late-ratio=" + late + ": together they must not exceed 1");
        }
        Optional<Path> sensorFile = settings.optionalPath("sensor-file");
        if (sensorFile.isPresent() && !Files.isReadable(sensorFile.get())) {
            throw settings.invalid("sensor-file", sensorFile.get().toString(), "no such readable file");
        }
        Optional<Path> replay = settings.optionalPath("replay");
        if (replay.isPresent() && !Files.isReadable(replay.get())) {
            throw settings.invalid("replay", replay.get().toString(), "no such readable file");
        }
        Optional<Duration> duration = settings.optionalString("duration")
                .map(value -> settings.positiveDuration("duration", "expected a positive duration"));
        Optional<Duration> sensorInterval = settings.optionalDuration("sensor-interval");
        if (sensorInterval.isPresent() && sensorInterval.get().toMillis() < 1) {
            throw settings.invalid("sensor-interval", settings.string("sensor-interval"), "expected at least 1ms");
        }
        Optional<Long> count = settings.optionalString("count").map(value -> settings.whole("count", 0, Long.MAX_VALUE));
        return new ProducerSettings(
                settings.string("bootstrap-servers"),
                settings.string("topic"),
                settings.bool("create-topic"),
                settings.integer("partitions", 1, 10_000),
                (short) settings.integer("replication-factor", 1, Short.MAX_VALUE),
                settings.integer("sensors", 1, SensorCatalog.MAX_SENSORS),
                sensorFile,
                settings.whole("rate", 0, 100_000_000),
                duration,
                count,
                settings.whole("seed", Long.MIN_VALUE, Long.MAX_VALUE),
                settings.optionalInstant("start-time"),
                sensorInterval,
                new FaultPlan(malformed, duplicate, late, settings.whole("out-of-order-ms", 0, 86_400_000)),
                replay,
                settings.positiveDuration("progress-interval", "expected a positive duration"),
                settings.positiveDuration("startup-timeout", "expected a positive duration"),
                settings.string("metrics-host"),
                settings.portOrOff("metrics-port"),
                settings.withPrefix(KAFKA_PREFIX));
    }


    /** The reporting interval of each sensor: explicit, or chosen so that event time keeps pace with the clock. */
    public Duration effectiveSensorInterval()
    {
        if (sensorInterval.isPresent()) {
            return sensorInterval.get();
        }
        if (rate == 0) {
            return Duration.ofSeconds(1);
        }
        return Duration.ofMillis(Math.max(1, Math.round(sensors * 1000.0 / rate)));
    }

    /** The event time of the first reading; with --rate 0 and a count, early enough that the last reading is about now. */
    public Instant effectiveStartTime(Instant now)
    {
        if (startTime.isPresent()) {
            return startTime.get();
        }
        if (rate == 0 && count.isPresent()) {
            long slots = count.get() / sensors;
            return now.minusMillis(slots * effectiveSensorInterval().toMillis());
        }
        return now;
    }
}
