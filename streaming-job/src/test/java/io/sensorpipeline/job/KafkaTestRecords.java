package io.sensorpipeline.job;

import io.sensorpipeline.job.io.SensorMetadata;
import io.sensorpipeline.job.transform.Decoding;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.MemoryStream;
import scala.Option;
import scala.collection.JavaConverters;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Kafka-shaped rows for streaming tests, numbered by offset on partition 0 of sensor-readings, and a topic to add them to. */
public final class KafkaTestRecords
{
    private long offset;

    /** A stream with the Kafka source's columns; add rows with {@link #add}. */
    public static MemoryStream<Row> topic(SparkSession spark, int id)
    {
        return new MemoryStream<>(id, spark.sqlContext(), Option.empty(), Encoders.row(StreamingJob.KAFKA_RECORD));
    }

    public static void add(MemoryStream<Row> topic, Row... records)
    {
        topic.addData(JavaConverters.asScalaBuffer(List.of(records)).toSeq());
    }

    /** The job's decoding with data/sensors.csv and a one-minute future tolerance. */
    public static Decoding decoding(SparkSession spark)
    {
        return new Decoding(SensorMetadata.read(spark, Path.of("..", "data", "sensors.csv").toString()), Duration.ofMinutes(1));
    }

    /** A valid humidity reading of sensor-00001, uploaded a second after it was taken. */
    public Row reading(String eventId, String eventTime)
    {
        String json = "{\"eventId\":\"" + eventId + "\",\"sensorId\":\"sensor-00001\",\"type\":\"humidity\",\"value\":40.0,\"unit\":\"%\","
                + "\"timestamp\":\"" + eventTime + "\"}";
        return record(json, Instant.parse(eventTime).plusSeconds(1));
    }

    public Row record(String value, Instant kafkaTime)
    {
        return RowFactory.create(null, value.getBytes(StandardCharsets.UTF_8), "sensor-readings", 0, offset++, Timestamp.from(kafkaTime), 0);
    }
}
