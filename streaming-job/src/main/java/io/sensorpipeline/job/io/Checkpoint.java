package io.sensorpipeline.job.io;

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
     * Where a Kafka query began reading each partition, from its checkpoint ({@code sources/0/0}, written by Spark's
     * Kafka source when the query first started: {@code starting-offsets} resolved to offsets); empty before that.
     * Partitions added to the topic later are read from their earliest offset and are not in it.
     */
    public static Optional<Map<TopicPartition, Long>> kafkaStartOffsets(FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        Path file = new Path(checkpoint, "sources/0/0");
        if (!fileSystem.exists(file)) {
            return Optional.empty();
        }
        String text;
        try (InputStream in = fileSystem.open(file)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        // A zero byte (Spark's, for compatibility with an old format), the version line "v1", then the offsets as JSON.
        int json = text.indexOf('{');
        if (!text.replace("\0", "").strip().startsWith("v1") || json < 0) {
            throw new IOException("unexpected content in " + file + ": " + text.strip());
        }
        Map<TopicPartition, Long> offsets = new HashMap<>();
        new ObjectMapper().readTree(text.substring(json)).fields().forEachRemaining(topic -> topic.getValue().fields()
                .forEachRemaining(partition -> offsets.put(new TopicPartition(topic.getKey(), Integer.parseInt(partition.getKey())), partition.getValue().asLong())));
        return Optional.of(offsets);
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
