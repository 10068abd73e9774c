package io.sensorpipeline.job.io;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

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
}
