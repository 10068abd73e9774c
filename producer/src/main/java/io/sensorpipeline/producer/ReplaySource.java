package io.sensorpipeline.producer;

import io.sensorpipeline.common.InvalidEventException;
import io.sensorpipeline.common.SensorJson;
import io.sensorpipeline.common.SensorReading;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The lines of a recorded JSON-lines file, sent byte for byte (a line that is not valid JSON is sent as it is, so
 * recorded faults replay too). The key is the line's sensorId when it can be read.
 */
final class ReplaySource
        implements RecordSource
{
    private final InputStream input;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(512);

    ReplaySource(Path file)
    {
        try {
            this.input = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot open the replay file " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Outgoing next()
    {
        byte[] value = readLine();
        if (value == null) {
            return null;
        }
        try {
            SensorReading reading = SensorJson.decode(value);
            return new Outgoing(reading.sensorId().getBytes(StandardCharsets.UTF_8), value, reading.timestamp(), ProducerStats.REPLAYED);
        }
        catch (InvalidEventException e) {
            return new Outgoing(null, value, null, ProducerStats.REPLAYED);
        }
    }

    private byte[] readLine()
    {
        line.reset();
        try {
            int next = input.read();
            if (next < 0) {
                return null;
            }
            while (next >= 0 && next != '\n') {
                line.write(next);
                next = input.read();
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot read the replay file: " + e.getMessage(), e);
        }
        byte[] bytes = line.toByteArray();
        if (bytes.length > 0 && bytes[bytes.length - 1] == '\r') {
            return java.util.Arrays.copyOf(bytes, bytes.length - 1);
        }
        return bytes;
    }

    @Override
    public void close()
    {
        try {
            input.close();
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
