package io.sensorpipeline.common;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SensorCatalogTest
{
    static final Path DATA = Path.of("..", "data");

    @Test
    void committedSensorsFileIsTheGeneratedCatalog()
            throws IOException
    {
        StringWriter expected = new StringWriter();
        DataFiles.defaultCatalog().writeCsv(expected);
        assertThat(Files.readString(DATA.resolve(DataFiles.SENSORS_FILE), StandardCharsets.UTF_8))
                .as("data/sensors.csv is stale: regenerate it with DataFiles")
                .isEqualTo(expected.toString());
    }

    @Test
    void committedSampleEventsAreTheGeneratedSample()
            throws IOException
    {
        assertThat(Files.readAllBytes(DATA.resolve(DataFiles.SAMPLE_EVENTS_FILE))).isEqualTo(DataFiles.sampleEvents());
    }

    @Test
    void defaultFleetIsAThousandSensorsOnTwentySites()
    {
        SensorCatalog catalog = SensorCatalog.load(DATA.resolve(DataFiles.SENSORS_FILE));
        assertThat(catalog.size()).isEqualTo(1000);
        assertThat(catalog.sensors().stream().map(Sensor::siteId).collect(Collectors.toSet())).hasSize(20);
        assertThat(catalog.sensors().stream().map(Sensor::type).collect(Collectors.toSet())).containsExactlyInAnyOrder(SensorType.values());
        assertThat(catalog.sensors()).allSatisfy(sensor -> {
            assertThat(sensor.alertLow()).isGreaterThanOrEqualTo(sensor.validMin());
            assertThat(sensor.alertHigh()).isLessThanOrEqualTo(sensor.validMax());
            assertThat(sensor.validMin()).isGreaterThanOrEqualTo(sensor.type().minimum());
            assertThat(sensor.validMax()).isLessThanOrEqualTo(sensor.type().maximum());
        });
        assertThat(catalog.find("sensor-00042")).isPresent();
        assertThat(catalog.find("sensor-90001")).isEmpty();
    }

    @Test
    void csvRoundTrips()
            throws IOException
    {
        SensorCatalog catalog = SensorCatalog.generate(50, 1);
        StringWriter csv = new StringWriter();
        catalog.writeCsv(csv);
        assertThat(SensorCatalog.parse(new StringReader(csv.toString()), "test").sensors()).isEqualTo(catalog.sensors());
    }

    @Test
    void badRowsNameTheLine()
    {
        String csv = SensorCatalog.HEADER + "\nsensor-1,temperature,site-01,B1,2,1.0,2.0,C,-30.0,70.0,15.0,28.0,0.1,2024-01-01\n"
                + "sensor-2,plasma,site-01,B1,2,1.0,2.0,C,-30.0,70.0,15.0,28.0,0.1,2024-01-01\n";
        assertThatThrownBy(() -> SensorCatalog.parse(new StringReader(csv), "sensors.csv"))
                .hasMessageStartingWith("sensors.csv line 3: unknown sensor type 'plasma'");
        assertThatThrownBy(() -> SensorCatalog.parse(new StringReader("id,type\n"), "sensors.csv"))
                .hasMessageStartingWith("sensors.csv: expected the header");
    }

    @Test
    void aFleetLargerThanTheCatalogIsRefused()
    {
        assertThatThrownBy(() -> SensorCatalog.generate(10, 1).first(11))
                .hasMessage("a fleet of 11 sensors is not possible: the catalog has 10");
    }
}
