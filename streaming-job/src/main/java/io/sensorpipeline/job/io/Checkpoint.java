package io.sensorpipeline.job.io;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.read.streaming.Offset;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import scala.Option;
import scala.Tuple2;
import scala.collection.JavaConverters;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
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
     * Whether the query's latest batch read no new data: a batch Spark runs only to move the watermark on (and evict
     * state), whose watermark therefore counts every row the query read. True for a query without batches.
     */
    public static boolean latestBatchWithoutNewData(SparkSession spark, String checkpoint)
    {
        OffsetSeqLog log = new OffsetSeqLog(spark, new Path(checkpoint, "offsets").toString());
        Option<Tuple2<Object, OffsetSeq>> latest = log.getLatest();
        if (latest.isEmpty()) {
            return true;
        }
        long batchId = (Long) latest.get()._1();
        Option<OffsetSeq> before = batchId == 0 ? Option.empty() : log.get(batchId - 1);
        return before.isDefined() && offsets(before.get()).equals(offsets(latest.get()._2()));
    }

    private static List<String> offsets(OffsetSeq offsets)
    {
        return JavaConverters.seqAsJavaList(offsets.offsets()).stream()
                .map(offset -> offset.isDefined() ? ((Offset) offset.get()).json() : "")
                .toList();
    }
}
