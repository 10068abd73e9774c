package io.sensorpipeline.job.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DropLogTest
{
    @TempDir
    Path checkpoint;

    @Test
    void keepsRunningTotalsAndAReplayedBatchWritesTheSameFileAgain()
    {
        DropLog log = new DropLog(new Configuration(), checkpoint.toString());
        log.record(0, 3, 0);
        log.record(1, 2, 5);
        assertThat(log.record(2, 1, 1)).isEqualTo(new DropLog.Totals(2, 0, 6, 6));
        // A crash after the file was written and before Spark committed the batch: the replay adds to batch 1's
        // totals again, not to its own.
        assertThat(log.record(2, 1, 1)).isEqualTo(new DropLog.Totals(2, 0, 6, 6));
        assertThat(log.totals(2)).hasValue(new DropLog.Totals(2, 0, 6, 6));
    }

    @Test
    void findsTheLastBatchSparkCommitted()
            throws Exception
    {
        DropLog log = new DropLog(new Configuration(), checkpoint.toString());
        assertThat(lastCommit()).isEmpty();
        log.record(0, 1, 0);
        log.record(1, 1, 0);
        log.record(2, 1, 0);
        Files.createDirectories(checkpoint.resolve("commits"));
        Files.writeString(checkpoint.resolve("commits/0"), "v1\n{}");
        Files.writeString(checkpoint.resolve("commits/1"), "v1\n{}");
        Files.writeString(checkpoint.resolve("commits/.1.crc"), "");
        // Batch 2 wrote its totals but Spark has not committed it: verify still reads them, since the tables hold it.
        assertThat(lastCommit()).hasValue(1);
        assertThat(log.totals(2)).hasValue(new DropLog.Totals(2, 0, 3, 0));
        assertThat(log.totals(3)).isEmpty();
    }

    @Test
    void totalsStartAtTheFirstBatchWhenTheCheckpointHadNone()
    {
        DropLog log = new DropLog(new Configuration(), checkpoint.toString());
        DropLog.Totals totals = log.record(7, 4, 2);
        assertThat(totals).isEqualTo(new DropLog.Totals(7, 7, 4, 2));
        assertThat(totals.complete()).isFalse();
        assertThat(log.record(8, 1, 0).complete()).isFalse();
    }

    @Test
    void deletesFilesOlderThanTheRetainedBatches()
    {
        DropLog log = new DropLog(new Configuration(), checkpoint.toString());
        for (long batchId = 0; batchId < DropLog.RETAINED + 5; batchId++) {
            log.record(batchId, 1, 0);
        }
        assertThat(checkpoint.resolve("drops/4")).doesNotExist();
        assertThat(checkpoint.resolve("drops/5")).exists();
        assertThat(log.totals(DropLog.RETAINED + 4)).hasValue(new DropLog.Totals(DropLog.RETAINED + 4, 0, DropLog.RETAINED + 5, 0));
    }

    @Test
    void aDamagedFileIsAnErrorNamingIt()
            throws Exception
    {
        DropLog log = new DropLog(new Configuration(), checkpoint.toString());
        Files.createDirectories(checkpoint.resolve("drops"));
        Files.writeString(checkpoint.resolve("drops/0"), "batchId=0\nduplicates=x\n");
        assertThatThrownBy(() -> log.record(1, 0, 0))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("drops/0 is not a drop-log file");
    }

    private OptionalLong lastCommit()
            throws IOException
    {
        return Checkpoint.lastCommit(FileSystem.getLocal(new Configuration()), new org.apache.hadoop.fs.Path(checkpoint.toUri()));
    }
}
