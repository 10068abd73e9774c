package io.sensorpipeline.job.transform;

import io.sensorpipeline.common.DataFiles;
import io.sensorpipeline.common.Sensor;
import io.sensorpipeline.common.SensorCatalog;
import io.sensorpipeline.job.SparkTestSession;
import io.sensorpipeline.job.io.SensorMetadata;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class EnrichmentTest
{
    private static final StructType READINGS = new StructType()
            .add("eventId", DataTypes.StringType)
            .add("sensorId", DataTypes.StringType)
            .add("type", DataTypes.StringType)
            .add("value", DataTypes.DoubleType)
            .add("unit", DataTypes.StringType)
            .add("timestamp", DataTypes.TimestampType)
            .add("seq", DataTypes.LongType)
            .add("battery", DataTypes.DoubleType)
            .add("firmware", DataTypes.StringType)
            .add("kafka_partition", DataTypes.IntegerType)
            .add("kafka_offset", DataTypes.LongType)
            .add("kafka_timestamp", DataTypes.TimestampType);

    private final SparkSession spark = SparkTestSession.get();
    private final SensorCatalog catalog = DataFiles.defaultCatalog();

    @Test
    void joinsMetadataAppliesCalibrationAndDerivesColumns()
    {
        Sensor celsius = catalog.sensors().stream().filter(sensor -> sensor.unit().equals("C")).findFirst().orElseThrow();
        Row row = enrich(reading("e-1", celsius.sensorId(), "temperature", 21.5, "C", "2026-11-24T23:59:58.500Z", "2026-11-25T00:00:01.000Z"));

        assertThat(row.<String>getAs("siteId")).isEqualTo(celsius.siteId());
        assertThat(row.<Integer>getAs("floor")).isEqualTo(celsius.floor());
        assertThat(row.<Double>getAs("value")).isCloseTo(21.5 + celsius.calibrationOffset(), within(1e-9));
        assertThat(row.<Double>getAs("raw_value")).isEqualTo(21.5);
        assertThat(row.<String>getAs("unit")).isEqualTo("C");
        assertThat(row.<Double>getAs("alert_high")).isEqualTo(celsius.alertHigh());
        // The event's own date and hour, not the ingest time's.
        assertThat(row.<Date>getAs("event_date").toLocalDate()).isEqualTo(LocalDate.parse("2026-11-24"));
        assertThat(row.<Integer>getAs("event_hour")).isEqualTo(23);
        assertThat(row.<Long>getAs("ingest_delay_ms")).isEqualTo(2_500L);
        assertThat(row.<Timestamp>getAs("timestamp").toInstant()).isEqualTo(Instant.parse("2026-11-24T23:59:58.500Z"));
    }

    @Test
    void fahrenheitBecomesCelsiusBeforeCalibration()
    {
        Sensor fahrenheit = catalog.sensors().stream().filter(sensor -> sensor.unit().equals("F")).findFirst().orElseThrow();
        Row row = enrich(reading("e-2", fahrenheit.sensorId(), "temperature", 71.6, "F", "2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"));

        assertThat(row.<Double>getAs("value")).isCloseTo(22.0 + fahrenheit.calibrationOffset(), within(1e-4));
        assertThat(row.<String>getAs("unit")).isEqualTo("C");
        assertThat(row.<String>getAs("raw_unit")).isEqualTo("F");
        assertThat(row.<Double>getAs("raw_value")).isEqualTo(71.6);
    }

    @Test
    void readingsOfUnknownSensorsDoNotJoin()
    {
        Dataset<Row> readings = spark.createDataFrame(List.of(
                reading("e-3", "sensor-99999", "temperature", 20.0, "C", "2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z")), READINGS);
        assertThat(enrichment().apply(readings).count()).isZero();
    }

    private Row enrich(Row reading)
    {
        List<Row> rows = enrichment().apply(spark.createDataFrame(List.of(reading), READINGS)).collectAsList();
        assertThat(rows).hasSize(1);
        return rows.get(0);
    }

    private Enrichment enrichment()
    {
        return new Enrichment(SensorMetadata.read(spark, Path.of("..", "data", "sensors.csv").toString()));
    }

    private static Row reading(String eventId, String sensorId, String type, double value, String unit, String eventTime, String kafkaTime)
    {
        return RowFactory.create(eventId, sensorId, type, value, unit, Timestamp.from(Instant.parse(eventTime)), 7L, 0.9, "1.4.2", 0, 42L,
                Timestamp.from(Instant.parse(kafkaTime)));
    }
}
