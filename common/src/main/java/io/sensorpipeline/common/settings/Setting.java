package io.sensorpipeline.common.settings;

import java.util.Locale;

import static java.util.Objects.requireNonNull;

/**
 * One documented setting of a program. The key is the property name in the config file; the command-line flag is
 * {@code --key}; the environment variable is the program's prefix plus the key in upper case with {@code .} and
 * {@code -} turned into {@code _}.
 *
 * @param defaultValue the value when no source sets it; null means no default (the setting is optional)
 * @param isSwitch a flag that may stand alone ({@code --create-topic}) and means {@code true}
 */
public record Setting(String key, String defaultValue, boolean isSwitch, String valueName, String description)
{
    public Setting
    {
        requireNonNull(key, "key is null");
        requireNonNull(valueName, "valueName is null");
        requireNonNull(description, "description is null");
    }

    public static Setting of(String key, String defaultValue, String valueName, String description)
    {
        return new Setting(key, defaultValue, false, valueName, description);
    }

    public static Setting onOff(String key, String description)
    {
        return new Setting(key, "false", true, "", description);
    }

    public String flag()
    {
        return "--" + key;
    }

    public String environmentName(String prefix)
    {
        return prefix + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }
}
