package io.sensorpipeline.job.io;

import io.sensorpipeline.job.SparkTestSession;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.read.streaming.Offset;
import org.apache.spark.sql.execution.streaming.CommitLog;
import org.apache.spark.sql.execution.streaming.CommitMetadata;
import org.apache.spark.sql.execution.streaming.LongOffset;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import org.apache.spark.sql.execution.streaming.OffsetSeqMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Option;
import scala.collection.JavaConverters;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

public class CheckpointTest
{
    @TempDir
    Path directory;

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
        OffsetSeqMetadata metadata = OffsetSeqMetadata.apply("{\"batchWatermarkMs\":" + watermark + ",\"batchTimestampMs\":0}");
        List<Option<Offset>> offsets = List.of(Option.apply(new LongOffset(id)));
        new OffsetSeqLog(spark, checkpoint + "/offsets").add(id, new OffsetSeq(JavaConverters.asScalaBuffer(offsets).toSeq(), Option.apply(metadata)));
        if (nextWatermark != null) {
            new CommitLog(spark, checkpoint + "/commits").add(id, new CommitMetadata(nextWatermark));
        }
    }
}
