package io.sensorpipeline.job.transform;

import io.sensorpipeline.common.RejectReason;
import io.sensorpipeline.common.SensorType;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.time.Duration;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.array_contains;
import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.format_string;
import static org.apache.spark.sql.functions.isnan;
import static org.apache.spark.sql.functions.json_object_keys;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.when;

/**
 * Gives every parsed record a reason code, or none for a valid reading, and a detail a person can act on. The first
 * fault in {@link RejectReason}'s order wins. Every check is a column expression over one parse.
 *
 * <p>FUTURE_TIMESTAMP compares the event time with the record's Kafka timestamp, not with the clock, so a re-run of a
 * micro-batch after a crash classifies every record exactly as the first run did.
 */
public final class Validation
{
    private final Dataset<Row> sensors;
    private final Duration futureTolerance;

    public Validation(Dataset<Row> sensors, Duration futureTolerance)
    {
        this.sensors = requireNonNull(sensors, "sensors is null");
        this.futureTolerance = requireNonNull(futureTolerance, "futureTolerance is null");
    }

    /** Adds {@code reason} (null when valid) and {@code detail} to {@link Parsing#parse}'s output. */
    public Dataset<Row> classify(Dataset<Row> parsed)
    {
        Dataset<Row> known = broadcast(sensors.select(col("sensorId").as("known_sensor")));
        Dataset<Row> joined = parsed.join(known, parsed.col("sensorId").equalTo(known.col("known_sensor")), "left_outer");

        Column corrupt = col("corrupt_record");
        Column value = col("value");
        Column type = lower(col("type"));
        Column malformed = col("not_utf8").or(col("not_an_object")).or(corrupt.isNotNull().and(json_object_keys(corrupt).isNull()));
        Column missingText = col("eventId").isNull().or(col("sensorId").isNull()).or(col("type").isNull()).or(col("timestamp_text").isNull());
        // A null value is missing unless the record names a value that did not parse as a number (a wrong type).
        Column valueKeyPresent = corrupt.isNotNull().and(array_contains(json_object_keys(corrupt), "value"));
        Column missing = missingText.or(value.isNull().and(not(valueKeyPresent)));
        Column wrongType = corrupt.isNotNull().or(col("timestamp").isNull());
        Column nonFinite = isnan(value).or(value.equalTo(lit(Double.POSITIVE_INFINITY))).or(value.equalTo(lit(Double.NEGATIVE_INFINITY)));
        Column unknownType = not(type.isin((Object[]) wireNames()));
        Column unknownSensor = col("known_sensor").isNull();
        Column outOfRange = not(inPhysicalRange(type, value, col("unit")));
        Column future = col("timestamp").gt(col("kafka_timestamp").plus(expr("INTERVAL " + futureTolerance.toMillis() + " MILLISECONDS")));

        Column reason = when(malformed, lit(RejectReason.MALFORMED_JSON.name()))
                .when(missing, lit(RejectReason.MISSING_FIELD.name()))
                .when(wrongType, lit(RejectReason.WRONG_TYPE.name()))
                .when(nonFinite, lit(RejectReason.NON_FINITE.name()))
                .when(unknownType, lit(RejectReason.UNKNOWN_TYPE.name()))
                .when(unknownSensor, lit(RejectReason.UNKNOWN_SENSOR.name()))
                .when(outOfRange, lit(RejectReason.OUT_OF_RANGE.name()))
                .when(future, lit(RejectReason.FUTURE_TIMESTAMP.name()));

        Column missingNames = concat_ws(", ",
                when(col("eventId").isNull(), lit("eventId")),
                when(col("sensorId").isNull(), lit("sensorId")),
                when(col("type").isNull(), lit("type")),
                when(value.isNull(), lit("value")),
                when(col("timestamp_text").isNull(), lit("timestamp")));
        Column detail = when(col("not_utf8"), lit("payload is not valid UTF-8"))
                .when(col("not_an_object"), lit("empty payload"))
                .when(malformed, concat(lit("not a JSON object: "), substring(corrupt, 1, 120)))
                .when(missing, concat(lit("missing required field: "), missingNames))
                .when(corrupt.isNotNull().and(value.isNull()), lit("'value' is not a number"))
                .when(wrongType.and(col("timestamp").isNull()),
                        concat(lit("'timestamp' is not an ISO-8601 instant with an offset: "), col("timestamp_text")))
                .when(wrongType, lit("a field has the wrong JSON type"))
                .when(nonFinite, concat(lit("'value' is "), value.cast("string")))
                .when(unknownType, concat(lit("unknown sensor type '"), col("type"), lit("'")))
                .when(unknownSensor, concat(lit("sensor '"), col("sensorId"), lit("' is not in the sensor metadata")))
                .when(outOfRange, format_string("value %s %s is outside the physical range of %s", value.cast("string"), col("unit"), col("type")))
                .when(future, format_string("timestamp %s is more than %s ahead of the Kafka timestamp %s",
                        col("timestamp_text"), lit(futureTolerance.toString()), col("kafka_timestamp").cast("string")));
        return joined.withColumn("reason", reason)
                .withColumn("detail", when(col("reason").isNotNull(), detail))
                .drop("known_sensor");
    }

    /** Whether a value in the given unit lies in its type's physical range; built from {@link SensorType}, the one source. */
    static Column inPhysicalRange(Column type, Column value, Column unit)
    {
        Column inRange = null;
        for (SensorType sensorType : SensorType.values()) {
            Column canonical = sensorType == SensorType.TEMPERATURE
                    ? when(unit.equalTo(lit("F")), value.minus(lit(32.0)).multiply(lit(5.0 / 9.0))).otherwise(value)
                    : value;
            Column isType = type.equalTo(lit(sensorType.wireName()));
            Column test = canonical.between(sensorType.minimum(), sensorType.maximum());
            inRange = inRange == null ? when(isType, test) : inRange.when(isType, test);
        }
        return inRange.otherwise(lit(false));
    }

    private static String[] wireNames()
    {
        SensorType[] types = SensorType.values();
        String[] names = new String[types.length];
        for (int index = 0; index < types.length; index++) {
            names[index] = types[index].wireName();
        }
        return names;
    }
}
