package io.sensorpipeline.common.settings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SettingsLoaderTest
{
    private static final SettingsLoader LOADER = new SettingsLoader("tool", List.of(
            Setting.of("rate", "100", "N", "events per second"),
            Setting.of("topic", "readings", "NAME", "topic"),
            Setting.of("duration", null, "TIME", "how long"),
            Setting.onOff("create-topic", "create the topic")), "TOOL_", List.of(new SettingsLoader.PassThrough("kafka.", "any Kafka client setting, as NAME")));

    @TempDir
    Path directory;

    @Test
    void defaultsApplyWhenNothingIsSet()
    {
        Settings settings = LOADER.load(List.of(), Map.of());
        assertThat(settings.integer("rate", 0, 1000)).isEqualTo(100);
        assertThat(settings.origin("rate")).isEqualTo("default");
        assertThat(settings.optionalDuration("duration")).isEmpty();
        assertThat(settings.bool("create-topic")).isFalse();
    }

    @Test
    void flagsBeatEnvironmentWhichBeatsTheFile()
            throws IOException
    {
        Path file = directory.resolve("tool.properties");
        Files.writeString(file, "rate=1\ntopic=from-file\nduration=5m\nkafka.acks=1\n");
        Settings settings = LOADER.load(List.of("--config", file.toString(), "--rate=3"),
                Map.of("TOOL_RATE", "2", "TOOL_TOPIC", "from-env", "TOOL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"));
        assertThat(settings.string("rate")).isEqualTo("3");
        assertThat(settings.origin("rate")).isEqualTo("--rate");
        assertThat(settings.string("topic")).isEqualTo("from-env");
        assertThat(settings.origin("topic")).isEqualTo("environment variable TOOL_TOPIC");
        assertThat(settings.duration("duration")).isEqualTo(Duration.ofMinutes(5));
        assertThat(settings.origin("duration")).isEqualTo("config file " + file);
        assertThat(settings.withPrefix("kafka.")).containsExactlyInAnyOrderEntriesOf(Map.of("acks", "1", "security.protocol", "SASL_SSL"));
    }

    @Test
    void switchesStandAloneOrTakeAValue()
    {
        assertThat(LOADER.load(List.of("--create-topic", "--rate", "5"), Map.of()).bool("create-topic")).isTrue();
        assertThat(LOADER.load(List.of("--create-topic=false"), Map.of()).bool("create-topic")).isFalse();
        assertThat(LOADER.load(List.of("--create-topic", "yes"), Map.of()).bool("create-topic")).isTrue();
    }

    @Test
    void passThroughAndSetFlags()
    {
        Settings settings = LOADER.load(List.of("--kafka.linger.ms=5", "--kafka.acks", "all", "--set", "topic=x"), Map.of());
        assertThat(settings.withPrefix("kafka.")).containsExactlyInAnyOrderEntriesOf(Map.of("linger.ms", "5", "acks", "all"));
        assertThat(settings.string("topic")).isEqualTo("x");
        assertThat(settings.origin("topic")).isEqualTo("--set topic");
    }

    @Test
    void badValuesNameTheKeyTheValueAndTheSource()
    {
        Settings settings = LOADER.load(List.of("--rate", "fast", "--duration", "soon"), Map.of());
        assertThatThrownBy(() -> settings.integer("rate", 0, 1000))
                .isInstanceOf(SettingsException.class)
                .hasMessage("invalid setting rate='fast' (from --rate): expected a whole number");
        assertThatThrownBy(() -> settings.duration("duration"))
                .hasMessage("invalid setting duration='soon' (from --duration): expected a duration such as 500ms, 30s, 5m or 2h");
        Settings outOfRange = LOADER.load(List.of(), Map.of("TOOL_RATE", "-1"));
        assertThatThrownBy(() -> outOfRange.integer("rate", 0, 1000))
                .hasMessage("invalid setting rate='-1' (from environment variable TOOL_RATE): expected a whole number from 0 to 1000");
    }

    @Test
    void unknownKeysAreErrorsWithASuggestion()
            throws IOException
    {
        assertThatThrownBy(() -> LOADER.load(List.of("--rte", "5"), Map.of()))
                .isInstanceOf(SettingsException.class)
                .hasMessage("tool: unknown setting 'rte' (from --rte). Did you mean 'rate'? Run with --help to list the settings.");
        Path file = directory.resolve("typo.properties");
        Files.writeString(file, "topik=x\n");
        assertThatThrownBy(() -> LOADER.load(List.of("--config", file.toString()), Map.of()))
                .hasMessage("tool: unknown setting 'topik' (from config file " + file + "). Did you mean 'topic'? Run with --help to list the settings.");
        assertThatThrownBy(() -> LOADER.load(List.of("stray"), Map.of()))
                .hasMessage("tool: unexpected argument 'stray'. Run with --help to list the flags.");
        assertThatThrownBy(() -> LOADER.load(List.of("--rate"), Map.of()))
                .hasMessage("tool: --rate needs a value. Run with --help to list the flags.");
        assertThatThrownBy(() -> LOADER.load(List.of("--topic", "--create-topic"), Map.of()))
                .hasMessage("tool: --topic needs a value, but is followed by the flag '--create-topic' (write --topic=--create-topic if that is"
                        + " the value). Run with --help to list the flags.");
        assertThat(LOADER.load(List.of("--topic=--odd"), Map.of()).string("topic")).isEqualTo("--odd");
        assertThatThrownBy(() -> LOADER.load(List.of("--config", directory.resolve("missing").toString()), Map.of()))
                .hasMessageContaining("does not exist");
    }

    @Test
    void durationsAcceptCommonUnits()
    {
        assertThat(Settings.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Settings.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Settings.parseDuration("1.5m")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Settings.parseDuration("2h")).isEqualTo(Duration.ofHours(2));
        assertThat(Settings.parseDuration("45")).isEqualTo(Duration.ofSeconds(45));
        assertThatThrownBy(() -> Settings.parseDuration("-1s")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void usageWrapsLongDescriptionsAndSaysEachDefaultOnce()
    {
        SettingsLoader loader = new SettingsLoader("tool", List.of(
                Setting.of("count", "", "N", "stop after this many records; default: run until a signal"),
                Setting.of("note", "", "TEXT", "a note " + "with many words ".repeat(12).trim())), "TOOL_", List.of());
        String usage = loader.usage();
        assertThat(usage.lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(120));
        assertThat(usage).contains("  --count N                    stop after this many records; default: run until a signal\n");
        assertThat(usage).doesNotContain("a signal (default: none)");
        // The wrapped description goes on under its first line, and keeps its default at the end.
        List<String> note = usage.lines().dropWhile(line -> !line.startsWith("  --note")).limit(3).toList();
        assertThat(note.get(0)).startsWith("  --note TEXT                  a note with many words");
        assertThat(note.subList(1, 3)).allSatisfy(line -> assertThat(line).matches(" {31}[a-z].*"));
        assertThat(note.get(2)).endsWith(" (default: none)");
    }

    @Test
    void usageListsEveryFlagWithItsDefault()
    {
        assertThat(LOADER.usage())
                .contains("--rate N", "events per second (default: 100)", "--create-topic", "--kafka.NAME=VALUE", "any Kafka client setting, as NAME", "--set KEY=VALUE", "TOOL_RATE");
    }
}
