package io.sensorpipeline.common;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Writes the two small files shipped in {@code data/}: the sensor metadata and a sample of the event stream. Both are
 * derived from fixed seeds, and tests check the committed files still equal what this writes.
 *
 * <p>Usage: {@code java -cp common/target/classes:... io.sensorpipeline.common.DataFiles data}
 */
public final class DataFiles
{
    public static final String SENSORS_FILE = "sensors.csv";
    public static final String SAMPLE_EVENTS_FILE = "sample-events.jsonl";
    public static final Instant SAMPLE_START = Instant.parse("2026-11-24T10:00:00Z");
    public static final int SAMPLE_SIZE = 500;
    private static final long SAMPLE_SEED = 42;

    private DataFiles() {}

    public static SensorCatalog defaultCatalog()
    {
        return SensorCatalog.generate(SensorCatalog.DEFAULT_SIZE, SensorCatalog.DEFAULT_SEED);
    }

    /**
     * The sample stream: 50 sensors reporting every second, with a few faults of every kind that fits on a text line
     * (an empty payload or bytes that are not UTF-8 cannot be one line of a JSON-lines file).
     */
    public static byte[] sampleEvents()
    {
        FleetSimulator simulator = new FleetSimulator(defaultCatalog().first(50), SAMPLE_SEED, SAMPLE_START, Duration.ofSeconds(1));
        EventStream stream = new EventStream(simulator, new FaultPlan(0.06, 0.02, 0.02, 1500), SAMPLE_SEED);
        StringBuilder lines = new StringBuilder();
        int written = 0;
        while (written < SAMPLE_SIZE) {
            StreamRecord record = stream.next();
            if (record.fault() == FaultKind.EMPTY_PAYLOAD || record.fault() == FaultKind.NOT_UTF8) {
                continue;
            }
            lines.append(new String(record.value(), StandardCharsets.UTF_8)).append('\n');
            written++;
        }
        return lines.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static void main(String[] arguments)
            throws IOException
    {
        Path directory = Path.of(arguments.length > 0 ? arguments[0] : "data");
        Files.createDirectories(directory);
        try (Writer writer = Files.newBufferedWriter(directory.resolve(SENSORS_FILE), StandardCharsets.UTF_8)) {
            defaultCatalog().writeCsv(writer);
        }
        try (OutputStream output = Files.newOutputStream(directory.resolve(SAMPLE_EVENTS_FILE))) {
            output.write(sampleEvents());
        }
        System.out.println("wrote " + directory.resolve(SENSORS_FILE) + " and " + directory.resolve(SAMPLE_EVENTS_FILE));
    }
}
