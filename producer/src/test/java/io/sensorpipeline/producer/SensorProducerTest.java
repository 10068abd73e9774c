package io.sensorpipeline.producer;

import io.sensorpipeline.common.settings.Setting;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

class SensorProducerTest
{
    @Test
    void helpListsEveryFlag()
    {
        Result result = run("--help");
        assertThat(result.exitCode()).isZero();
        for (Setting setting : ProducerSettings.SETTINGS) {
            assertThat(result.out()).contains(setting.flag());
        }
        assertThat(result.out()).contains("--kafka.NAME=VALUE", "Exit codes");
    }

    @Test
    void badFlagsExitWithUsageErrorNamingTheFlag()
    {
        Result result = run("--rate", "lots");
        assertThat(result.exitCode()).isEqualTo(SensorProducer.EXIT_USAGE);
        assertThat(result.err()).isEqualTo("producer: invalid setting rate='lots' (from --rate): expected a whole number\n");
        Result unknown = run("--sensor", "5");
        assertThat(unknown.err()).startsWith("producer: unknown setting 'sensor' (from --sensor). Did you mean 'sensors'?");
    }

    @Test
    void badKafkaSettingsAndFilesAreUsageErrorsBeforeAnyConnection()
    {
        Result protocol = run("--kafka.security.protocol=FOO", "--count", "1");
        assertThat(protocol.exitCode()).isEqualTo(SensorProducer.EXIT_USAGE);
        assertThat(protocol.err()).startsWith("producer: invalid Kafka setting: Invalid value FOO for configuration security.protocol");
        Result linger = run("--kafka.linger.ms=soon", "--count", "1");
        assertThat(linger.exitCode()).isEqualTo(SensorProducer.EXIT_USAGE);
        assertThat(linger.err()).startsWith("producer: invalid Kafka setting: Invalid value soon for configuration linger.ms");
        Result address = run("--bootstrap-servers", "127.0.0.1", "--count", "1");
        assertThat(address.exitCode()).isEqualTo(SensorProducer.EXIT_USAGE);
        assertThat(address.err()).startsWith("producer: invalid setting bootstrap-servers='127.0.0.1': '127.0.0.1' is not host:port");
        Result directory = run("--sensor-file", "src", "--count", "1");
        assertThat(directory.exitCode()).isEqualTo(SensorProducer.EXIT_USAGE);
        assertThat(directory.err()).startsWith("producer: invalid setting sensor-file='src': ");
    }

    @Test
    void anAddressThatDoesNotResolveIsAFatalKafkaErrorNotABadSetting()
    {
        // .invalid never resolves (RFC 2606): the admin client cannot be created.
        Result result = run("--bootstrap-servers", "nohost.invalid:9092", "--count", "1");
        assertThat(result.exitCode()).isEqualTo(SensorProducer.EXIT_FATAL);
        assertThat(result.err()).contains("producer: cannot reach Kafka at nohost.invalid:9092: No resolvable bootstrap urls");
    }

    @Test
    void unreachableClusterIsFatalWithAHint()
    {
        // Port 1 on loopback: nothing listens, so the start-up topic check times out.
        Result result = run("--bootstrap-servers", "127.0.0.1:1", "--startup-timeout", "2s", "--count", "1");
        assertThat(result.exitCode()).isEqualTo(SensorProducer.EXIT_FATAL);
        assertThat(result.err()).contains("cannot reach Kafka at 127.0.0.1:1", "./pipeline kafka start");
    }

    private static Result run(String... arguments)
    {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = SensorProducer.run(List.of(arguments), Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), new AtomicBoolean());
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private record Result(int exitCode, String out, String err) {}
}
