package io.sensorpipeline.common.settings;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Resolves a program's settings from, in rising order of precedence: the defaults, a properties file
 * ({@code --config FILE}), environment variables, and command-line flags. Keys under a pass-through prefix (such as
 * {@code kafka.}) are kept verbatim for a client library. Every unknown key or flag is an error, so a typo never
 * silently falls back to a default.
 */
public final class SettingsLoader
{
    public static final String CONFIG_FLAG = "--config";

    private final String program;
    private final Map<String, Setting> definitions = new LinkedHashMap<>();
    private final String environmentPrefix;
    private final List<PassThrough> passThrough;

    /**
     * Keys under a prefix that the program hands to a library as they are.
     *
     * @param prefix such as {@code kafka.}: {@code kafka.security.protocol} is kept; the environment form is
     *         {@code PRODUCER_KAFKA_SECURITY_PROTOCOL}
     * @param description where the keys go, for {@code --help}
     */
    public record PassThrough(String prefix, String description)
    {
        public PassThrough
        {
            requireNonNull(prefix, "prefix is null");
            requireNonNull(description, "description is null");
        }
    }

    /**
     * @param environmentPrefix such as {@code PRODUCER_}: {@code PRODUCER_RATE} sets {@code rate}
     */
    public SettingsLoader(String program, List<Setting> settings, String environmentPrefix, List<PassThrough> passThrough)
    {
        this.program = requireNonNull(program, "program is null");
        for (Setting setting : requireNonNull(settings, "settings is null")) {
            if (definitions.put(setting.key(), setting) != null) {
                throw new IllegalArgumentException("setting defined twice: " + setting.key());
            }
        }
        this.environmentPrefix = requireNonNull(environmentPrefix, "environmentPrefix is null");
        this.passThrough = List.copyOf(requireNonNull(passThrough, "passThrough is null"));
    }

    public List<Setting> definitions()
    {
        return List.copyOf(definitions.values());
    }

    /** Whether the arguments ask for help; checked before anything else so help works even with bad flags. */
    public static boolean wantsHelp(List<String> arguments)
    {
        return arguments.contains("--help") || arguments.contains("-h");
    }

    public Settings load(List<String> arguments, Map<String, String> environment)
    {
        Map<String, String> values = new TreeMap<>();
        Map<String, String> origins = new TreeMap<>();
        for (Setting setting : definitions.values()) {
            if (setting.defaultValue() != null) {
                values.put(setting.key(), setting.defaultValue());
                origins.put(setting.key(), "default");
            }
        }
        List<Assignment> flags = parseArguments(arguments);
        String configFile = environment.get(environmentPrefix + "CONFIG");
        String configOrigin = "environment variable " + environmentPrefix + "CONFIG";
        for (Assignment flag : flags) {
            if (flag.key().equals("config")) {
                configFile = flag.value();
                configOrigin = flag.origin();
            }
        }
        if (configFile != null && !configFile.isBlank()) {
            for (Assignment assignment : readFile(Path.of(configFile), configOrigin)) {
                put(values, origins, assignment);
            }
        }
        for (Assignment assignment : fromEnvironment(environment)) {
            put(values, origins, assignment);
        }
        for (Assignment flag : flags) {
            if (!flag.key().equals("config")) {
                put(values, origins, flag);
            }
        }
        return new Settings(values, origins);
    }

    private void put(Map<String, String> values, Map<String, String> origins, Assignment assignment)
    {
        values.put(assignment.key(), assignment.value());
        origins.put(assignment.key(), assignment.origin());
    }

    private List<Assignment> parseArguments(List<String> arguments)
    {
        List<Assignment> assignments = new ArrayList<>();
        for (int index = 0; index < arguments.size(); index++) {
            String argument = arguments.get(index);
            if (!argument.startsWith("--") || argument.length() == 2) {
                throw new SettingsException(program + ": unexpected argument '" + argument + "'. Run with --help to list the flags.");
            }
            String name = argument.substring(2);
            String value = null;
            int equals = name.indexOf('=');
            if (equals >= 0) {
                value = name.substring(equals + 1);
                name = name.substring(0, equals);
            }
            if (name.equals("set")) {
                // --set key=value, the spark-submit style of overriding any key.
                String pair = value != null ? value : nextValue(arguments, index++, argument);
                int separator = pair.indexOf('=');
                if (separator <= 0) {
                    throw new SettingsException(program + ": --set expects key=value but got '" + pair + "'");
                }
                String key = pair.substring(0, separator);
                checkKnown(key, "--set " + key);
                assignments.add(new Assignment(key, pair.substring(separator + 1), "--set " + key));
                continue;
            }
            String origin = "--" + name;
            if (name.equals("config")) {
                assignments.add(new Assignment(name, value != null ? value : nextValue(arguments, index++, argument), origin));
                continue;
            }
            checkKnown(name, origin);
            Setting setting = definitions.get(name);
            if (value == null) {
                boolean standsAlone = index + 1 >= arguments.size() || arguments.get(index + 1).startsWith("--");
                if (setting != null && setting.isSwitch() && standsAlone) {
                    value = "true";
                }
                else {
                    value = nextValue(arguments, index++, argument);
                }
            }
            assignments.add(new Assignment(name, value, origin));
        }
        return assignments;
    }

