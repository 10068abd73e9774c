package io.sensorpipeline.localstack;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaBrokerIT
{
    private static final String TOPIC_COMMAND = "org.apache.kafka.tools.TopicCommand";

    @TempDir
    static Path dataDirectory;

    private static KafkaBroker broker;

    @BeforeAll
    static void startBroker()
    {
        broker = KafkaBrokerExtension.onFreePorts(dataDirectory);
        broker.start();
    }

    @AfterAll
    static void stopBroker()
    {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void acceptsClientsOnLoopback()
            throws IOException
    {
        assertThat(broker.isRunning()).isTrue();
        assertThat(accepts(broker.port())).isTrue();
        assertThat(broker.bootstrapServers()).isEqualTo("127.0.0.1:" + broker.port());
        ProcessHandle process = ProcessHandle.of(broker.pid()).orElseThrow();
        assertThat(KafkaBroker.isBrokerProcess(process, dataDirectory)).isTrue();
        // The builder's JVM options, after the broker's own heap size.
        assertThat(process.info().arguments().orElseThrow()).containsSubsequence("-Xmx1g", KafkaBrokerExtension.SHORT_LIVED_JVM, KafkaBroker.MAIN_CLASS);
        assertThat(Files.readString(broker.logFile())).contains("Kafka Server started");
        assertThat(Files.readAllLines(dataDirectory.resolve("server.properties")))
                .contains("auto.create.topics.enable=false", "group.initial.rebalance.delay.ms=0");
    }

    @Test
    void createdTopicIsListedWithItsPartitions()
    {
        broker.createTopic("sensor-readings", 2);
        // --if-not-exists: creating it again is not an error.
        broker.createTopic("sensor-readings", 2);

        assertThat(listTopics()).contains("sensor-readings");
        assertThat(KafkaBroker.runTool(Duration.ofSeconds(60), TOPIC_COMMAND, "--bootstrap-server",
                broker.bootstrapServers(), "--describe", "--topic", "sensor-readings"))
                .contains("PartitionCount: 2", "ReplicationFactor: 1");
    }

    @Test
    void failedTopicCreationQuotesTheTool()
    {
        assertThatThrownBy(() -> broker.createTopic("bad name", 1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Failed with exit code 1: " + TOPIC_COMMAND + " --create")
                .hasMessageContaining("Topic name is invalid: 'bad name'");
    }

    @Test
    void restartsAfterKillOnTheSamePortWithItsTopics()
            throws IOException
    {
        broker.createTopic("survives-kill", 3);
        long killedPid = broker.pid();

        broker.kill();

        assertThat(broker.isRunning()).isFalse();
        assertThat(ProcessHandle.of(killedPid)).isEmpty();
        assertThat(accepts(broker.port())).isFalse();

        broker.start();

        assertThat(broker.pid()).isNotEqualTo(killedPid);
        assertThat(accepts(broker.port())).isTrue();
        assertThat(listTopics()).contains("survives-kill");
    }

    @Test
    void restartsAfterStop()
            throws IOException
    {
        long stoppedPid = broker.pid();

        broker.stop();

        assertThat(ProcessHandle.of(stoppedPid)).isEmpty();
        assertThat(accepts(broker.port())).isFalse();
        // A graceful stop, not the 30 s SIGKILL fallback.
        assertThat(Files.readString(broker.logFile())).contains("shut down completed");

        broker.start();

        assertThat(accepts(broker.port())).isTrue();
    }

    @Test
    void brokerThatDiesQuotesItsLog(@TempDir Path otherDirectory)
            throws IOException
    {
        // A broker whose storage says it is another node exits at start-up. (Not a second broker on the running one's
        // data directory: Kafka 4.3 opens the metadata log there before it takes the directory's lock, and once read a
        // record the running broker was writing, died of a CRC error and left the running broker unable to stop.)
        Path storage = otherDirectory.resolve("kafka-logs");
        Files.createDirectories(storage);
        Files.writeString(storage.resolve("meta.properties"), "version=1\ncluster.id=aaZhneccR2W5bTTKoAa23Q\nnode.id=99\n");
        KafkaBroker other = KafkaBroker.onFreePorts(otherDirectory);

        assertThatThrownBy(other::start)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("Kafka broker exited with code ")
                .hasMessageContaining("--- last lines of " + other.logFile() + " ---")
                .hasMessageContaining("Stored node id 99");
        assertThat(other.isRunning()).isFalse();
        assertThat(accepts(broker.port())).isTrue();
    }

    private static List<String> listTopics()
    {
        return KafkaBroker.runTool(Duration.ofSeconds(60), TOPIC_COMMAND, "--bootstrap-server",
                broker.bootstrapServers(), "--list").lines().toList();
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
}
