package io.sensorpipeline.job.transform;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.to_date;

/**
 * The {@code dead_letters} rows of rejected records: the payload as it came (text, or base64 when its bytes are not
 * UTF-8, so nothing is lost in a lossy decoding), where it came from in Kafka, why it was rejected, and when.
 */
public final class DeadLetters
{
    private DeadLetters() {}

    /** @param rejected {@link Decoding#decode} output whose reason is not null */
    public static Dataset<Row> from(Dataset<Row> rejected)
    {
        return rejected.select(
                col("payload"),
                col("payload_encoding"),
                col("kafka_topic").as("topic"),
                col("kafka_partition").as("partition"),
                col("kafka_offset").as("offset"),
                col("kafka_timestamp"),
                col("reason"),
                col("detail"),
                current_timestamp().as("ingest_time"),
                // Rejects may carry no event time: they are filed by the day Kafka received them.
                to_date(col("kafka_timestamp")).as("event_date"));
    }
}
