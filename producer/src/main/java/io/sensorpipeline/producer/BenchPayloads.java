package io.sensorpipeline.producer;

import io.sensorpipeline.common.DataFiles;
import io.sensorpipeline.common.EventStream;
import io.sensorpipeline.common.FaultPlan;
import io.sensorpipeline.common.FleetSimulator;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Writes readings of the simulated fleet, one per line, as the payload file of Kafka's own ProducerPerformance, so
 * the benchmark compares both producers on the same record size and the same compressibility.
 *
 * <p>Usage: {@code java -cp producer.jar io.sensorpipeline.producer.BenchPayloads FILE [COUNT]}
 */
public final class BenchPayloads
{
    private BenchPayloads() {}

    public static void main(String[] arguments)
            throws IOException
    {
        if (arguments.length < 1 || arguments.length > 2) {
            System.err.println("usage: BenchPayloads FILE [COUNT]");
            System.exit(2);
        }
        int count = arguments.length == 2 ? Integer.parseInt(arguments[1]) : 10_000;
        EventStream stream = new EventStream(
                new FleetSimulator(DataFiles.defaultCatalog(), 42, Instant.now(), Duration.ofSeconds(1)), FaultPlan.NONE, 42);
        long bytes = 0;
        try (OutputStream output = new BufferedOutputStream(Files.newOutputStream(Path.of(arguments[0])))) {
            for (int index = 0; index < count; index++) {
                byte[] value = stream.next().value();
                bytes += value.length;
                output.write(value);
                output.write('\n');
            }
        }
        System.out.printf("%d payloads, %.1f bytes on average%n", count, bytes / (double) count);
    }
}
