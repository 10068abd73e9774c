package io.sensorpipeline.job.io;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.CommitLog;
import org.apache.spark.sql.execution.streaming.CommitMetadata;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import org.apache.spark.sql.execution.streaming.OffsetSeqMetadata;
import scala.Option;
import scala.Tuple2;

import java.io.IOException;
import java.util.Arrays;
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
