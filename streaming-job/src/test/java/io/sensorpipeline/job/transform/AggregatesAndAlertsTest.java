package io.sensorpipeline.job.transform;

import io.sensorpipeline.job.SparkTestSession;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.MemoryStream;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import scala.Option;
import scala.Tuple3;
import scala.collection.JavaConverters;

import java.sql.Date;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class AggregatesAndAlertsTest
{
    private static final StructType PROCESSED = new StructType()
            .add("eventId", DataTypes.StringType)
            .add("sensorId", DataTypes.StringType)
            .add("type", DataTypes.StringType)
            .add("siteId", DataTypes.StringType)
            .add("unit", DataTypes.StringType)
            .add("value", DataTypes.DoubleType)
            .add("timestamp", DataTypes.TimestampType)
            .add("alert_low", DataTypes.DoubleType)
            .add("alert_high", DataTypes.DoubleType)
            .add("event_date", DataTypes.DateType);

    private final SparkSession spark = SparkTestSession.get();
    private final WindowedAggregates aggregates = new WindowedAggregates(Duration.ofMinutes(1));

    @Test
    void perSensorWindowsHaveTheirStatistics()
    {
        List<Row> rows = new ArrayList<>();
        for (int second = 0; second < 60; second++) {
            rows.add(processed("a-" + second, "sensor-1", "site-01", 20.0 + second % 10, "2026-11-24T10:00:" + String.format("%02d", second) + "Z"));
        }
        rows.add(processed("b-0", "sensor-1", "site-01", 99.0, "2026-11-24T10:01:00Z"));
        List<Row> windows = aggregates.perSensor(spark.createDataFrame(rows, PROCESSED), Duration.ofMinutes(1))
                .orderBy("window_start").collectAsList();

        assertThat(windows).hasSize(2);
        Row first = windows.get(0);
        assertThat(first.<Timestamp>getAs("window_start").toInstant()).isEqualTo(Instant.parse("2026-11-24T10:00:00Z"));
        assertThat(first.<Timestamp>getAs("window_end").toInstant()).isEqualTo(Instant.parse("2026-11-24T10:01:00Z"));
        assertThat(first.<Long>getAs("readings")).isEqualTo(60);
        assertThat(first.<Double>getAs("avg_value")).isEqualTo(24.5);
        assertThat(first.<Double>getAs("min_value")).isEqualTo(20.0);
        assertThat(first.<Double>getAs("max_value")).isEqualTo(29.0);
        assertThat(first.<Double>getAs("stddev_value")).isCloseTo(2.8966, within(1e-4));
        assertThat(first.<Double>getAs("p95_value")).isEqualTo(29.0);
        assertThat(windows.get(1).<Long>getAs("readings")).isEqualTo(1);
    }

    @Test
    void perSiteWindowsCountSensors()
    {
        List<Row> rows = List.of(
                processed("1", "sensor-1", "site-01", 20.0, "2026-11-24T10:00:00Z"),
                processed("2", "sensor-2", "site-01", 22.0, "2026-11-24T10:04:59Z"),
                processed("3", "sensor-2", "site-01", 24.0, "2026-11-24T10:03:00Z"),
                processed("4", "sensor-3", "site-02", 30.0, "2026-11-24T10:01:00Z"));
        List<Row> windows = aggregates.perSite(spark.createDataFrame(rows, PROCESSED), Duration.ofMinutes(5)).orderBy("siteId").collectAsList();

        assertThat(windows).hasSize(2);
        // site-01: readings 1 to 3 (10:04:59 is still in [10:00, 10:05)), from sensor-1 and sensor-2; (20 + 22 + 24) / 3.
        assertSiteWindow(windows.get(0), "site-01", 3, 2, 22.0, 20.0, 24.0);
        // site-02: reading 4 alone.
        assertSiteWindow(windows.get(1), "site-02", 1, 1, 30.0, 30.0, 30.0);
    }

    @Test
    void aLateEventIsDroppedByTheWatermarkAndCounted()
            throws Exception
    {
        MemoryStream<Tuple3<String, Timestamp, Double>> input = new MemoryStream<>(1, spark.sqlContext(), Option.empty(),
                Encoders.tuple(Encoders.STRING(), Encoders.TIMESTAMP(), Encoders.DOUBLE()));
        Dataset<Row> processed = input.toDF().select(
                col("_1").as("sensorId"), lit("temperature").as("type"), lit("site-01").as("siteId"), lit("C").as("unit"),
                col("_3").as("value"), col("_2").as("timestamp"));
        StreamingQuery query = aggregates.perSensor(processed, Duration.ofMinutes(1)).writeStream()
                .format("memory").queryName("late_event_windows").outputMode("append").start();
        try {
            input.addData(JavaConverters.asScalaBuffer(List.of(
                    reading("sensor-1", "2026-11-24T10:00:10Z", 20.0),
                    reading("sensor-1", "2026-11-24T10:00:20Z", 22.0),
                    reading("sensor-1", "2026-11-24T10:02:30Z", 21.0))).toSeq());
            query.processAllAvailable();
            // Watermark is now 10:02:30 - 1 min = 10:01:30: the window [10:00, 10:01) is closed.
            input.addData(JavaConverters.asScalaBuffer(List.of(reading("sensor-1", "2026-11-24T10:00:30Z", 99.0))).toSeq());
            query.processAllAvailable();
            long dropped = query.lastProgress().stateOperators()[0].numRowsDroppedByWatermark();
            input.addData(JavaConverters.asScalaBuffer(List.of(reading("sensor-1", "2026-11-24T10:05:00Z", 21.0))).toSeq());
            query.processAllAvailable();

            List<Row> windows = spark.table("late_event_windows").orderBy("window_start").collectAsList();
            assertThat(windows).isNotEmpty();
            Row closed = windows.get(0);
            assertThat(closed.<Timestamp>getAs("window_start").toInstant()).isEqualTo(Instant.parse("2026-11-24T10:00:00Z"));
            assertThat(closed.<Long>getAs("readings")).as("the late reading is not in its window").isEqualTo(2);
            assertThat(closed.<Double>getAs("max_value")).isEqualTo(22.0);
            assertThat(dropped).as("and it is counted, not lost silently").isEqualTo(1);
        }
        finally {
            query.stop();
        }
    }

    @Test
    void readingsOutsideTheAlertBandRaiseAlertsAndItsLimitsAreInside()
    {
        List<Row> rows = List.of(
                processed("hot", "sensor-1", "site-01", 31.0, "2026-11-24T10:00:00Z"),
                processed("cold", "sensor-1", "site-01", 12.0, "2026-11-24T10:00:01Z"),
                processed("fine", "sensor-1", "site-01", 21.0, "2026-11-24T10:00:02Z"),
                processed("at-low", "sensor-1", "site-01", 15.0, "2026-11-24T10:00:03Z"),
                processed("at-high", "sensor-1", "site-01", 28.0, "2026-11-24T10:00:04Z"),
                processed("just-below", "sensor-1", "site-01", 14.99, "2026-11-24T10:00:05Z"),
                processed("just-above", "sensor-1", "site-01", 28.01, "2026-11-24T10:00:06Z"));
        List<Row> alerts = Alerts.outOfBand(spark.createDataFrame(rows, PROCESSED)).orderBy("alertId").collectAsList();

        assertThat(alerts).extracting(row -> row.<String>getAs("alertId"))
                .containsExactly("OUT_OF_BAND:cold", "OUT_OF_BAND:hot", "OUT_OF_BAND:just-above", "OUT_OF_BAND:just-below");
        assertOutOfBand(alerts.get(0), 12.0, 15.0, "2026-11-24T10:00:01Z", "temperature 12.00 C is below the alert band [15.0, 28.0]");
        assertOutOfBand(alerts.get(1), 31.0, 28.0, "2026-11-24T10:00:00Z", "temperature 31.00 C is above the alert band [15.0, 28.0]");
        assertOutOfBand(alerts.get(2), 28.01, 28.0, "2026-11-24T10:00:06Z", "temperature 28.01 C is above the alert band [15.0, 28.0]");
        assertOutOfBand(alerts.get(3), 14.99, 15.0, "2026-11-24T10:00:05Z", "temperature 14.99 C is below the alert band [15.0, 28.0]");
    }

    @Test
    void aSensorIsStuckFromExactlyTheMinimumOfIdenticalReadings()
    {
        List<Row> rows = new ArrayList<>();
        for (int second = 0; second < 20; second++) {
            rows.add(processed("e-" + second, "exactly", "site-01", 19.5, "2026-11-24T10:00:" + String.format("%02d", second) + "Z"));
            if (second < 19) {
                rows.add(processed("o-" + second, "one-short", "site-01", 19.5, "2026-11-24T10:00:" + String.format("%02d", second) + "Z"));
            }
        }
        Dataset<Row> windows = aggregates.perSensor(spark.createDataFrame(rows, PROCESSED), Duration.ofMinutes(1));
        List<Row> alerts = Alerts.stuck(windows, 20).collectAsList();

        assertThat(alerts).hasSize(1);
        Row alert = alerts.get(0);
        assertThat(alert.<String>getAs("alertId")).isEqualTo("STUCK_SENSOR:exactly:" + Instant.parse("2026-11-24T10:00:00Z").getEpochSecond());
        assertThat(alert.<String>getAs("rule")).isEqualTo("STUCK_SENSOR");
        assertThat(alert.<String>getAs("sensorId")).isEqualTo("exactly");
        assertThat(alert.<String>getAs("siteId")).isEqualTo("site-01");
        assertThat(alert.<String>getAs("type")).isEqualTo("temperature");
        // The alert is raised when its window closes: at the window's end.
        assertThat(alert.<Timestamp>getAs("alert_time").toInstant()).isEqualTo(Instant.parse("2026-11-24T10:01:00Z"));
        assertThat(alert.<Double>getAs("value")).isEqualTo(19.5);
        assertThat(alert.isNullAt(alert.fieldIndex("threshold"))).isTrue();
        assertThat(alert.<String>getAs("detail")).isEqualTo("20 readings in a row of 19.50 C between 2026-11-24T10:00:00Z and 2026-11-24T10:01:00Z");
        assertThat(alert.<Date>getAs("event_date")).isEqualTo(Date.valueOf("2026-11-24"));
    }

    @Test
    void aSensorRepeatingOneValueIsStuck()
    {
        List<Row> rows = new ArrayList<>();
        for (int second = 0; second < 30; second++) {
            rows.add(processed("s-" + second, "stuck", "site-01", 19.5, "2026-11-24T10:00:" + String.format("%02d", second) + "Z"));
            rows.add(processed("n-" + second, "noisy", "site-01", 19.5 + (second % 3) * 0.01, "2026-11-24T10:00:" + String.format("%02d", second) + "Z"));
            if (second < 10) {
                rows.add(processed("q-" + second, "quiet", "site-01", 19.5, "2026-11-24T10:00:" + String.format("%02d", second) + "Z"));
            }
        }
        Dataset<Row> windows = aggregates.perSensor(spark.createDataFrame(rows, PROCESSED), Duration.ofMinutes(1));
        List<Row> alerts = Alerts.stuck(windows, 20).collectAsList();

        assertThat(alerts).extracting(row -> row.<String>getAs("sensorId")).containsExactly("stuck");
        assertThat(alerts.get(0).<String>getAs("detail")).startsWith("30 readings in a row of 19.50 C");
    }

    private static void assertSiteWindow(Row window, String siteId, long readings, long sensors, double average, double minimum, double maximum)
    {
        assertThat(window.<String>getAs("siteId")).isEqualTo(siteId);
        assertThat(window.<Timestamp>getAs("window_start").toInstant()).as("window_start of %s", siteId).isEqualTo(Instant.parse("2026-11-24T10:00:00Z"));
        assertThat(window.<Timestamp>getAs("window_end").toInstant()).as("window_end of %s", siteId).isEqualTo(Instant.parse("2026-11-24T10:05:00Z"));
        assertThat(window.<String>getAs("type")).as("type of %s", siteId).isEqualTo("temperature");
        assertThat(window.<String>getAs("unit")).as("unit of %s", siteId).isEqualTo("C");
        assertThat(window.<Long>getAs("readings")).as("readings of %s", siteId).isEqualTo(readings);
        assertThat(window.<Long>getAs("sensors")).as("sensors of %s", siteId).isEqualTo(sensors);
        assertThat(window.<Double>getAs("avg_value")).as("avg_value of %s", siteId).isEqualTo(average);
        assertThat(window.<Double>getAs("min_value")).as("min_value of %s", siteId).isEqualTo(minimum);
        assertThat(window.<Double>getAs("max_value")).as("max_value of %s", siteId).isEqualTo(maximum);
        assertThat(window.<Date>getAs("event_date")).as("event_date of %s", siteId).isEqualTo(Date.valueOf("2026-11-24"));
    }

    private static void assertOutOfBand(Row alert, double value, double threshold, String time, String detail)
    {
        assertThat(alert.<String>getAs("rule")).isEqualTo("OUT_OF_BAND");
        assertThat(alert.<String>getAs("sensorId")).isEqualTo("sensor-1");
        assertThat(alert.<String>getAs("siteId")).isEqualTo("site-01");
        assertThat(alert.<Timestamp>getAs("alert_time").toInstant()).isEqualTo(Instant.parse(time));
        assertThat(alert.<Double>getAs("value")).isEqualTo(value);
        assertThat(alert.<Double>getAs("threshold")).isEqualTo(threshold);
        assertThat(alert.<String>getAs("detail")).isEqualTo(detail);
    }

    private static Tuple3<String, Timestamp, Double> reading(String sensorId, String time, double value)
    {
        return new Tuple3<>(sensorId, Timestamp.from(Instant.parse(time)), value);
    }

    private static Row processed(String eventId, String sensorId, String siteId, double value, String time)
    {
        Timestamp timestamp = Timestamp.from(Instant.parse(time));
        return RowFactory.create(eventId, sensorId, "temperature", siteId, "C", value, timestamp, 15.0, 28.0,
                Date.valueOf(timestamp.toInstant().atZone(ZoneOffset.UTC).toLocalDate()));
    }
}
