package io.sensorpipeline.job.io;

import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.job.JobSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks the brokers, before any query starts, whether the job's topics exist, and the readings topics' IDs (which
 * {@link TopicIds} compares with the checkpoint's). Without this, Spark's Kafka source fails the ingest query with a
 * stack trace of {@code UnknownTopicOrPartitionException} when the readings topic is missing, and its Kafka sink looks
 * the alerts topic up only when it sends the first alert, perhaps hours later, and then stops the job. Also reads
 * what verify needs: each partition's offsets, and the IDs.
 */
public final class KafkaTopics
{
    public static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** Partitions by topic, then by number: the order in which the job's messages list them. */
    public static final Comparator<TopicPartition> PARTITION_ORDER = Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

    private KafkaTopics() {}

    /** What {@link #check} found: notes when it could not ask the brokers, or else the readings topics' IDs. */
    public record Checked(List<String> notes, Map<String, String> ids) {}

    /**
     * Throws {@link SettingsException} when the readings topic or the alerts topic does not exist or is not a valid
     * name; returns the readings topics' IDs, or what the job should say when it could not ask: brokers that did not
     * answer within {@code timeout}, or that refused this client (Spark's source and sink may still connect, with
     * delegation tokens, say). The queries then find out for themselves, and Spark's Kafka source stops the job after
     * three failed attempts.
     */
    public static Checked check(JobSettings settings, Duration timeout)
    {
        String brokers = brokers(settings);
        List<String> notes = new ArrayList<>();
        Map<String, String> ids = new TreeMap<>();
        try (Admin admin = create(adminConfig(settings, timeout))) {
            for (String topic : settings.topics()) {
                TopicDescription description = describe(admin, "topic", topic, timeout)
                        .orElseThrow(() -> missing("topic", settings.topic(), topic, brokers, "The job reads the readings from it."));
                id(description).ifPresent(id -> ids.put(topic, id));
            }
            if (describe(admin, "alerts-topic", settings.alertsTopic(), timeout).isEmpty()) {
                throw missing("alerts-topic", settings.alertsTopic(), settings.alertsTopic(), brokers,
                        "The job writes every alert to it and would stop at the first one.");
            }
        }
        catch (TimeoutException e) {
            notes.add("the Kafka brokers " + brokers + " did not answer within " + timeout.toSeconds() + " s, so the topics '" + settings.topic()
                    + "' and '" + settings.alertsTopic() + "' are not checked; the queries try on their own");
        }
        catch (ExecutionException e) {
            notes.add("cannot check the topics '" + settings.topic() + "' and '" + settings.alertsTopic() + "' on " + brokers + ": "
                    + e.getCause().getMessage() + "; the queries try on their own");
        }
        catch (KafkaException e) {
            notes.add("cannot check the topics '" + settings.topic() + "' and '" + settings.alertsTopic() + "' on " + brokers + ": "
                    + reason(e) + "; the queries try on their own");
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking the Kafka topics", e);
        }
        return new Checked(notes, notes.isEmpty() ? ids : Map.of());
    }

    /** The offsets a partition holds now: from {@code earliest} (retention moves it past 0) up to {@code latest}. */
    public record Range(long earliest, long latest) {}

    /**
     * The offsets each partition of the readings topic (or topics) holds now. Throws {@link SettingsException} when the
     * brokers do not answer, refuse the client, or have no such topic.
     */
    public static Map<TopicPartition, Range> offsetRanges(JobSettings settings, Duration timeout)
    {
        return ask(settings, timeout, "the offsets", admin -> {
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            admin.describeTopics(settings.topics()).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .forEach((topic, description) -> description.partitions().forEach(partition -> {
                        earliest.put(new TopicPartition(topic, partition.partition()), OffsetSpec.earliest());
                        latest.put(new TopicPartition(topic, partition.partition()), OffsetSpec.latest());
                    }));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> first = admin.listOffsets(earliest).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end = admin.listOffsets(latest).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Map<TopicPartition, Range> ranges = new TreeMap<>(PARTITION_ORDER);
            first.forEach((partition, info) -> ranges.put(partition, new Range(info.offset(), end.get(partition).offset())));
            return ranges;
        });
    }

    /**
     * The ID of each readings topic, by name (a topic deleted and created again gets a new one; see {@link TopicIds}).
     * Leaves out a topic whose brokers give no ID. Throws {@link SettingsException} when the brokers do not answer,
     * refuse the client, or have no such topic.
     */
    public static Map<String, String> ids(JobSettings settings, Duration timeout)
    {
        return ask(settings, timeout, "the topic IDs", admin -> {
            Map<String, String> ids = new TreeMap<>();
            admin.describeTopics(settings.topics()).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .forEach((topic, description) -> id(description).ifPresent(id -> ids.put(topic, id)));
            return ids;
        });
    }

    /** A topic's ID; empty from brokers that give none. */
    private static Optional<String> id(TopicDescription description)
    {
        return Uuid.ZERO_UUID.equals(description.topicId()) || description.topicId() == null ? Optional.empty() : Optional.of(description.topicId().toString());
    }

    private interface AdminCall<T>
    {
        T call(Admin admin)
                throws ExecutionException, InterruptedException, TimeoutException;
    }

    /** Asks the brokers about the readings topic; {@code what} names what is asked for in the messages. */
    private static <T> T ask(JobSettings settings, Duration timeout, String what, AdminCall<T> call)
    {
        try (Admin admin = create(adminConfig(settings, timeout))) {
            return call.call(admin);
        }
        catch (TimeoutException e) {
            throw new SettingsException("the Kafka brokers " + brokers(settings) + " (kafka.bootstrap.servers) did not answer within "
                    + timeout.toSeconds() + " s");
        }
        catch (ExecutionException e) {
            throw new SettingsException("cannot read " + what + " of '" + settings.topic() + "' (topic) on " + brokers(settings) + ": "
                    + e.getCause().getMessage());
        }
        catch (KafkaException e) {
            throw new SettingsException("cannot read " + what + " of '" + settings.topic() + "' (topic) on " + brokers(settings) + ": " + reason(e));
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading " + what + " of '" + settings.topic() + "'", e);
        }
    }

    private static Map<String, Object> adminConfig(JobSettings settings, Duration timeout)
    {
        Map<String, Object> config = new HashMap<>();
        settings.kafkaOptions().forEach((key, value) -> config.put(key.substring(JobSettings.KAFKA_PREFIX.length()), value));
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        return config;
    }

    private static String brokers(JobSettings settings)
    {
        return settings.kafkaOptions().get(JobSettings.KAFKA_PREFIX + AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
    }

    private static Admin create(Map<String, Object> config)
    {
        try {
            return Admin.create(config);
        }
        catch (KafkaException e) {
            if (e instanceof ConfigException || e.getCause() instanceof ConfigException) {
                // Such as "Invalid url in bootstrap.servers: foo": the client's own words name the key and the value.
                throw new SettingsException("invalid Kafka client settings (kafka.*): " + reason(e));
            }
            throw e;
        }
    }

    private static String reason(KafkaException e)
    {
        return e.getCause() == null ? e.getMessage() : e.getCause().getMessage();
    }

    private static SettingsException missing(String key, String value, String topic, String brokers, String why)
    {
        return new SettingsException("invalid setting " + key + "='" + value + "': the topic " + topic + " does not exist on " + brokers + ". " + why
                + " Create it (kafka-topics.sh --create --topic " + topic + " --bootstrap-server " + brokers + "), or name an existing topic with --"
                + key + ".");
    }

    /** The topic's description; empty when there is no such topic. */
    private static Optional<TopicDescription> describe(Admin admin, String key, String topic, Duration timeout)
            throws ExecutionException, InterruptedException, TimeoutException
    {
        try {
            return Optional.of(admin.describeTopics(List.of(topic)).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(topic));
        }
        catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return Optional.empty();
            }
            if (e.getCause() instanceof InvalidTopicException) {
                throw new SettingsException("invalid setting " + key + "='" + topic + "': " + e.getCause().getMessage());
            }
            if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                // The client's own timeout, which may come first: the same answer as the future's.
                throw new TimeoutException(e.getCause().getMessage());
            }
            throw e;
        }
    }
}
