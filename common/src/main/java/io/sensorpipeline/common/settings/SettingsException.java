package io.sensorpipeline.common.settings;

/** A bad setting: the message names the key, the value and where the value came from, and is meant for the user. */
public final class SettingsException
        extends RuntimeException
{
    public SettingsException(String message)
    {
        super(message);
    }
}
