package io.sensorpipeline.job.io;

import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.job.SparkTestSession;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link SensorMetadata#read}: a bad sensor file stops the job at start-up with a message that names it. */
class SensorMetadataTest
{
    private final SparkSession spark = SparkTestSession.get();

    @TempDir
    Path directory;

    @Test
    void aMalformedRowIsABadSensorFileNamedWithTheRow()
            throws IOException
    {
        List<String> lines = Files.readAllLines(Path.of("..", "data", "sensors.csv"), StandardCharsets.UTF_8).subList(0, 3);
        Path file = directory.resolve("sensors.csv");
        Files.write(file, List.of(lines.get(0), lines.get(1), "sensor-99999,temperature,site-1,B1,two,1.0,2.0,C,0,1,0,1,0,2025-01-01"));
        assertThatThrownBy(() -> SensorMetadata.read(spark, file.toString()))
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("invalid setting sensors-file='" + file + "': it cannot be read as sensor metadata: [MALFORMED_RECORD_IN_PARSING")
                .hasMessageContaining("sensor-99999,temperature,site-1,B1,null");
    }

    @Test
    void aMissingSensorFileIsABadSettingNamedAtStartUp()
    {
        String missing = Path.of("..", "data", "no-such-sensors.csv").toString();
        assertThatThrownBy(() -> SensorMetadata.read(spark, missing))
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("invalid setting sensors-file='" + missing + "': no such file");
        String folder = Path.of("..", "data").toString();
        assertThatThrownBy(() -> SensorMetadata.read(spark, folder))
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("invalid setting sensors-file='" + folder + "': no such file");
    }

    @Test
    void theShippedSensorFileReads()
    {
        assertThat(SensorMetadata.read(spark, Path.of("..", "data", "sensors.csv").toString()).count()).isEqualTo(1000);
    }
}
