package io.sensorpipeline.job.transform;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.hour;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.round;
import static org.apache.spark.sql.functions.to_date;
import static org.apache.spark.sql.functions.unix_millis;
import static org.apache.spark.sql.functions.when;

/**
 * Joins each valid reading with its sensor's metadata and derives what queries need: the value in the type's canonical
 * unit with the sensor's calibration applied, where the sensor is, its ranges, the event date and hour (the partition
 * and a common filter), and the ingest delay (Kafka's timestamp minus the event's).
 *
 * * <p>Input: validated readings (eventId, sensorId, type, value, unit, timestamp, seq, battery, firmware and the Kafka
 * partition, offset and timestamp) whose sensorId exists in the metadata; the join is
 * inner, and validation already sent unknown sensors to the dead letters.
 */
public final class Enrichment
{
    private final Dataset<Row> sensors;

    /** @param sensors the metadata, small enough to broadcast to every task (a thousand rows is a few hundred KB) */
    public Enrichment(Dataset<Row> sensors)
    {
        this.sensors = requireNonNull(sensors, "sensors is null");
    }

    public Dataset<Row> apply(Dataset<Row> readings)
    {
        Dataset<Row> metadata = broadcast(sensors.select(
                col("sensorId").as("meta_sensorId"),
                col("siteId"),
                col("building"),
                col("floor"),
                col("latitude"),
                col("longitude"),
                col("validMin").as("valid_min"),
                col("validMax").as("valid_max"),
                col("alertLow").as("alert_low"),
                col("alertHigh").as("alert_high"),
                col("calibrationOffset").as("calibration_offset")));
        Column fahrenheit = col("unit").equalTo(lit("F"));
        // Fahrenheit sensors report in °F; every table stores the type's canonical unit (°C for temperature).
        Column canonical = when(fahrenheit, col("value").minus(lit(32.0)).multiply(lit(5.0 / 9.0))).otherwise(col("value"));
        return readings.join(metadata, readings.col("sensorId").equalTo(metadata.col("meta_sensorId")), "inner")
                .select(
                        col("eventId"),
                        col("sensorId"),
                        col("type"),
                        col("siteId"),
                        col("building"),
                        col("floor"),
                        col("latitude"),
                        col("longitude"),
                        round(canonical.plus(col("calibration_offset")), 4).as("value"),
                        when(fahrenheit, lit("C")).otherwise(col("unit")).as("unit"),
                        col("value").as("raw_value"),
                        col("unit").as("raw_unit"),
                        col("calibration_offset"),
                        col("timestamp"),
                        hour(col("timestamp")).as("event_hour"),
                        unix_millis(col("kafka_timestamp")).minus(unix_millis(col("timestamp"))).as("ingest_delay_ms"),
                        col("seq"),
                        col("battery"),
                        col("firmware"),
                        col("valid_min"),
                        col("valid_max"),
                        col("alert_low"),
                        col("alert_high"),
                        col("kafka_partition"),
                        col("kafka_offset"),
                        col("kafka_timestamp"),
                        // Last: the partition column, where a read of the partitioned table puts it.
                        to_date(col("timestamp")).as("event_date"));
    }
}
