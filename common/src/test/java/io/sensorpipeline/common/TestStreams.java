package io.sensorpipeline.common;

import java.time.Duration;
import java.time.Instant;

/** Streams and fleets for tests, shared through common's test-jar. */
public final class TestStreams
{
    public static final Instant START = Instant.parse("2026-11-24T10:00:00Z");

    private TestStreams() {}

    public static SensorCatalog catalog()
    {
        return DataFiles.defaultCatalog();
    }

    public static EventStream stream(int sensors, long seed, FaultPlan plan)
    {
        return new EventStream(new FleetSimulator(catalog().first(sensors), seed, START, Duration.ofSeconds(1)), plan, seed);
    }
}
