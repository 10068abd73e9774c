package io.sensorpipeline.job.transform;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.timestamp_micros;
import static org.apache.spark.sql.functions.unix_micros;

/**
 * Kafka records to classified records: each value is read once by {@link ReadingDecoder}, which also validates it
 * against the sensor metadata. Valid readings have a null {@code reason}; rejects carry a reason, a detail and the
 * payload as text or base64.
 *
 * <p>Input: the Kafka source's columns. Output: {@link #OUTPUT_COLUMNS}.
 */
public final class Decoding
{
    /** What {@link ReadingDecoder} fills in; times are microseconds until they become timestamps below. */
    static final StructType DECODED = new StructType()
            .add("eventId", DataTypes.StringType)
            .add("sensorId", DataTypes.StringType)
            .add("type", DataTypes.StringType)
            .add("value", DataTypes.DoubleType)
            .add("unit", DataTypes.StringType)
            .add("timestamp_micros", DataTypes.LongType)
            .add("seq", DataTypes.LongType)
            .add("battery", DataTypes.DoubleType)
            .add("firmware", DataTypes.StringType)
            .add("kafka_topic", DataTypes.StringType)
            .add("kafka_partition", DataTypes.IntegerType)
            .add("kafka_offset", DataTypes.LongType)
            .add("kafka_timestamp_micros", DataTypes.LongType)
            .add("reason", DataTypes.StringType)
            .add("detail", DataTypes.StringType)
            .add("payload", DataTypes.StringType)
            .add("payload_encoding", DataTypes.StringType);

    public static final List<String> OUTPUT_COLUMNS = List.of(
            "eventId", "sensorId", "type", "value", "unit", "timestamp", "seq", "battery", "firmware",
            "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", "reason", "detail", "payload", "payload_encoding");

    private final ReadingDecoder decoder;

    /** @param sensors the sensor metadata; only its sensorId column is used, to know which sensors exist */
    public Decoding(Dataset<Row> sensors, Duration futureTolerance)
    {
        Set<String> known = new HashSet<>();
        for (Row row : requireNonNull(sensors, "sensors is null").select("sensorId").collectAsList()) {
            known.add(row.getString(0));
        }
        this.decoder = new ReadingDecoder(known, futureTolerance);
    }

    public Dataset<Row> decode(Dataset<Row> kafkaRecords)
    {
        ReadingDecoder decoder = this.decoder;
        MapPartitionsFunction<Row, Row> decodeAll = records -> new DecodingIterator(decoder, records);
        Dataset<Row> decoded = kafkaRecords
                .select(col("value"), col("topic"), col("partition"), col("offset"), unix_micros(col("timestamp")))
                .mapPartitions(decodeAll, Encoders.row(DECODED));
        return decoded.select(
                col("eventId"), col("sensorId"), col("type"), col("value"), col("unit"),
                timestamp_micros(col("timestamp_micros")).as("timestamp"),
                col("seq"), col("battery"), col("firmware"),
                col("kafka_topic"), col("kafka_partition"), col("kafka_offset"),
                timestamp_micros(col("kafka_timestamp_micros")).as("kafka_timestamp"),
                col("reason"), col("detail"), col("payload"), col("payload_encoding"));
    }

    /** Decodes one partition's records as they are pulled; static, so the task ships the decoder and nothing else. */
    private static final class DecodingIterator
            implements Iterator<Row>
    {
        private final ReadingDecoder decoder;
        private final Iterator<Row> records;

        DecodingIterator(ReadingDecoder decoder, Iterator<Row> records)
        {
            this.decoder = decoder;
            this.records = records;
        }

        @Override
        public boolean hasNext()
        {
            return records.hasNext();
        }

        @Override
        public Row next()
        {
            // Input columns: value, topic, partition, offset, Kafka timestamp in microseconds.
            Row record = records.next();
            long kafkaMicros = record.getLong(4);
            ReadingDecoder.Decoded decoded = decoder.decode((byte[]) record.get(0), kafkaMicros);
            return RowFactory.create(
                    decoded.eventId, decoded.sensorId, decoded.type, decoded.value, decoded.unit, decoded.timestampMicros,
                    decoded.seq, decoded.battery, decoded.firmware,
                    record.get(1), record.get(2), record.get(3), kafkaMicros,
                    decoded.reason == null ? null : decoded.reason.name(), decoded.detail, decoded.payload, decoded.payloadEncoding);
        }
    }
}
