package io.sensorpipeline.job.io;

import io.sensorpipeline.job.SparkTestSession;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.kafka.common.TopicPartition;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.read.streaming.Offset;
import org.apache.spark.sql.execution.streaming.CommitLog;
import org.apache.spark.sql.execution.streaming.CommitMetadata;
import org.apache.spark.sql.execution.streaming.LongOffset;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import org.apache.spark.sql.execution.streaming.OffsetSeqMetadata;
import org.apache.spark.sql.execution.streaming.SerializedOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Option;
import scala.collection.JavaConverters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class CheckpointTest
{
    @TempDir
    Path directory;

    @Test
    void kafkaStartOffsetsReadSparksFormatsAndRefuseOthers()
            throws IOException
    {
        Map<TopicPartition, Long> expected = Map.of(new TopicPartition("sensor-readings", 0), 506L, new TopicPartition("sensor-readings", 1), 494L,
                new TopicPartition("other", 0), 7L);
        // As Spark 3.5 writes it: a zero byte, the version line, the JSON.
        assertThat(Checkpoint.parseKafkaOffsets("\0v1\n{\"sensor-readings\":{\"1\":494,\"0\":506},\"other\":{\"0\":7}}", "f")).isEqualTo(expected);
        // Spark 2.1's: the JSON alone.
        assertThat(Checkpoint.parseKafkaOffsets("\0{\"sensor-readings\":{\"1\":494,\"0\":506},\"other\":{\"0\":7}}", "f")).isEqualTo(expected);
        assertThatThrownBy(() -> Checkpoint.parseKafkaOffsets("\0v10\n{}", "f"))
                .isInstanceOf(IOException.class)
                .hasMessage("f has a version this reader does not know: v10");
        assertThatThrownBy(() -> Checkpoint.parseKafkaOffsets("\0v1\n{\"t\":{\"x\":1}}", "f"))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("f holds no Kafka offsets: For input string: \"x\"");
        assertThatThrownBy(() -> Checkpoint.parseKafkaOffsets("\0v1\n{\"t\":{\"0\":\"latest\"}}", "f"))
                .isInstanceOf(IOException.class)
                .hasMessage("f has no offset for partition 0 of t");
        assertThatThrownBy(() -> Checkpoint.parseKafkaOffsets("\0v1\n{\"t\":{\"0\":-1}}", "f"))
                .isInstanceOf(IOException.class)
                .hasMessage("f has no offset for partition 0 of t");
        assertThatThrownBy(() -> Checkpoint.parseKafkaOffsets("\0v1\n{\"t\":5}", "f"))
                .isInstanceOf(IOException.class)
                .hasMessage("f has no partitions for topic t: 5");
    }

    @Test
    void kafkaStartOffsetsAreEmptyBeforeTheQueryStarted()
            throws IOException
    {
        org.apache.hadoop.fs.Path checkpoint = new org.apache.hadoop.fs.Path(directory.resolve("ingest").toUri());
        FileSystem fileSystem = checkpoint.getFileSystem(new Configuration());
        assertThat(Checkpoint.kafkaStartOffsets(fileSystem, checkpoint)).isEmpty();
        Files.createDirectories(directory.resolve("ingest/sources/0"));
        Files.writeString(directory.resolve("ingest/sources/0/0"), "\0v1\n{\"t\":{\"0\":3}}");
        assertThat(Checkpoint.kafkaStartOffsets(fileSystem, checkpoint)).contains(Map.of(new TopicPartition("t", 0), 3L));
    }

    @Test
    void kafkaCommittedEndOffsetsAreTheLastCommittedBatchsOffsets()
            throws IOException
    {
        SparkSession spark = SparkTestSession.get();
        String checkpoint = directory.resolve("ingest").toUri().toString();
        org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(checkpoint);
        FileSystem fileSystem = path.getFileSystem(new Configuration());
        assertThat(Checkpoint.kafkaCommittedEndOffsets(spark, fileSystem, path)).as("no batch yet").isEmpty();

        writeBatch(spark, checkpoint, 0, kafkaOffsets("{\"t\":{\"1\":9,\"0\":5}}"), 0, 0L);
        writeBatch(spark, checkpoint, 1, kafkaOffsets("{\"t\":{\"1\":19,\"0\":15}}"), 0, null);
        assertThat(Checkpoint.kafkaCommittedEndOffsets(spark, fileSystem, path))
                .as("batch 1 is planned, not committed")
                .isEqualTo(Map.of(new TopicPartition("t", 0), 5L, new TopicPartition("t", 1), 9L));
        new CommitLog(spark, checkpoint + "/commits").add(1, new CommitMetadata(0));
        assertThat(Checkpoint.kafkaCommittedEndOffsets(spark, fileSystem, path))
                .isEqualTo(Map.of(new TopicPartition("t", 0), 15L, new TopicPartition("t", 1), 19L));

        new CommitLog(spark, checkpoint + "/commits").add(2, new CommitMetadata(0));
        assertThatThrownBy(() -> Checkpoint.kafkaCommittedEndOffsets(spark, fileSystem, path))
                .isInstanceOf(IOException.class)
                .hasMessage(new org.apache.hadoop.fs.Path(path, "offsets/2") + " is missing: the checkpoint has a commit of batch 2 but not its offsets");

        writeBatch(spark, checkpoint, 3, List.of(), 0, 0L);
        assertThatThrownBy(() -> Checkpoint.kafkaCommittedEndOffsets(spark, fileSystem, path))
                .isInstanceOf(IOException.class)
                .hasMessage(new org.apache.hadoop.fs.Path(path, "offsets/3") + " has no offsets of a source");
    }

    /** A Kafka source's offsets in a batch of the offset log, as Spark writes them: {"topic":{"partition":offset}}. */
    private static List<Option<Offset>> kafkaOffsets(String json)
    {
        return List.of(Option.apply(new SerializedOffset(json)));
    }

    @Test
    void theWatermarkCountsEveryRowOnceTheLatestBatchIsCommittedAndDidNotMoveIt()
    {
        SparkSession spark = SparkTestSession.get();
        String checkpoint = directory.resolve("ingest").toUri().toString();

        assertThat(Checkpoint.watermarkCountsEveryRow(spark, checkpoint)).as("no batch yet").isTrue();
        writeBatch(spark, checkpoint, 0, 0, null);
        assertThat(Checkpoint.watermarkCountsEveryRow(spark, checkpoint)).as("the first batch, not committed").isFalse();
        writeBatch(spark, checkpoint, 0, 0, 60_000L);
        assertThat(Checkpoint.watermarkCountsEveryRow(spark, checkpoint)).as("the first batch moved the watermark").isFalse();
        writeBatch(spark, checkpoint, 1, 60_000, 60_000L);
        assertThat(Checkpoint.watermarkCountsEveryRow(spark, checkpoint)).as("a batch that did not move it").isTrue();
        writeBatch(spark, checkpoint, 2, 60_000, null);
        assertThat(Checkpoint.watermarkCountsEveryRow(spark, checkpoint)).as("a batch not committed").isFalse();
        writeBatch(spark, checkpoint, 2, 60_000, 90_000L);
        assertThat(Checkpoint.watermarkCountsEveryRow(spark, checkpoint)).as("a batch that moved it").isFalse();
    }

    /**
     * Writes batch {@code id} of a query's checkpoint: its offsets, with the watermark it runs with, and, when
     * {@code nextWatermark} is given, its commit, with the watermark after it.
     */
    public static void writeBatch(SparkSession spark, String checkpoint, long id, long watermark, Long nextWatermark)
    {
        writeBatch(spark, checkpoint, id, List.of(Option.apply(new LongOffset(id))), watermark, nextWatermark);
    }

    /** As {@link #writeBatch(SparkSession, String, long, long, Long)}, with the given offsets of the batch's sources. */
    private static void writeBatch(SparkSession spark, String checkpoint, long id, List<Option<Offset>> offsets, long watermark, Long nextWatermark)
    {
        OffsetSeqMetadata metadata = OffsetSeqMetadata.apply("{\"batchWatermarkMs\":" + watermark + ",\"batchTimestampMs\":0}");
        new OffsetSeqLog(spark, checkpoint + "/offsets").add(id, new OffsetSeq(JavaConverters.asScalaBuffer(offsets).toSeq(), Option.apply(metadata)));
        if (nextWatermark != null) {
            new CommitLog(spark, checkpoint + "/commits").add(id, new CommitMetadata(nextWatermark));
        }
    }
}