    private String nextValue(List<String> arguments, int index, String flag)
    {
        if (index + 1 >= arguments.size()) {
            throw new SettingsException(program + ": " + flag + " needs a value. Run with --help to list the flags.");
        }
        String value = arguments.get(index + 1);
        if (value.startsWith("--")) {
            // Most likely a forgotten value: "--topic --create-topic" must not name the topic "--create-topic".
            throw new SettingsException(program + ": " + flag + " needs a value, but is followed by the flag '" + value
                    + "' (write " + flag + "=" + value + " if that is the value). Run with --help to list the flags.");
        }
        return value;
    }

    private List<Assignment> readFile(Path file, String origin)
    {
        if (!Files.isRegularFile(file)) {
            throw new SettingsException(program + ": the config file '" + file + "' (from " + origin + ") does not exist or is not a file");
        }
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        }
        catch (IOException | IllegalArgumentException e) {
            throw new SettingsException(program + ": cannot read the config file '" + file + "': " + e.getMessage());
        }
        List<Assignment> assignments = new ArrayList<>();
        for (String key : new TreeMap<>(properties).keySet().stream().map(Object::toString).toList()) {
            String where = "config file " + file;
            checkKnown(key, where);
            assignments.add(new Assignment(key, properties.getProperty(key).trim(), where));
        }
        return assignments;
    }

    private List<Assignment> fromEnvironment(Map<String, String> environment)
    {
        List<Assignment> assignments = new ArrayList<>();
        for (Setting setting : definitions.values()) {
            String name = setting.environmentName(environmentPrefix);
            String value = environment.get(name);
            if (value != null) {
                assignments.add(new Assignment(setting.key(), value, "environment variable " + name));
            }
        }
        for (PassThrough keys : passThrough) {
            String prefix = keys.prefix();
            String environmentStart = environmentPrefix + prefix.toUpperCase(Locale.ROOT).replace('.', '_');
            for (Map.Entry<String, String> entry : new TreeMap<>(environment).entrySet()) {
                if (entry.getKey().startsWith(environmentStart) && entry.getKey().length() > environmentStart.length()) {
                    String rest = entry.getKey().substring(environmentStart.length()).toLowerCase(Locale.ROOT).replace('_', '.');
                    assignments.add(new Assignment(prefix + rest, entry.getValue(), "environment variable " + entry.getKey()));
                }
            }
        }
        return assignments;
    }

    private void checkKnown(String key, String origin)
    {
        if (definitions.containsKey(key)) {
            return;
        }
        for (PassThrough keys : passThrough) {
            if (key.startsWith(keys.prefix()) && key.length() > keys.prefix().length()) {
                return;
            }
        }
        String suggestion = definitions.keySet().stream()
                .filter(known -> editDistance(known, key) <= 2)
                .findFirst()
                .map(known -> " Did you mean '" + known + "'?")
                .orElse("");
        throw new SettingsException(program + ": unknown setting '" + key + "' (from " + origin + ")." + suggestion
                + " Run with --help to list the settings.");
    }

    /** The flag list for {@code --help}, one block per setting, generated from the definitions so it cannot drift. */
    public String usage()
    {
        StringBuilder usage = new StringBuilder();
        for (Setting setting : definitions.values()) {
            String flag = setting.isSwitch() ? setting.flag() : setting.flag() + " " + setting.valueName();
            String description = setting.description();
            // A description that explains its default itself ("default: the built-in catalog") gets no "(default: none)".
            if (setting.defaultValue() != null && !setting.isSwitch() && !(setting.defaultValue().isEmpty() && description.contains("default:"))) {
                description += " (default: " + (setting.defaultValue().isEmpty() ? "none" : setting.defaultValue()) + ")";
            }
            appendFlag(usage, flag, description);
        }
        appendFlag(usage, "--config FILE", "properties file with any of these keys (flags win over it)");
        appendFlag(usage, "--set KEY=VALUE", "any of these settings by its key, as in the config file");
        for (PassThrough keys : passThrough) {
            appendFlag(usage, "--" + keys.prefix() + "NAME=VALUE", keys.description());
        }
        appendFlag(usage, "--help", "this text");
        usage.append("\nEvery flag can also be set as an environment variable, such as ")
                .append(definitions.values().iterator().next().environmentName(environmentPrefix))
                .append(",\nor as a key in the config file.\n");
        return usage.toString();
    }

    private static final int USAGE_WIDTH = 120;
    private static final int FLAG_COLUMN = 31;

    /** One flag's line, its description wrapped at {@link #USAGE_WIDTH} characters and indented under itself. */
    private static void appendFlag(StringBuilder usage, String flag, String description)
    {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-28s", flag));
        for (String word : description.split(" ")) {
            if (line.length() >= FLAG_COLUMN && line.length() + 1 + word.length() > USAGE_WIDTH) {
                usage.append(line).append('\n');
                line = new StringBuilder(" ".repeat(FLAG_COLUMN - 1));
            }
            line.append(' ').append(word);
        }
        usage.append(line).append('\n');
    }

    private static int editDistance(String first, String second)
    {
        int[] previous = new int[second.length() + 1];
        int[] current = new int[second.length() + 1];
        for (int column = 0; column <= second.length(); column++) {
            previous[column] = column;
        }
        for (int row = 1; row <= first.length(); row++) {
            current[0] = row;
            for (int column = 1; column <= second.length(); column++) {
                int substitution = previous[column - 1] + (first.charAt(row - 1) == second.charAt(column - 1) ? 0 : 1);
                current[column] = Math.min(substitution, Math.min(previous[column], current[column - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[second.length()];
    }

    private record Assignment(String key, String value, String origin) {}
}
