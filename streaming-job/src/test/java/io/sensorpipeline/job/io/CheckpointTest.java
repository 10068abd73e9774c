package io.sensorpipeline.job.io;

import io.sensorpipeline.job.SparkTestSession;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.read.streaming.Offset;
import org.apache.spark.sql.execution.streaming.LongOffset;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Option;
import scala.collection.JavaConverters;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CheckpointTest
{
    @TempDir
    Path directory;

    @Test
    void theLatestBatchReadNothingNewWhenItsOffsetsAreThoseOfTheBatchBefore()
    {
        SparkSession spark = SparkTestSession.get();
        String checkpoint = directory.resolve("ingest").toUri().toString();
        OffsetSeqLog log = new OffsetSeqLog(spark, checkpoint + "/offsets");

        assertThat(Checkpoint.latestBatchWithoutNewData(spark, checkpoint)).as("no batch yet").isTrue();
        log.add(0, offsets(100, 7));
        assertThat(Checkpoint.latestBatchWithoutNewData(spark, checkpoint)).as("the first batch").isFalse();
        log.add(1, offsets(100, 9));
        assertThat(Checkpoint.latestBatchWithoutNewData(spark, checkpoint)).as("one source moved on").isFalse();
        log.add(2, offsets(100, 9));
        assertThat(Checkpoint.latestBatchWithoutNewData(spark, checkpoint)).as("the same offsets again").isTrue();

        // The batch before the latest no longer in the log: nothing says the latest read nothing new.
        String purged = directory.resolve("purged").toUri().toString();
        new OffsetSeqLog(spark, purged + "/offsets").add(5, offsets(100, 9));
        assertThat(Checkpoint.latestBatchWithoutNewData(spark, purged)).as("batch 4 purged").isFalse();
    }

    private static OffsetSeq offsets(long... offsets)
    {
        List<Option<Offset>> sources = Arrays.stream(offsets)
                .mapToObj(offset -> Option.<Offset>apply(new LongOffset(offset)))
                .toList();
        return new OffsetSeq(JavaConverters.asScalaBuffer(sources).toSeq(), Option.empty());
    }
}
