package io.sensorpipeline.job;

import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.job.io.KafkaTopics.Range;
import org.apache.kafka.common.TopicPartition;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.MemoryStream;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Option;
import scala.collection.JavaConverters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VerifyTest
{
    private static final TopicPartition FIRST = new TopicPartition("readings", 0);
    private static final TopicPartition SECOND = new TopicPartition("readings", 1);

    @Test
    void beforeTheJobStartedVerifyReadsEveryPartitionFromItsEarliestOffset()
    {
        assertThat(Verify.startingOffsets(Map.of(FIRST, new Range(0, 10), SECOND, new Range(12, 20)), Optional.empty(), Map.of()))
                .isEqualTo("{\"readings\":{\"0\":-2,\"1\":-2}}");
    }

    @Test
    void verifyReadsFromWhereTheJobBeganAndAPartitionAddedSinceFromZero()
    {
        assertThat(Verify.startingOffsets(Map.of(FIRST, new Range(0, 2_500), SECOND, new Range(0, 40)), Optional.of(Map.of(FIRST, 1_500L)), Map.of(FIRST, 2_000L, SECOND, 40L)))
                .isEqualTo("{\"readings\":{\"0\":1500,\"1\":0}}");
    }

    @Test
    void aPartitionThatLostRecordsTheJobReadCannotBeAccountedFor()
    {
        assertThatThrownBy(() -> Verify.startingOffsets(Map.of(FIRST, new Range(1_510, 2_500), SECOND, new Range(0, 40)),
                Optional.of(Map.of(FIRST, 1_500L, SECOND, 0L)), Map.of()))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessage(trimmed("partition 0 of readings begins at offset 1,510; the job read it from 1,500"));
        // Added after the job began, so read by it from offset 0: records gone from it are missing too.
        assertThatThrownBy(() -> Verify.startingOffsets(Map.of(FIRST, new Range(1_500, 2_500), SECOND, new Range(5, 40)),
                Optional.of(Map.of(FIRST, 1_500L)), Map.of()))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessage(trimmed("partition 1 of readings begins at offset 5; the job read it from 0"));
    }

    @Test
    void topicIdsAreComparedOnlyOnceTheJobHasBegunToRead()
    {
        Map<String, String> recorded = Map.of("readings", "old-id", "other", "same-id");
        Map<String, String> current = Map.of("readings", "new-id", "other", "same-id");
        // Before: IDs recorded by a start whose query never read are replaced at the next start; the brokers are not asked.
        Supplier<Map<String, String>> unasked = () -> {
            throw new AssertionError("the brokers were asked for the topics' IDs before the job had begun to read");
        };
        assertThat(Verify.createdAgain(Optional.empty(), recorded, unasked)).isEmpty();
        // Once it has read: the changed ID is named, the unchanged one is not.
        assertThat(Verify.createdAgain(Optional.of(Map.of(FIRST, 0L)), recorded, () -> current))
                .containsExactly("readings (topic ID old-id when the job read it, now new-id)");
        assertThat(Verify.createdAgain(Optional.of(Map.of(FIRST, 0L)), recorded, () -> recorded)).isEmpty();
    }

    @Test
    void aTopicCreatedAgainEndsBeforeWhereTheJobReadItUpTo()
    {
        // Before the job's first commit: the topic ends before where the job began.
        assertThatThrownBy(() -> Verify.startingOffsets(Map.of(FIRST, new Range(0, 0), SECOND, new Range(0, 0)),
                Optional.of(Map.of(FIRST, 1_500L, SECOND, 0L)), Map.of()))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessage(trimmed("partition 0 of readings ends at offset 0, before 1,500 where the job has read it up to (was the topic deleted"
                        + " and created again?)"));
        // A job begun at the earliest offset (0) that read 1,500 and 900 records; the topic created again holds 10 and 0.
        assertThatThrownBy(() -> Verify.startingOffsets(Map.of(FIRST, new Range(0, 10), SECOND, new Range(0, 0)),
                Optional.of(Map.of(FIRST, 0L, SECOND, 0L)), Map.of(FIRST, 1_500L, SECOND, 900L)))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessage(trimmed("partition 0 of readings ends at offset 10, before 1,500 where the job has read it up to (was the topic deleted"
                        + " and created again?); partition 1 of readings ends at offset 0, before 900 where the job has read it up to (was the topic"
                        + " deleted and created again?)"));
        // The job caught up with the topic, or is behind it: nothing lost.
        assertThat(Verify.startingOffsets(Map.of(FIRST, new Range(0, 1_500), SECOND, new Range(0, 950)),
                Optional.of(Map.of(FIRST, 0L, SECOND, 0L)), Map.of(FIRST, 1_500L, SECOND, 900L)))
                .isEqualTo("{\"readings\":{\"0\":0,\"1\":0}}");
    }

    @Test
    void anEventIdWrittenOnTwoDaysCountsTwiceInProcessedData(@TempDir Path directory)
            throws Exception
    {
        // As the job writes processed_data: a file sink, with its _spark_metadata log, partitioned by event_date.
        SparkSession spark = SparkTestSession.get();
        MemoryStream<Row> rows = new MemoryStream<>(41, spark.sqlContext(), Option.empty(),
                Encoders.row(new StructType().add("eventId", "string").add("event_date", "date")));
        String table = directory.resolve("processed_data").toString();
        StreamingQuery query = rows.toDF().writeStream().format("parquet").partitionBy("event_date")
                .option("checkpointLocation", directory.resolve("checkpoint").toString()).start(table);
        try {
            // A repeat the de-duplication let through once its state expired, with a timestamp on the next day.
            rows.addData(JavaConverters.asScalaBuffer(List.of(RowFactory.create("e1", Date.valueOf("2026-12-06")),
                    RowFactory.create("e1", Date.valueOf("2026-12-07")), RowFactory.create("e2", Date.valueOf("2026-12-07")))).toSeq());
            query.processAllAvailable();
        }
        finally {
            query.stop();
        }

        assertThat(Verify.eventIds(spark, table).count()).isEqualTo(3);
        assertThat(Verify.eventIds(spark, table).distinct().count()).isEqualTo(2);
    }

    @Test
    void aVerdictExitsZeroWhenItAddsUpOneWhenItDoesNotAndThreeForABatchTheJobHasNotFinished()
    {
        assertThat(outcome(() -> accounting(1_000, 985, 985, OptionalLong.empty())).code()).isEqualTo(0);
        // One reading in no table and not counted as dropped.
        assertThat(outcome(() -> accounting(1_000, 984, 984, OptionalLong.empty())).code()).isEqualTo(1);
        // An eventId twice in processed_data, although the counts add up.
        assertThat(outcome(() -> accounting(1_000, 985, 984, OptionalLong.empty())).code()).isEqualTo(1);
        assertThat(outcome(() -> accounting(1_000, 984, 984, OptionalLong.of(7))).code()).isEqualTo(3);
    }

    @Test
    void aCheckThatCouldNotBeMadeExitsTwoOrFourForATrimmedTopicWithTheReasonOnStderr()
    {
        Outcome settings = outcome(() -> {
            throw new SettingsException("invalid setting sensors-file='nowhere.csv': no such file");
        });
        assertThat(settings.code()).isEqualTo(2);
        assertThat(settings.stderr()).isEqualTo("verify: invalid setting sensors-file='nowhere.csv': no such file\n");

        Outcome trimmed = outcome(() -> {
            throw new Verify.TopicTrimmed("partition 0 of readings begins at offset 600; the job read it from 506.");
        });
        assertThat(trimmed.code()).isEqualTo(4);
        assertThat(trimmed.stderr()).isEqualTo("verify: CANNOT CHECK, partition 0 of readings begins at offset 600; the job read it from 506.\n");

        Outcome unreadable = outcome(() -> {
            throw new UncheckedIOException("cannot read the checkpoint /ck/ingest", new IOException("Permission denied"));
        });
        assertThat(unreadable.code()).isEqualTo(2);
        assertThat(unreadable.stderr()).isEqualTo("verify: cannot read the checkpoint /ck/ingest\n");

        // Not a verdict on the tables: 2, never the 1 that says they do not add up, and the trace for a bug report.
        Outcome unexpected = outcome(() -> {
            throw new IllegalStateException("boom");
        });
        assertThat(unexpected.code()).isEqualTo(2);
        assertThat(unexpected.stderr()).startsWith("verify: could not check the tables: java.lang.IllegalStateException: boom\n")
                .contains("\tat io.sensorpipeline.job.VerifyTest");
        // Spark asserts that every partition of the topic is in startingOffsets: one added after verify looked is no verdict either.
        Outcome asserted = outcome(() -> {
            throw new AssertionError("assertion failed: If startingOffsets contains specific offsets, you must specify all TopicPartitions.");
        });
        assertThat(asserted.code()).isEqualTo(2);
        assertThat(asserted.stderr()).startsWith("verify: could not check the tables: java.lang.AssertionError: assertion failed: If startingOffsets contains specific"
                + " offsets, you must specify all TopicPartitions.\n");
    }

    @Test
    void rowsOfRecordsTheTopicDoesNotHoldFailTheCheckWithAHint()
    {
        // A topic created again and refilled past where the job had read: the counts can add up, the eventIds do not.
        Verify.Accounting accounting = new Verify.Accounting(1_000, 985, 985, 10, 5, 0, true, 5, 985,
                Map.of("MALFORMED_JSON", 10L), Map.of("MALFORMED_JSON", 10L), "counted by the job", OptionalLong.empty());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        accounting.print(new PrintStream(out, true, StandardCharsets.UTF_8));

        assertThat(accounting.addsUp()).isFalse();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("  eventIds in processed_data but not in the topic: 985 (was the topic deleted and created again, or do the topic and"
                        + " lake-root settings belong to different jobs?)\nverify: FAILED, the tables do not match the topic\n");
    }

    /** TopicTrimmed's message around the partitions it names. */
    private static String trimmed(String partitions)
    {
        return "the topic no longer holds every record the job read (retention, or deleted records): " + partitions
                + ". The tables hold rows of records verify cannot read, so it cannot account for them. Verify checks a topic that keeps"
                + " everything the tables hold, such as the demo's.";
    }

    private record Outcome(int code, String stderr) {}

    private static Outcome outcome(Supplier<Verify.Accounting> check)
    {
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int code = Verify.exitCode(check, new PrintStream(stderr, true, StandardCharsets.UTF_8));
        return new Outcome(code, stderr.toString(StandardCharsets.UTF_8));
    }

    /** 1% of the records rejected as malformed, 5 duplicates dropped, the rest processed or missing. */
    private static Verify.Accounting accounting(long records, long processedRows, long distinctEventIds, OptionalLong unfinishedBatch)
    {
        long rejected = records / 100;
        return new Verify.Accounting(records, processedRows, distinctEventIds, rejected, 5, 0, true, 5, 0,
                Map.of("MALFORMED_JSON", rejected), Map.of("MALFORMED_JSON", rejected), "counted by the job", unfinishedBatch);
    }
}
