package io.sensorpipeline.job.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.PathFilter;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager;
import org.apache.spark.sql.execution.streaming.FileSystemBasedCheckpointFileManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;

import static java.util.Objects.requireNonNull;

/**
 * Spark's checkpoint file manager, the same one Spark would pick for the path, except that a file replaced between
 * its opening and its first byte is opened again and read whole, instead of failing the query.
 * <p>
 * Spark reads every checkpoint and metadata log file through a {@link CheckpointFileManager}; that includes a table's
 * {@code _spark_metadata} log, which every reader of the table reads (batch queries, {@code verify}, and the job's own
 * streaming readers of processed_data). {@code ./pipeline compact} replaces the log's latest {@code .compact} file with
 * one PUT on S3. S3A opens a file with a HEAD request and fetches it with the first read, asking for the ETag the HEAD
 * saw; if the PUT lands between the two, S3A throws {@code RemoteFileChangedException} ("Change reported by S3 during
 * open at position 0"), and Spark fails the query. The file is whole either way: the reader only came too early for
 * the old version and too late for the new one. Here the stream opens the file again and reads the new version, as a
 * reader opening it a moment later would have. Once a byte has reached the reader, a change is an error as before: a
 * list read half from one version and half from another would be wrong.
 * <p>
 * On the local file system it is Spark's FileSystem-based manager instead of its FileContext-based one. Both write a
 * file to a temporary name and rename it, and both refuse to replace a file unless asked to; but Hadoop's FileContext
 * asks the local file system four times per rename whether a path is a symbolic link, and without Hadoop's native
 * library each question is a {@code readlink} process: eight processes per file with its {@code .crc}, about 12 ms each
 * on a two-core machine, for every log and state file of every micro-batch. The FileSystem-based manager renames with
 * one {@code rename(2)}, which also replaces a file atomically where the FileContext-based one deletes it first.
 * <p>
 * The job sets this class as {@code spark.sql.streaming.checkpointFileManagerClass} unless the user set that key.
 */
public final class ReopeningCheckpointFileManager
        implements CheckpointFileManager
{
    /** Spark's key for the class; Spark passes it the path and the Hadoop configuration of each checkpoint it opens. */
    public static final String SPARK_KEY = "spark.sql.streaming.checkpointFileManagerClass";
    /** How often a file is opened again when it keeps changing before its first byte is read. */
    static final int REOPENS = 3;
    private static final String FILE_CHANGED = "org.apache.hadoop.fs.s3a.RemoteFileChangedException";
    private static final Logger LOG = LoggerFactory.getLogger(ReopeningCheckpointFileManager.class);

    private final CheckpointFileManager delegate;

    public ReopeningCheckpointFileManager(Path path, Configuration hadoopConf)
    {
        Configuration spark = new Configuration(hadoopConf);
        spark.unset(SPARK_KEY);
        this.delegate = isLocal(path, spark)
                ? new FileSystemBasedCheckpointFileManager(path, spark)
                // Spark's own choice for the path (FileContext, or FileSystem where there is no FileContext binding):
                // the same configuration without this class.
                : CheckpointFileManager.create(path, spark);
    }

    private static boolean isLocal(Path path, Configuration conf)
    {
        try {
            FileSystem fileSystem = path.getFileSystem(conf);
            return fileSystem instanceof LocalFileSystem || fileSystem instanceof RawLocalFileSystem;
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot open the file system of " + path, e);
        }
    }

    @Override
    public FSDataInputStream open(Path path)
    {
        return new FSDataInputStream(new ReopeningStream(delegate, path));
    }

    @Override
    public CancellableFSDataOutputStream createAtomic(Path path, boolean overwriteIfPossible)
    {
        return delegate.createAtomic(path, overwriteIfPossible);
    }

    @Override
    public FileStatus[] list(Path path, PathFilter filter)
    {
        return delegate.list(path, filter);
    }

    @Override
    public void mkdirs(Path path)
    {
        delegate.mkdirs(path);
    }

    @Override
    public boolean exists(Path path)
    {
        return delegate.exists(path);
    }

    @Override
    public void delete(Path path)
    {
        delegate.delete(path);
    }

    @Override
    public boolean isLocal()
    {
        return delegate.isLocal();
    }

    @Override
    public Path createCheckpointDirectory()
    {
        return delegate.createCheckpointDirectory();
    }

    /** True when S3A reported that the file changed under the reader (here, or as the cause of another exception). */
    public static boolean fileChanged(Throwable failure)
    {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            // By name: hadoop-aws is on the classpath only where the job uses s3a://.
            for (Class<?> type = cause.getClass(); type != null; type = type.getSuperclass()) {
                if (type.getName().equals(FILE_CHANGED)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The delegate's stream, opened again while no byte has reached the reader and the file turns out replaced. */
    private static final class ReopeningStream
            extends FSInputStream
    {
        private final CheckpointFileManager files;
        private final Path path;
        private FSDataInputStream stream;
        private boolean delivered;
        private int reopens;

        ReopeningStream(CheckpointFileManager files, Path path)
        {
            this.files = requireNonNull(files, "files is null");
            this.path = requireNonNull(path, "path is null");
            this.stream = files.open(path);
        }

        @Override
        public int read()
                throws IOException
        {
            while (true) {
                long position = stream.getPos();
                try {
                    int value = stream.read();
                    delivered |= value >= 0;
                    return value;
                }
                catch (IOException e) {
                    reopenOrThrow(position, e);
                }
            }
        }

        @Override
        public int read(byte[] buffer, int offset, int length)
                throws IOException
        {
            while (true) {
                long position = stream.getPos();
                try {
                    int read = stream.read(buffer, offset, length);
                    delivered |= read > 0;
                    return read;
                }
                catch (IOException e) {
                    reopenOrThrow(position, e);
                }
            }
        }

        private void reopenOrThrow(long position, IOException failure)
                throws IOException
        {
            if (delivered || reopens >= REOPENS || !fileChanged(failure)) {
                throw failure;
            }
            reopens++;
            LOG.warn("{} was replaced between its opening and its first read ({}); reading the new version", path, failure.getMessage());
            try {
                stream.close();
            }
            catch (IOException e) {
                LOG.debug("closing the stream of the old version of {}", path, e);
            }
            stream = files.open(path);
            if (position > 0) {
                stream.seek(position);
            }
        }

        @Override
        public void seek(long position)
                throws IOException
        {
            stream.seek(position);
        }

        @Override
        public long getPos()
                throws IOException
        {
            return stream.getPos();
        }

        @Override
        public boolean seekToNewSource(long position)
        {
            return false;
        }

        @Override
        public int available()
                throws IOException
        {
            return stream.available();
        }

        @Override
        public void close()
                throws IOException
        {
            stream.close();
        }
    }
}
