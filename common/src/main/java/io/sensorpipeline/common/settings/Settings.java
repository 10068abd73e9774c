package io.sensorpipeline.common.settings;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * Resolved raw settings, with typed accessors that turn a bad value into a {@link SettingsException} naming the key,
 * the value and where it came from.
 */
public final class Settings
{
    private final Map<String, String> values;
    private final Map<String, String> origins;

    Settings(Map<String, String> values, Map<String, String> origins)
    {
        this.values = Map.copyOf(requireNonNull(values, "values is null"));
        this.origins = Map.copyOf(requireNonNull(origins, "origins is null"));
    }

    /** Where the value of {@code key} came from: "default", "--rate", "config file F", "environment variable V". */
    public String origin(String key)
    {
        return origins.getOrDefault(key, "nowhere");
    }

    public String string(String key)
    {
        String value = values.get(key);
        if (value == null || value.isBlank()) {
            throw invalid(key, value, "a value is required");
        }
        return value.trim();
    }

    public Optional<String> optionalString(String key)
    {
        String value = values.get(key);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    /** A TCP port (0 for any free one), or empty when the value is {@code off}. */
    public Optional<Integer> portOrOff(String key)
    {
        return string(key).equalsIgnoreCase("off") ? Optional.empty() : Optional.of(integer(key, 0, 65_535));
    }

    public int integer(String key, int minimum, int maximum)
    {
        return (int) whole(key, minimum, maximum);
    }

    public long whole(String key, long minimum, long maximum)
    {
        String value = string(key);
        long parsed;
        try {
            parsed = Long.parseLong(value.replace("_", ""));
        }
        catch (NumberFormatException e) {
            throw invalid(key, value, "expected a whole number");
        }
        if (parsed < minimum || parsed > maximum) {
            throw invalid(key, value, "expected a whole number from " + minimum + " to " + maximum);
        }
        return parsed;
    }

    public double decimal(String key, double minimum, double maximum)
    {
        String value = string(key);
        double parsed;
        try {
            parsed = Double.parseDouble(value);
        }
        catch (NumberFormatException e) {
            throw invalid(key, value, "expected a number");
        }
        if (!(parsed >= minimum && parsed <= maximum)) {
            throw invalid(key, value, "expected a number from " + minimum + " to " + maximum);
        }
        return parsed;
    }

    public boolean bool(String key)
    {
        String value = string(key).toLowerCase(Locale.ROOT);
        return switch (value) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw invalid(key, value, "expected true or false");
        };
    }

    /** A duration such as {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, or a bare number of seconds. */
    public Duration duration(String key)
    {
        String value = string(key);
        try {
            return parseDuration(value);
        }
        catch (IllegalArgumentException e) {
            throw invalid(key, value, "expected a duration such as 500ms, 30s, 5m or 2h");
        }
    }

    /** A duration above zero; {@code expectation} is the message for zero, such as "expected a positive duration". */
    public Duration positiveDuration(String key, String expectation)
    {
        Duration value = duration(key);
        if (value.isZero()) {
            throw invalid(key, string(key), expectation);
        }
        return value;
    }

    public Optional<Duration> optionalDuration(String key)
    {
        return optionalString(key).map(value -> duration(key));
    }

    public Optional<Instant> optionalInstant(String key)
    {
        Optional<String> value = optionalString(key);
        if (value.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(value.get()));
        }
        catch (DateTimeParseException e) {
            throw invalid(key, value.get(), "expected an ISO-8601 instant such as 2026-11-24T10:00:00Z");
        }
    }

    public Optional<Path> optionalPath(String key)
    {
        return optionalString(key).map(Path::of);
    }

    /** Every key under {@code prefix}, with the prefix removed: the pass-through properties of a client library. */
    public Map<String, String> withPrefix(String prefix)
    {
        Map<String, String> selected = new LinkedHashMap<>();
        values.entrySet().stream()
                .filter(entry -> entry.getKey().startsWith(prefix))
                .sorted(Map.Entry.comparingByKey())
                .forEach(entry -> selected.put(entry.getKey().substring(prefix.length()), entry.getValue()));
        return selected;
    }

    public SettingsException invalid(String key, String value, String expectation)
    {
        return new SettingsException("invalid setting " + key + "=" + (value == null ? "(unset)" : "'" + value + "'")
                + " (from " + origin(key) + "): " + expectation);
    }

    public static Duration parseDuration(String text)
    {
        String value = text.trim().toLowerCase(Locale.ROOT);
        String[][] units = {{"ms", "1"}, {"s", "1000"}, {"m", "60000"}, {"h", "3600000"}, {"d", "86400000"}};
        for (String[] unit : units) {
            if (value.endsWith(unit[0]) && !(unit[0].equals("s") && value.endsWith("ms"))) {
                String number = value.substring(0, value.length() - unit[0].length()).trim();
                return millis(number, Long.parseLong(unit[1]));
            }
        }
        return millis(value, 1000);
    }

    private static Duration millis(String number, long millisPerUnit)
    {
        double amount;
        try {
            amount = Double.parseDouble(number);
        }
        catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: " + number, e);
        }
        if (!(amount >= 0) || Double.isInfinite(amount)) {
            throw new IllegalArgumentException("negative or infinite: " + number);
        }
        return Duration.ofMillis(Math.round(amount * millisPerUnit));
    }
}
