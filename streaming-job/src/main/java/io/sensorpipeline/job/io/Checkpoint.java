package io.sensorpipeline.job.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.kafka.common.TopicPartition;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.CommitLog;
import org.apache.spark.sql.execution.streaming.CommitMetadata;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import org.apache.spark.sql.execution.streaming.OffsetSeqMetadata;
import scala.Option;
import scala.Tuple2;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** Reads a streaming query's checkpoint directory. */
public final class Checkpoint
{
    /** Where Spark's Kafka source (the query's first source) writes the offsets it begins at. */
    private static final String KAFKA_START_OFFSETS = "sources/0/0";

    private Checkpoint() {}

    /** The id of the query's last committed batch, from the checkpoint's commit log; empty when it committed none. */
    public static OptionalLong lastCommit(FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        Path commits = new Path(checkpoint, "commits");
        if (!fileSystem.exists(commits)) {
            return OptionalLong.empty();
        }
        return Arrays.stream(fileSystem.listStatus(commits))
                .filter(FileStatus::isFile)
                .map(status -> SinkLog.batchId(status.getPath().getName()))
                .filter(OptionalLong::isPresent)
                .mapToLong(OptionalLong::getAsLong)
                .max();
    }

    /**
     * Whether a Kafka query has resolved where it begins ({@link #kafkaStartOffsets}): Spark writes it before the offsets
     * of the query's first batch, so a query with it has begun to read.
     */
    public static boolean hasKafkaStartOffsets(FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        return fileSystem.exists(new Path(checkpoint, KAFKA_START_OFFSETS));
    }

    /**
     * Where a Kafka query began reading each partition, from its checkpoint ({@code sources/0/0}, written by Spark's
     * Kafka source when the query first started: {@code starting-offsets} resolved to offsets); empty before that.
     * Partitions added to the topic later are read from their earliest offset and are not in it.
     */
    public static Optional<Map<TopicPartition, Long>> kafkaStartOffsets(FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        if (!hasKafkaStartOffsets(fileSystem, checkpoint)) {
            return Optional.empty();
        }
        Path file = new Path(checkpoint, KAFKA_START_OFFSETS);
        String text;
        try (InputStream in = fileSystem.open(file)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        return Optional.of(parseKafkaOffsets(text, file.toString()));
    }

    /**
     * The offsets up to which a Kafka query's last committed batch read each partition (the batch's end offsets, from
     * the checkpoint's offset log); empty when it committed no batch.
     */
    public static Map<TopicPartition, Long> kafkaCommittedEndOffsets(SparkSession spark, FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        OptionalLong batchId = lastCommit(fileSystem, checkpoint);
        if (batchId.isEmpty()) {
            return Map.of();
        }
        Path log = new Path(checkpoint, "offsets");
        Path file = new Path(log, Long.toString(batchId.getAsLong()));
        // Checked first: Spark's log would create a missing directory, and throws its own error for a missing file.
        if (!fileSystem.exists(file)) {
            throw new IOException(file + " is missing: the checkpoint has a commit of batch " + batchId.getAsLong() + " but not its offsets");
        }
        Option<OffsetSeq> batch = new OffsetSeqLog(spark, log.toString()).get(batchId.getAsLong());
        if (batch.isEmpty() || batch.get().offsets().isEmpty() || batch.get().offsets().head().isEmpty()) {
            throw new IOException(file + " has no offsets of a source");
        }
        return parseKafkaOffsets(batch.get().offsets().head().get().json(), file.toString());
    }

    /**
     * The content of a Kafka source's {@code sources/0/0}, as Spark's {@code KafkaSourceInitialOffsetWriter} reads it:
     * a zero byte, then the version line {@code v1} and the offsets as JSON ({"topic":{"0":0,"1":0}}), or the JSON
     * alone (Spark 2.1's format, and a batch's offsets in the offset log).
     */
    static Map<TopicPartition, Long> parseKafkaOffsets(String text, String file)
            throws IOException
    {
        String content = text.startsWith("\0") ? text.substring(1) : text;
        if (content.startsWith("v")) {
            int newline = content.indexOf('\n');
            if (newline < 0 || !content.substring(0, newline).strip().equals("v1")) {
                throw new IOException(file + " has a version this reader does not know: " + content.lines().findFirst().orElse(""));
            }
            content = content.substring(newline + 1);
        }
        Map<TopicPartition, Long> offsets = new HashMap<>();
        try {
            JsonNode topics = new ObjectMapper().readTree(content);
            if (topics == null || !topics.isObject()) {
                throw new IOException(file + " holds no Kafka offsets: " + content.strip());
            }
            for (Map.Entry<String, JsonNode> topic : (Iterable<Map.Entry<String, JsonNode>>) topics::fields) {
                if (!topic.getValue().isObject()) {
                    throw new IOException(file + " has no partitions for topic " + topic.getKey() + ": " + topic.getValue());
                }
                for (Map.Entry<String, JsonNode> partition : (Iterable<Map.Entry<String, JsonNode>>) topic.getValue()::fields) {
                    if (!partition.getValue().canConvertToLong() || partition.getValue().asLong() < 0) {
                        throw new IOException(file + " has no offset for partition " + partition.getKey() + " of " + topic.getKey());
                    }
                    offsets.put(new TopicPartition(topic.getKey(), Integer.parseInt(partition.getKey())), partition.getValue().asLong());
                }
            }
        }
        catch (JsonProcessingException | NumberFormatException e) {
            throw new IOException(file + " holds no Kafka offsets: " + e.getMessage(), e);
        }
        return offsets;
    }

    /**
     * Whether the watermark the query's next batch checks rows against already counts every row the query has read:
     * its latest batch is committed and did not move the watermark on. That is a batch without new data (Spark runs
     * one after a batch that moved the watermark, to evict state and emit what is due), or one whose rows were no
     * later than those before. True for a query without batches.
     */
    public static boolean watermarkCountsEveryRow(SparkSession spark, String checkpoint)
    {
        Option<Tuple2<Object, OffsetSeq>> latest = new OffsetSeqLog(spark, new Path(checkpoint, "offsets").toString()).getLatest();
        if (latest.isEmpty()) {
            return true;
        }
        Option<OffsetSeqMetadata> batch = latest.get()._2().metadata();
        // The commit log keeps the watermark after each batch: the one the batch after it runs with.
        Option<CommitMetadata> commit = new CommitLog(spark, new Path(checkpoint, "commits").toString()).get((Long) latest.get()._1());
        return batch.isDefined() && commit.isDefined() && commit.get().nextBatchWatermarkMs() <= batch.get().batchWatermarkMs();
    }
}
