package io.sensorpipeline.job.io;

import io.sensorpipeline.job.JobSettings;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.DataStreamReader;

/** The readings topic as a stream of Kafka records (key, value, topic, partition, offset, timestamp). */
public final class KafkaSource
{
    private KafkaSource() {}

    public static Dataset<Row> read(SparkSession spark, JobSettings settings)
    {
        DataStreamReader reader = spark.readStream()
                .format("kafka")
                .option("subscribe", settings.topic())
                .option("startingOffsets", settings.startingOffsets())
                .option("failOnDataLoss", Boolean.toString(settings.failOnDataLoss()))
                // Secured clusters and tuning: every kafka.* setting, prefix included, is a source option.
                .options(settings.kafkaOptions());
        if (settings.maxOffsetsPerTrigger().isPresent()) {
            reader = reader.option("maxOffsetsPerTrigger", settings.maxOffsetsPerTrigger().get().toString());
        }
        return reader.load();
    }
}
