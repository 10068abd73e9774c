package io.sensorpipeline.job.io;

import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Hadoop's local file system ({@code file:}, checksums included) with one difference: a file's or directory's
 * permissions are set through {@code java.nio} instead of by a {@code chmod} process.
 * <p>
 * Without Hadoop's native library, which Spark's distribution and Maven's jars do not carry, {@link RawLocalFileSystem}
 * starts a {@code chmod} for every file it creates, and another for the file's {@code .crc}. On a two-core machine one
 * such process took about 12 ms, and a job on a local lake creates several files per micro-batch and query (its
 * Parquet files, the offset, commit and {@code _spark_metadata} logs, the state's deltas). The permissions are the same
 * ones; a sticky bit, or a file system without POSIX permissions, goes to Hadoop's own code.
 * <p>
 * The job sets it as {@code spark.hadoop.fs.file.impl} in local mode, unless the user set that key
 * ({@code JobSettings.sparkConf}).
 */
public final class JavaLocalFileSystem
        extends LocalFileSystem
{
    public JavaLocalFileSystem()
    {
        super(new Raw());
    }

    static final class Raw
            extends RawLocalFileSystem
    {
        @Override
        public void setPermission(Path path, FsPermission permission)
                throws IOException
        {
            if (permission.getStickyBit()) {
                super.setPermission(path, permission);
                return;
            }
            java.nio.file.Path file = pathToFile(path).toPath();
            try {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permission.toString()));
            }
            catch (UnsupportedOperationException e) {
                super.setPermission(path, permission);
            }
        }
    }
}
