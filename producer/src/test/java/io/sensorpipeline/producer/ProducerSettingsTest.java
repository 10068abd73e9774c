package io.sensorpipeline.producer;

import io.sensorpipeline.common.FaultPlan;
import io.sensorpipeline.common.settings.Setting;
import io.sensorpipeline.common.settings.SettingsException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProducerSettingsTest
{
    @Test
    void defaults()
    {
        ProducerSettings settings = ProducerSettings.load(List.of(), Map.of());
        assertThat(settings).isEqualTo(new ProducerSettings("127.0.0.1:9092", "sensor-readings", false, 2, (short) 1, 1000,
                Optional.empty(), 1000, Optional.empty(), Optional.empty(), 42, Optional.empty(), Optional.empty(), FaultPlan.NONE,
                Optional.empty(), Duration.ofSeconds(5), Duration.ofSeconds(30), "127.0.0.1", Optional.of(9400), Map.of()));
        assertThat(settings.effectiveSensorInterval()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void everyKeyMapsToItsField()
    {
        ProducerSettings settings = ProducerSettings.load(List.of(
                "--bootstrap-servers", "broker-1:9092,broker-2:9092",
                "--topic", "readings",
                "--create-topic",
                "--partitions", "6",
                "--replication-factor", "3",
                "--sensors", "250",
                "--sensor-file", "../data/sensors.csv",
                "--rate", "20000",
                "--duration", "90s",
                "--count", "1000000",
                "--seed", "7",
                "--start-time", "2026-11-24T10:00:00Z",
                "--sensor-interval", "250ms",
                "--malformed-ratio", "0.01",
                "--duplicate-ratio", "0.02",
                "--late-ratio", "0.03",
                "--out-of-order-ms", "1500",
                "--replay", "../data/sample-events.jsonl",
                "--progress-interval", "2s",
                "--startup-timeout", "10s",
                "--metrics-host", "0.0.0.0",
                "--metrics-port", "off",
                "--kafka.security.protocol=SASL_SSL"), Map.of());
        assertThat(settings).isEqualTo(new ProducerSettings("broker-1:9092,broker-2:9092", "readings", true, 6, (short) 3, 250,
                Optional.of(Path.of("../data/sensors.csv")), 20000, Optional.of(Duration.ofSeconds(90)), Optional.of(1_000_000L), 7,
                Optional.of(Instant.parse("2026-11-24T10:00:00Z")), Optional.of(Duration.ofMillis(250)), new FaultPlan(0.01, 0.02, 0.03, 1500),
                Optional.of(Path.of("../data/sample-events.jsonl")), Duration.ofSeconds(2), Duration.ofSeconds(10),
                "0.0.0.0", Optional.empty(), Map.of("security.protocol", "SASL_SSL")));
    }

    @Test
    void environmentVariablesSetKeys()
    {
        ProducerSettings settings = ProducerSettings.load(List.of("--rate", "5"),
                Map.of("PRODUCER_RATE", "9", "PRODUCER_TOPIC", "from-env", "PRODUCER_KAFKA_SASL_MECHANISM", "PLAIN"));
        assertThat(settings.rate()).isEqualTo(5);
        assertThat(settings.topic()).isEqualTo("from-env");
        assertThat(settings.kafkaProperties()).containsEntry("sasl.mechanism", "PLAIN");
    }

    @Test
    void badValuesStopStartUpNamingKeyAndValue()
    {
        assertThatThrownBy(() -> ProducerSettings.load(List.of("--rate", "-5"), Map.of()))
                .isInstanceOf(SettingsException.class)
                .hasMessage("invalid setting rate='-5' (from --rate): expected a whole number from 0 to 100000000");
        assertThatThrownBy(() -> ProducerSettings.load(List.of("--malformed-ratio", "1.5"), Map.of()))
                .hasMessage("invalid setting malformed-ratio='1.5' (from --malformed-ratio): expected a number from 0.0 to 1.0");
        assertThatThrownBy(() -> ProducerSettings.load(List.of("--malformed-ratio", "0.6", "--late-ratio", "0.6"), Map.of()))
                .hasMessage("invalid settings malformed-ratio=0.6, duplicate-ratio=0.0, late-ratio=0.6: together they must not exceed 1");
        assertThatThrownBy(() -> ProducerSettings.load(List.of("--replay", "no-such-file.jsonl"), Map.of()))
                .hasMessage("invalid setting replay='no-such-file.jsonl' (from --replay): no such readable file");
        assertThatThrownBy(() -> ProducerSettings.load(List.of("--duration", "0s"), Map.of()))
                .hasMessage("invalid setting duration='0s' (from --duration): expected a positive duration");
        assertThatThrownBy(() -> ProducerSettings.load(List.of("--sensors", "0"), Map.of()))
                .hasMessage("invalid setting sensors='0' (from --sensors): expected a whole number from 1 to 90000");
    }

    @Test
    void eventTimeKeepsPaceWithTheRate()
    {
        ProducerSettings paced = ProducerSettings.load(List.of("--rate", "5000", "--sensors", "1000"), Map.of());
        assertThat(paced.effectiveSensorInterval()).isEqualTo(Duration.ofMillis(200));
        Instant now = Instant.parse("2026-11-24T12:00:00Z");
        assertThat(paced.effectiveStartTime(now)).isEqualTo(now);
        ProducerSettings flatOut = ProducerSettings.load(List.of("--rate", "0", "--count", "2000000"), Map.of());
        assertThat(flatOut.effectiveSensorInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(flatOut.effectiveStartTime(now)).isEqualTo(now.minusSeconds(2000));
    }

    @Test
    void shippedConfigFileDocumentsEveryKeyAndLoads()
            throws IOException
    {
        Path file = Path.of("..", "configs", "producer.properties");
        String text = Files.readString(file, StandardCharsets.UTF_8);
        for (Setting setting : ProducerSettings.SETTINGS) {
            assertThat(text).as("configs/producer.properties documents " + setting.key()).containsPattern("(?m)^#? ?" + setting.key() + "=");
        }
        assertThat(ProducerSettings.load(List.of("--config", file.toString()), Map.of()).topic()).isEqualTo("sensor-readings");
    }

    @Test
    void readmeDocumentsEveryFlag()
            throws IOException
    {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        for (Setting setting : ProducerSettings.SETTINGS) {
            assertThat(readme).as("README documents " + setting.flag()).contains("`" + setting.flag());
        }
    }
}
