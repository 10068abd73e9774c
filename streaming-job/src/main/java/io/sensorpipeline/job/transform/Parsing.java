package io.sensorpipeline.job.transform;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.encode;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.when;

/**
 * Turns Kafka records into flat reading columns with exactly one {@code from_json} per record. The parse keeps what
 * {@link Validation} needs to name a fault: the unparsed text of a broken record ({@code corrupt_record}), whether the
 * payload was a JSON object at all, and whether its bytes were UTF-8 (Spark silently decodes bad bytes with
 * replacement characters, so they are compared with their re-encoding).
 *
 * <p>Input: the Kafka source's columns (value, topic, partition, offset, timestamp). Output: {@link #OUTPUT_COLUMNS}.
 */
public final class Parsing
{
    /** The event as published, plus the column in which a PERMISSIVE parse keeps a record it could not read whole. */
    public static final StructType EVENT_SCHEMA = new StructType()
            .add("eventId", DataTypes.StringType)
            .add("sensorId", DataTypes.StringType)
            .add("type", DataTypes.StringType)
            .add("value", DataTypes.DoubleType)
            .add("unit", DataTypes.StringType)
            .add("timestamp", DataTypes.StringType)
            .add("seq", DataTypes.LongType)
            .add("battery", DataTypes.DoubleType)
            .add("firmware", DataTypes.StringType)
            .add("_corrupt_record", DataTypes.StringType);

    /**
     * ISO-8601 with an offset and up to nanoseconds; anything else (no offset, a space for T) is WRONG_TYPE. Text of
     * this shape is then parsed by Spark's cast to timestamp, several times faster than a pattern-based parse.
     */
    public static final String TIMESTAMP_SHAPE = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$";

    public static final String[] OUTPUT_COLUMNS = {
            "eventId", "sensorId", "type", "value", "unit", "timestamp_text", "timestamp", "seq", "battery", "firmware",
            "corrupt_record", "not_an_object", "not_utf8", "payload", "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"};

    private static final Map<String, String> OPTIONS = Map.of(
            "mode", "PERMISSIVE",
            "columnNameOfCorruptRecord", "_corrupt_record");

    private Parsing() {}

    public static Dataset<Row> parse(Dataset<Row> kafkaRecords)
    {
        Column payload = col("value");
        Column text = payload.cast("string");
        // Stage 1: the only from_json. Stage 2 flattens it and parses the timestamp once, in its own projection.
        Dataset<Row> parsed = kafkaRecords.select(
                from_json(text, EVENT_SCHEMA, OPTIONS).as("event"),
                payload.isNull().or(payload.notEqual(encode(text, "UTF-8"))).as("not_utf8"),
                payload.as("payload"),
                col("topic").as("kafka_topic"),
                col("partition").as("kafka_partition"),
                col("offset").as("kafka_offset"),
                col("timestamp").as("kafka_timestamp"));
        return parsed.select(
                col("event.eventId").as("eventId"),
                col("event.sensorId").as("sensorId"),
                col("event.type").as("type"),
                col("event.value").as("value"),
                col("event.unit").as("unit"),
                col("event.timestamp").as("timestamp_text"),
                when(col("event.timestamp").rlike(TIMESTAMP_SHAPE), col("event.timestamp").cast(DataTypes.TimestampType)).as("timestamp"),
                col("event.seq").as("seq"),
                col("event.battery").as("battery"),
                col("event.firmware").as("firmware"),
                col("event._corrupt_record").as("corrupt_record"),
                col("event").isNull().as("not_an_object"),
                col("not_utf8"),
                col("payload"),
                col("kafka_topic"),
                col("kafka_partition"),
                col("kafka_offset"),
                col("kafka_timestamp"));
    }
}
