package io.sensorpipeline.job.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SinkLogTest
{
    private static final String ENTRY = "{\"path\":\"file:///lake/t/event_date=2026-11-24/part-%d.parquet\",\"size\":%d,\"isDir\":false,"
            + "\"modificationTime\":1795498044135,\"blockReplication\":1,\"blockSize\":33554432,\"action\":\"add\"}";

    @TempDir
    java.nio.file.Path directory;

    @Test
    void readsTheLatestCompactFileAndTheBatchesAfterIt()
            throws Exception
    {
        SinkLog log = logWith("3.compact", entries(1, 2), "4", entries(3), "1", entries(1), "2", entries(2));
        assertThat(log.latestCompaction()).hasValue(3);
        assertThat(log.batchIds()).containsExactly(1L, 2L, 3L, 4L);
        assertThat(log.read(3)).extracting(entry -> entry.path().getName()).containsExactly("part-1.parquet", "part-2.parquet");
        assertThat(log.committedFiles()).extracting(entry -> entry.path().getName()).containsExactly("part-1.parquet", "part-2.parquet", "part-3.parquet");
        assertThat(log.read(4).get(0).size()).isEqualTo(3);
    }

    @Test
    void replacingTheCompactFileLeavesNoStaleChecksumBehind()
            throws Exception
    {
        // Written through Hadoop's local file system, as Spark does: each file gets a .crc file beside it.
        SinkLog log = logWith("3.compact", entries(1, 2, 3));
        assertThat(Files.exists(directory.resolve("t/_spark_metadata/.3.compact.crc"))).isTrue();

        SinkLog.Entry merged = SinkLog.Entry.parse(ENTRY.formatted(9, 900));
        log.replaceCompaction(3, List.of(merged));

        // Hadoop's checksummed reads (what Spark's readers use) accept the new file, and see only the new list.
        assertThat(log.read(3)).containsExactly(merged);
        FileSystem local = FileSystem.getLocal(new Configuration());
        try (InputStream input = local.open(new Path(directory.resolve("t/_spark_metadata/3.compact").toUri()))) {
            assertThat(new String(input.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("v1\n" + merged.json());
        }
        try (java.util.stream.Stream<java.nio.file.Path> files = Files.list(directory.resolve("t/_spark_metadata"))) {
            assertThat(files.map(file -> file.getFileName().toString())).containsExactly("3.compact");
        }
    }

    @Test
    void onlyAnExistingCompactFileCanBeReplaced()
            throws Exception
    {
        SinkLog log = logWith("3.compact", entries(1), "4", entries(2));
        assertThatThrownBy(() -> log.replaceCompaction(4, List.of())).hasMessageContaining("4.compact does not exist");
        assertThatThrownBy(() -> SinkLog.of(new Configuration(), new Path(directory.resolve("none").toUri())))
                .hasMessageContaining("has no _spark_metadata log");
    }

    @Test
    void entriesOfOurOwnFilesReadBackLikeSparksOwn()
    {
        FileStatus file = new FileStatus(1234, false, 1, 33554432, 99, new Path("file:///lake/t/event_date=2026-11-24/part-7.parquet"));
        SinkLog.Entry entry = SinkLog.Entry.of(file, 0);
        assertThat(entry.json()).isEqualTo("{\"path\":\"file:///lake/t/event_date=2026-11-24/part-7.parquet\",\"size\":1234,\"isDir\":false,"
                + "\"modificationTime\":0,\"blockReplication\":1,\"blockSize\":33554432,\"action\":\"add\"}");
        assertThat(SinkLog.Entry.parse(entry.json())).isEqualTo(entry);
        assertThatThrownBy(() -> SinkLog.Entry.parse(entry.json().replace("\"add\"", "\"delete\""))).hasMessageContaining("unsupported action 'delete'");
    }

    private static String entries(int... files)
    {
        StringBuilder text = new StringBuilder("v1");
        for (int file : files) {
            text.append('\n').append(ENTRY.formatted(file, file));
        }
        return text.toString();
    }

    private SinkLog logWith(String... namesAndContents)
            throws Exception
    {
        Configuration configuration = new Configuration();
        FileSystem local = FileSystem.getLocal(configuration);
        Path table = new Path(directory.resolve("t").toUri());
        for (int index = 0; index < namesAndContents.length; index += 2) {
            try (FSDataOutputStream output = local.create(new Path(new Path(table, SinkLog.DIRECTORY), namesAndContents[index]))) {
                output.write(namesAndContents[index + 1].getBytes(StandardCharsets.UTF_8));
            }
        }
        return SinkLog.of(configuration, table);
    }
}
