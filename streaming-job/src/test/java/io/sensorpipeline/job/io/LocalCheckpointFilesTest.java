package io.sensorpipeline.job.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Files on the local file system as the job writes them: {@link JavaLocalFileSystem} (permissions without a chmod
 * process) and {@link ReopeningCheckpointFileManager} on a local path (Spark's FileSystem-based manager, no readlink
 * processes). The process counts are the machine's (Linux's /proc/stat), so other processes' forks count too: the
 * bounds are far below the two to ten processes per file that Hadoop's shell fallbacks start.
 */
class LocalCheckpointFilesTest
{
    private static final int FILES = 100;

    @TempDir
    java.nio.file.Path directory;

    @Test
    void theLocalFileSystemSetsPermissionsWithoutStartingAProcess()
            throws IOException
    {
        assumeTrue(Files.exists(java.nio.file.Path.of("/proc/stat")), "counts processes with Linux's /proc/stat");
        FileSystem fileSystem = FileSystem.newInstance(URI.create("file:///"), configuration());
        assertThat(fileSystem).isInstanceOf(JavaLocalFileSystem.class);

        long before = processesStarted();
        for (int i = 0; i < FILES; i++) {
            try (FSDataOutputStream out = fileSystem.create(new Path(directory.toUri().toString(), "file-" + i))) {
                out.write(("row " + i).getBytes(StandardCharsets.UTF_8));
            }
        }
        long started = processesStarted() - before;

        // Hadoop's own: the default file permission less the umask, on the file and on its checksum file.
        assertThat(Files.getPosixFilePermissions(directory.resolve("file-7"))).isEqualTo(PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(Files.getPosixFilePermissions(directory.resolve(".file-7.crc"))).isEqualTo(PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(fileSystem.open(new Path(directory.toUri().toString(), "file-7")).readAllBytes()).isEqualTo("row 7".getBytes(StandardCharsets.UTF_8));
        Path child = new Path(directory.toUri().toString(), "private");
        assertThat(fileSystem.mkdirs(child, new FsPermission((short) 0750))).isTrue();
        assertThat(Files.getPosixFilePermissions(directory.resolve("private"))).isEqualTo(PosixFilePermissions.fromString("rwxr-x---"));
        fileSystem.setPermission(child, new FsPermission((short) 0700));
        assertThat(Files.getPosixFilePermissions(directory.resolve("private"))).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(started).as("processes started on the machine while %s files were written", FILES).isLessThan(FILES / 2);
    }

    @Test
    void checkpointFilesOnALocalPathAreWrittenAtomicallyWithoutStartingAProcess()
            throws IOException
    {
        assumeTrue(Files.exists(java.nio.file.Path.of("/proc/stat")), "counts processes with Linux's /proc/stat");
        Path log = new Path(directory.toUri().toString(), "offsets");
        CheckpointFileManager files = new ReopeningCheckpointFileManager(log, configuration());
        files.mkdirs(log);

        long before = processesStarted();
        for (int i = 0; i < FILES; i++) {
            write(files, new Path(log, Integer.toString(i)), "batch " + i, false);
        }
        long started = processesStarted() - before;

        assertThat(files.list(log)).hasSize(FILES);
        assertThat(read(files, new Path(log, "42"))).isEqualTo("batch 42");
        // A log file is never replaced unless the writer asks: the second writer of batch 42 fails, the first one's stays.
        assertThatThrownBy(() -> write(files, new Path(log, "42"), "someone else's batch 42", false))
                .isInstanceOf(FileAlreadyExistsException.class);
        assertThat(read(files, new Path(log, "42"))).isEqualTo("batch 42");
        write(files, new Path(log, "42"), "batch 42 again", true);
        assertThat(read(files, new Path(log, "42"))).isEqualTo("batch 42 again");
        assertThat(started).as("processes started on the machine while %s checkpoint files were written", FILES).isLessThan(FILES / 2);
    }

    private static Configuration configuration()
    {
        Configuration conf = new Configuration();
        conf.set("fs.file.impl", JavaLocalFileSystem.class.getName());
        conf.setBoolean("fs.file.impl.disable.cache", true);
        return conf;
    }

    private static void write(CheckpointFileManager files, Path file, String text, boolean overwrite)
            throws IOException
    {
        try (CheckpointFileManager.CancellableFSDataOutputStream out = files.createAtomic(file, overwrite)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String read(CheckpointFileManager files, Path file)
            throws IOException
    {
        try (InputStream in = files.open(file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Processes started on this machine since it booted. */
    private static long processesStarted()
            throws IOException
    {
        List<String> lines = Files.readAllLines(java.nio.file.Path.of("/proc/stat"));
        return lines.stream()
                .filter(line -> line.startsWith("processes "))
                .mapToLong(line -> Long.parseLong(line.substring("processes ".length()).trim()))
                .findFirst()
                .orElseThrow();
    }
}
