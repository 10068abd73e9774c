package io.sensorpipeline.job;

import io.sensorpipeline.job.transform.WindowedAggregates;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The crash tests' oracle for the aggregate tables, on a stream small enough to follow by hand, where Spark drops a
 * reading that an earlier query (the ingest query) would have kept: after a batch without new files moved the
 * watermark on, the next batch checks its readings against that batch's watermark.
 */
class AggregateOracleTest
{
    /** The columns of processed_data that the aggregates read. */
    static final StructType READINGS = new StructType()
            .add("sensorId", DataTypes.StringType)
            .add("type", DataTypes.StringType)
            .add("siteId", DataTypes.StringType)
            .add("unit", DataTypes.StringType)
            .add("value", DataTypes.DoubleType)
            .add("timestamp", DataTypes.TimestampType);

    @TempDir
    Path directory;

    @Test
    void aReadingBehindThePreviousBatchsWatermarkIsDroppedAndTheOracleKnowsIt()
            throws Exception
    {
        SparkSession spark = SparkTestSession.get();
        String input = directory.resolve("processed_data").toUri().toString();
        String table = directory.resolve("sensor_aggregates").toUri().toString();
        String checkpoint = directory.resolve("checkpoints/sensor_aggregates").toUri().toString();

        // Run 1: batch 0 reads the first file (no watermark yet); its latest reading, 10:03, moves the watermark to
        // 10:01, so batch 1 runs without new files and emits the window 10:00-10:01 with its two readings.
        append(spark, input, "10:00:10", "10:00:20", "10:02:30", "10:03:00");
        drain(spark, input, table, checkpoint);
        // Run 2: batch 2 reads the second file and checks it against batch 1's watermark, 10:01: the reading of
        // 10:00:40 is in a window that ended then, and is dropped. The one of 10:04:30 moves the watermark to 10:02:30,
        // and batch 3 emits the window 10:01-10:02.
        append(spark, input, "10:00:40", "10:01:30", "10:04:30");
        drain(spark, input, table, checkpoint);

        assertThat(windows(spark, table)).as("windows in the table").isEqualTo(Map.of("2026-12-07 10:00:00.0", 2L, "2026-12-07 10:01:00.0", 1L));

        AggregateOracle.Result result = AggregateOracle.check(spark, input, table, checkpoint, Duration.ofMinutes(1), "sensorId");
        assertThat(result.finalWatermark()).isEqualTo(Timestamp.valueOf("2026-12-07 10:02:30"));
        assertThat(result.closedWindows()).isEqualTo(2);
        assertThat(result.readings()).isEqualTo(3);
        assertThat(result.late()).as("readings dropped as late").isEqualTo(1);
        assertThat(result.unreadRows()).isZero();
        assertThat(result.readRowsNotInInput()).isZero();
        assertThat(result.wrongWindows()).as("wrong windows: %s", result.firstWrong()).isZero();

        // And it finds a window that counts a reading too few, and one that is missing.
        String changedTable = directory.resolve("sensor_aggregates_changed").toUri().toString();
        spark.read().parquet(table).where("readings = 2").selectExpr("sensorId", "window_start", "1L AS readings").write().parquet(changedTable);
        AggregateOracle.Result changed = AggregateOracle.check(spark, input, changedTable, checkpoint, Duration.ofMinutes(1), "sensorId");
        assertThat(changed.wrongWindows()).isEqualTo(2);
        assertThat(changed.firstWrong()).containsExactly(
                "sensorId=sensor-1 window_start=2026-12-07 10:00:00.0 expected=2 late=1 written=1",
                "sensorId=sensor-1 window_start=2026-12-07 10:01:00.0 expected=1 late=0 written=null");

        // An input that lacks the first file's rows (as if a compaction had lost them): the query read 4 rows that it
        // does not hold.
        String lost = directory.resolve("lost").resolve("processed_data").toUri().toString();
        append(spark, lost, "10:00:40", "10:01:30", "10:04:30");
        AggregateOracle.Result lostRows = AggregateOracle.check(spark, lost, table, checkpoint, Duration.ofMinutes(1), "sensorId");
        assertThat(lostRows.readRowsNotInInput()).isEqualTo(4);
        assertThat(lostRows.unreadRows()).isZero();

        // A file of the input that the query has not read: its 2 rows.
        append(spark, input, "10:05:00", "10:05:10");
        AggregateOracle.Result behind = AggregateOracle.check(spark, input, table, checkpoint, Duration.ofMinutes(1), "sensorId");
        assertThat(behind.unreadRows()).isEqualTo(2);
        assertThat(behind.readRowsNotInInput()).isZero();
    }

    /** The readings per window start of an aggregate table; empty when it has no files yet. */
    static Map<String, Long> windows(SparkSession spark, String table)
    {
        Map<String, Long> windows = new TreeMap<>();
        for (Row row : spark.read().schema("window_start TIMESTAMP, readings BIGINT").parquet(table).collectAsList()) {
            windows.put(row.getTimestamp(0).toString(), row.getLong(1));
        }
        return windows;
    }

    /** Appends one file of readings of sensor-1 on 2026-12-07 at the given times to the table at {@code input}. */
    static void append(SparkSession spark, String input, String... times)
    {
        List<Row> rows = new ArrayList<>();
        for (String time : times) {
            rows.add(RowFactory.create("sensor-1", "temperature", "site-1", "C", 20.0, Timestamp.valueOf("2026-12-07 " + time)));
        }
        spark.createDataFrame(rows, READINGS).coalesce(1).write().mode("append").parquet(input);
    }

    private static void drain(SparkSession spark, String input, String table, String checkpoint)
            throws Exception
    {
        StreamingQuery query = new WindowedAggregates(Duration.ofMinutes(2))
                .perSensor(spark.readStream().schema(READINGS).parquet(input), Duration.ofMinutes(1))
                .writeStream()
                .format("parquet")
                .outputMode("append")
                .option("path", table)
                .option("checkpointLocation", checkpoint)
                .trigger(Trigger.AvailableNow())
                .start();
        query.awaitTermination();
    }
}
