package io.sensorpipeline.localstack;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static java.util.Objects.requireNonNull;

/**
 * One real broker per test class, on free ports in a temporary directory, with the class's topics created; shared
 * with the other modules' integration tests through local-stack's test-jar.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2));
 * }</pre>
 */
public final class KafkaBrokerExtension
        implements BeforeAllCallback, AfterAllCallback
{
    /**
     * The JIT flag of the JVMs the integration tests start (brokers here, the job and the producer in streaming-job):
     * C1 only. They live for seconds to a few minutes, and a 2-core CI machine is CPU-bound throughout the suite;
     * C1 alone spends far less CPU compiling. What the tests check does not depend on the compiler; the benchmarks
     * run with the JVM's defaults.
     */
    public static final String SHORT_LIVED_JVM = "-XX:TieredStopAtLevel=1";

    private final Map<String, Integer> topics;
    private Path directory;
    private KafkaBroker broker;

    private KafkaBrokerExtension(Map<String, Integer> topics)
    {
        this.topics = new LinkedHashMap<>(requireNonNull(topics, "topics is null"));
    }

    /** @param topics topic name to partition count */
    public static KafkaBrokerExtension withTopics(Map<String, Integer> topics)
    {
        return new KafkaBrokerExtension(topics);
    }

    @Override
    public void beforeAll(ExtensionContext context)
            throws IOException
    {
        directory = Files.createTempDirectory("kafka-it-");
        broker = onFreePorts(directory.resolve("kafka"));
        broker.start();
        topics.forEach(broker::createTopic);
    }

    @Override
    public void afterAll(ExtensionContext context)
    {
        if (broker != null) {
            broker.close();
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public KafkaBroker broker()
    {
        return broker;
    }

    public String bootstrapServers()
    {
        return broker.bootstrapServers();
    }

    /**
     * A broker on free ports, as {@link KafkaBroker#onFreePorts}, whose JVMs run with the C1 compiler alone: a test's
     * broker lives for a minute or two, and the suite is CPU-bound on a 2-core machine.
     */
    public static KafkaBroker onFreePorts(Path dataDirectory)
    {
        return KafkaBroker.builder(dataDirectory).freePorts().jvmOptions(SHORT_LIVED_JVM).build();
    }
}
