package io.sensorpipeline.job.io;

import io.sensorpipeline.job.SparkTestSession;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.window;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spark's own stateful operators on the in-place state store, against the same queries on Spark's default store:
 * the de-duplication and a windowed aggregation, each stopped and restarted from its checkpoint between batches of
 * files, so that every restart loads the state back from the store's files.
 */
class InPlaceStateStoreQueryTest
{
    private static final StructType READING = new StructType()
            .add("eventId", DataTypes.StringType)
            .add("sensorId", DataTypes.StringType)
            .add("timestamp", DataTypes.TimestampType)
            .add("value", DataTypes.LongType);
    private static final String PROVIDER_CLASS = "spark.sql.streaming.stateStore.providerClass";
    private static final String DEFAULT_PROVIDER = "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider";

    @TempDir
    Path directory;

    @Test
    void deduplicationAndWindowsMatchTheDefaultStoreAcrossRestarts()
            throws Exception
    {
        Path input = Files.createDirectories(directory.resolve("input"));
        List<List<String>> files = readings();

        SparkSession inPlace = session(InPlaceStateStoreProvider.class.getName());
        SparkSession spark = session(DEFAULT_PROVIDER);
        List<String> inPlaceIds = synchronizedList();
        List<String> sparkIds = synchronizedList();
        List<String> inPlaceWindows = synchronizedList();
        List<String> sparkWindows = synchronizedList();
        for (int file = 0; file < files.size(); file++) {
            Files.write(input.resolve("part-" + file + ".json"), files.get(file));
            run(inPlace, input, "in-place-dedup", InPlaceStateStoreQueryTest::deduplicated, row -> row.getString(0), inPlaceIds);
            run(spark, input, "default-dedup", InPlaceStateStoreQueryTest::deduplicated, row -> row.getString(0), sparkIds);
            run(inPlace, input, "in-place-windows", InPlaceStateStoreQueryTest::windows, Row::toString, inPlaceWindows);
            run(spark, input, "default-windows", InPlaceStateStoreQueryTest::windows, Row::toString, sparkWindows);
        }

        assertThat(sorted(inPlaceIds)).as("no eventId twice, no late reading").hasSize(300).doesNotHaveDuplicates().isEqualTo(sorted(sparkIds));
        assertThat(sorted(inPlaceWindows)).hasSizeGreaterThan(10).isEqualTo(sorted(sparkWindows));
        assertThat(Files.readString(directory.resolve("in-place-dedup/offsets/0"))).as("the query ran on the in-place store")
                .contains("\"" + PROVIDER_CLASS + "\":\"" + InPlaceStateStoreProvider.class.getName() + "\"");
        try (var deltas = Files.list(directory.resolve("in-place-windows/state/0/0"))) {
            assertThat(deltas.map(path -> path.getFileName().toString())).contains("1.delta", "4.delta");
        }
    }

    @Test
    void aCheckpointKeepsTheStoreItWasMadeWith()
            throws Exception
    {
        Path input = Files.createDirectories(directory.resolve("input"));
        List<List<String>> files = readings();
        List<String> ids = synchronizedList();
        Files.write(input.resolve("part-0.json"), files.get(0));
        run(session(DEFAULT_PROVIDER), input, "dedup", InPlaceStateStoreQueryTest::deduplicated, row -> row.getString(0), ids);
        Files.write(input.resolve("part-1.json"), files.get(1));
        run(session(InPlaceStateStoreProvider.class.getName()), input, "dedup", InPlaceStateStoreQueryTest::deduplicated, row -> row.getString(0), ids);

        assertThat(ids).hasSize(150).doesNotHaveDuplicates();
        long lastBatch;
        try (var offsets = Files.list(directory.resolve("dedup/offsets"))) {
            lastBatch = offsets.map(path -> path.getFileName().toString()).filter(name -> name.matches("[0-9]+")).mapToLong(Long::parseLong).max().orElseThrow();
        }
        assertThat(lastBatch).as("the first run's batch and the restart's").isGreaterThanOrEqualTo(1);
        assertThat(Files.readString(directory.resolve("dedup/offsets/" + lastBatch)))
                .as("the restart's last batch, with in-place set, kept Spark's default store")
                .contains("\"" + PROVIDER_CLASS + "\":\"" + DEFAULT_PROVIDER + "\"");
    }

    private static Dataset<Row> deduplicated(Dataset<Row> readings)
    {
        return readings.withWatermark("timestamp", "1 minute").dropDuplicatesWithinWatermark("eventId").select("eventId");
    }

    private static Dataset<Row> windows(Dataset<Row> readings)
    {
        return readings.withWatermark("timestamp", "1 minute")
                .groupBy(window(col("timestamp"), "1 minute"), col("sensorId"))
                .agg(count("*").as("readings"), sum("value").as("total"));
    }

    /** Runs the query on what the input holds, from its checkpoint, and stops: a restart per file. */
    private void run(SparkSession spark, Path input, String name, Function<Dataset<Row>, Dataset<Row>> query, Function<Row, String> format, List<String> output)
            throws Exception
    {
        Dataset<Row> readings = spark.readStream().schema(READING).option("maxFilesPerTrigger", 1).json(input.toString());
        StreamingQuery running = query.apply(readings).writeStream()
                .outputMode("append")
                .option("checkpointLocation", directory.resolve(name).toString())
                .trigger(Trigger.AvailableNow())
                .foreachBatch((VoidFunction2<Dataset<Row>, Long>) (batch, id) -> batch.collectAsList().forEach(row -> output.add(format.apply(row))))
                .start();
        running.awaitTermination();
        assertThat(running.exception().isEmpty()).as(name + " failed: " + running.exception()).isTrue();
    }

    /**
     * Four files of readings from three sensors, a reading every two seconds, each file two minutes on from the one
     * before: 75 readings per file, each file repeating ten eventIds of its own and five of the file before, and holding
     * one reading behind the watermark.
     */
    private static List<List<String>> readings()
    {
        Instant start = Instant.parse("2026-12-06T10:00:00Z");
        List<List<String>> files = new ArrayList<>();
        for (int file = 0; file < 4; file++) {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 75; i++) {
                int n = file * 75 + i;
                lines.add(reading("e" + n, "sensor-" + n % 3, start.plusSeconds(2L * n), n));
            }
            for (int i = 0; i < 10; i++) {
                int n = file * 75 + i * 7;
                lines.add(reading("e" + n, "sensor-" + n % 3, start.plusSeconds(2L * n), n));
            }
            for (int i = 0; file > 0 && i < 5; i++) {
                int n = file * 75 - 1 - i;
                lines.add(reading("e" + n, "sensor-" + n % 3, start.plusSeconds(2L * n), n));
            }
            if (file > 0) {
                lines.add(reading("late-" + file, "sensor-0", start.plusSeconds(2L * (file * 75) - 600), 1000));
            }
            files.add(lines);
        }
        return files;
    }

    private static String reading(String eventId, String sensorId, Instant time, long value)
    {
        return "{\"eventId\":\"" + eventId + "\",\"sensorId\":\"" + sensorId + "\",\"timestamp\":\"" + time + "\",\"value\":" + value + "}";
    }

    private static SparkSession session(String provider)
    {
        SparkSession session = SparkTestSession.get().newSession();
        session.conf().set(PROVIDER_CLASS, provider);
        return session;
    }

    private static List<String> synchronizedList()
    {
        return Collections.synchronizedList(new ArrayList<>());
    }

    private static List<String> sorted(List<String> values)
    {
        List<String> copy = new ArrayList<>(values);
        Collections.sort(copy);
        return copy;
    }
}
