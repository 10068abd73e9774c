package io.sensorpipeline.job.transform;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.time.Duration;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.approx_count_distinct;
import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.percentile_approx;
import static org.apache.spark.sql.functions.round;
import static org.apache.spark.sql.functions.stddev_samp;
import static org.apache.spark.sql.functions.to_date;
import static org.apache.spark.sql.functions.window;

/**
 * Event-time window aggregates of {@code processed_data}. With the watermark, a window is emitted once, in append mode,
 * after the watermark passes its end; readings that arrive after that are dropped by Spark and counted in the query's
 * progress ({@code numRowsDroppedByWatermark}).
 */
public final class WindowedAggregates
{
    private final Duration watermarkDelay;

    public WindowedAggregates(Duration watermarkDelay)
    {
        this.watermarkDelay = requireNonNull(watermarkDelay, "watermarkDelay is null");
    }

    /** Per sensor and window: count, mean, min, max, sample standard deviation and approximate 95th percentile. */
    public Dataset<Row> perSensor(Dataset<Row> processed, Duration window)
    {
        return withWindow(processed.withWatermark("timestamp", interval(watermarkDelay))
                .groupBy(window(col("timestamp"), interval(window)), col("sensorId"), col("type"), col("siteId"), col("unit"))
                .agg(
                        count(lit(1)).as("readings"),
                        round(avg("value"), 4).as("avg_value"),
                        min("value").as("min_value"),
                        max("value").as("max_value"),
                        round(stddev_samp("value"), 4).as("stddev_value"),
                        percentile_approx(col("value"), lit(0.95), lit(10_000)).as("p95_value")),
                col("sensorId"), col("type"), col("siteId"), col("unit"),
                col("readings"), col("avg_value"), col("min_value"), col("max_value"), col("stddev_value"), col("p95_value"));
    }

    /** Per site, sensor type and window: how many readings from how many sensors, and their mean, min and max. */
    public Dataset<Row> perSite(Dataset<Row> processed, Duration window)
    {
        return withWindow(processed.withWatermark("timestamp", interval(watermarkDelay))
                .groupBy(window(col("timestamp"), interval(window)), col("siteId"), col("type"), col("unit"))
                .agg(
                        count(lit(1)).as("readings"),
                        approx_count_distinct("sensorId").as("sensors"),
                        round(avg("value"), 4).as("avg_value"),
                        min("value").as("min_value"),
                        max("value").as("max_value")),
                col("siteId"), col("type"), col("unit"), col("readings"), col("sensors"), col("avg_value"), col("min_value"), col("max_value"));
    }

    private static Dataset<Row> withWindow(Dataset<Row> aggregated, Column... columns)
    {
        Column[] selected = new Column[columns.length + 3];
        selected[0] = col("window.start").as("window_start");
        selected[1] = col("window.end").as("window_end");
        System.arraycopy(columns, 0, selected, 2, columns.length);
        // Last: the partition column, where a read of the partitioned table puts it; a stream that reads the table
        // with this schema would otherwise map columns by position onto the wrong ones.
        selected[selected.length - 1] = to_date(col("window.start")).as("event_date");
        return aggregated.select(selected);
    }

    /** A Spark interval string; milliseconds keep any duration exact. */
    public static String interval(Duration duration)
    {
        return duration.toMillis() + " milliseconds";
    }
}
