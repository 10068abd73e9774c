package io.sensorpipeline.localstack;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KafkaBrokerTest
{
    private static final Path DATA_DIRECTORY = Path.of("target", "unused");

    @Test
    void classpathHoldsTheBrokerToolsAndLogging()
    {
        assertThat(KafkaBroker.classpath().split(":"))
                .anyMatch(jar -> jar.endsWith("kafka_2.13-4.3.1.jar"))
                .anyMatch(jar -> jar.endsWith("kafka-tools-4.3.1.jar"))
                .anyMatch(jar -> jar.endsWith("kafka-clients-4.3.1.jar"))
                .anyMatch(jar -> jar.contains("log4j-slf4j2-impl"))
                .anyMatch(jar -> jar.contains("slf4j-api-2."));
    }

    @Test
    void fixedPortsAndAbsoluteDataDirectory()
    {
        KafkaBroker broker = KafkaBroker.builder(DATA_DIRECTORY).port(19092).controllerPort(19093).build();

        assertThat(broker.bootstrapServers()).isEqualTo("127.0.0.1:19092");
        assertThat(broker.controllerPort()).isEqualTo(19093);
        assertThat(broker.dataDirectory()).isEqualTo(DATA_DIRECTORY.toAbsolutePath().normalize());
        assertThat(broker.logFile()).isEqualTo(broker.dataDirectory().resolve("broker.log"));
        assertThat(broker.isRunning()).isFalse();
    }

    @Test
    void freePortsDiffer()
    {
        KafkaBroker broker = KafkaBroker.onFreePorts(DATA_DIRECTORY);

        assertThat(broker.port()).isNotEqualTo(broker.controllerPort());
        assertThat(KafkaBroker.isPortFree(broker.port())).isTrue();
    }

    @Test
    void rejectsBadSettings()
    {
        assertThatThrownBy(() -> KafkaBroker.builder(DATA_DIRECTORY).port(9093).build())
                .hasMessage("port and controllerPort must differ, both are 9093");
        assertThatThrownBy(() -> KafkaBroker.builder(DATA_DIRECTORY).port(0))
                .hasMessage("port must be from 1 to 65535, got 0");
        assertThatThrownBy(() -> KafkaBroker.builder(DATA_DIRECTORY).build().pid())
                .hasMessageContaining("was never started");
        assertThatThrownBy(() -> KafkaBroker.builder(DATA_DIRECTORY).build().createTopic("readings", 0))
                .hasMessage("partitions must be at least 1, got 0");
    }
}
