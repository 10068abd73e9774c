package io.sensorpipeline.job.io;

import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.job.JobSettings;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KafkaTopicsTest
{
    @Test
    void brokersThatDoNotAnswerAreANoteNotAFailure()
    {
        // Nothing listens on port 1: the check gives up after its timeout and lets the queries keep trying.
        JobSettings settings = JobSettings.load(List.of("--kafka.bootstrap.servers", "127.0.0.1:1"), Map.of());
        KafkaTopics.Checked checked = KafkaTopics.check(settings, Duration.ofSeconds(2));
        assertThat(checked.notes())
                .singleElement().asString()
                .startsWith("the Kafka brokers 127.0.0.1:1 did not answer within 2 s, so the topics 'sensor-readings' and 'sensor-alerts' are not checked");
        assertThat(checked.ids()).isEmpty();
    }

    @Test
    void aBootstrapAddressTheClientCannotParseIsABadSetting()
    {
        JobSettings settings = JobSettings.load(List.of("--kafka.bootstrap.servers", "foo"), Map.of());
        assertThatThrownBy(() -> KafkaTopics.check(settings, Duration.ofSeconds(2)))
                .isInstanceOf(SettingsException.class)
                .hasMessage("invalid Kafka client settings (kafka.*): Invalid url in bootstrap.servers: foo");
    }
}
