package io.sensorpipeline.job.transform;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.date_format;
import static org.apache.spark.sql.functions.format_string;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/**
 * The alert rules, as column expressions: a reading outside its sensor's alert band, and a sensor stuck on one value.
 * Both produce rows of one shape, so they share the {@code alerts} table and the {@code sensor-alerts} topic.
 */
public final class Alerts
{
    public static final String OUT_OF_BAND = "OUT_OF_BAND";
    public static final String STUCK_SENSOR = "STUCK_SENSOR";

    /** ISO 8601 with the session zone's offset: {@code Z} in the job, whose sessions run in UTC. */
    private static final String ISO_INSTANT = "yyyy-MM-dd'T'HH:mm:ssXXX";

    private Alerts() {}

    /** One alert per reading of {@code processed_data} outside [alert_low, alert_high]. */
    public static Dataset<Row> outOfBand(Dataset<Row> processed)
    {
        Column above = col("value").gt(col("alert_high"));
        Column below = col("value").lt(col("alert_low"));
        return processed.where(above.or(below)).select(
                concat_ws(":", lit(OUT_OF_BAND), col("eventId")).as("alertId"),
                lit(OUT_OF_BAND).as("rule"),
                col("sensorId"),
                col("siteId"),
                col("type"),
                col("timestamp").as("alert_time"),
                col("value"),
                when(above, col("alert_high")).otherwise(col("alert_low")).as("threshold"),
                format_string("%s %.2f %s is %s the alert band [%.1f, %.1f]", col("type"), col("value"), col("unit"),
                        when(above, lit("above")).otherwise(lit("below")), col("alert_low"), col("alert_high")).as("detail"),
                col("event_date"));
    }

    /**
     * One alert per sensor window of {@code sensor_aggregates} in which at least {@code minimumReadings} readings all
     * had the same value: a working sensor's noise never repeats a value that often.
     */
    public static Dataset<Row> stuck(Dataset<Row> sensorAggregates, int minimumReadings)
    {
        return sensorAggregates.where(col("readings").geq(lit(minimumReadings)).and(col("min_value").equalTo(col("max_value"))))
                .select(
                        concat_ws(":", lit(STUCK_SENSOR), col("sensorId"), col("window_start").cast("long")).as("alertId"),
                        lit(STUCK_SENSOR).as("rule"),
                        col("sensorId"),
                        col("siteId"),
                        col("type"),
                        col("window_end").as("alert_time"),
                        col("min_value").as("value"),
                        lit(null).cast("double").as("threshold"),
                        // format_string alone would print a timestamp's internal microseconds.
                        format_string("%d readings in a row of %.2f %s between %s and %s", col("readings"), col("min_value"), col("unit"),
                                date_format(col("window_start"), ISO_INSTANT), date_format(col("window_end"), ISO_INSTANT)).as("detail"),
                        col("event_date"));
    }
}
