package io.sensorpipeline.job.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * A table's {@code _spark_metadata} log, the list of committed files that Spark's file sink keeps and every Spark reader
 * of the table follows: one file per micro-batch ({@code 12}) and, every {@code compactInterval} batches, a file that
 * holds the whole list up to that batch ({@code 19.compact}). A reader reads the latest {@code .compact} file and the
 * batch files after it, and sees no other file of the table.
 *
 * <p>This class reads the log and replaces the latest {@code .compact} file with another whole list, atomically: a
 * reader sees the old list or the new one, never a mix and never no file. That is the one change to the log that a
 * running sink cannot collide with (it only ever creates files with new batch ids, and reads the latest
 * {@code .compact} file only when it writes the next one). See {@code TableCompaction} for how it is used.
 */
public final class SinkLog
{
    public static final String DIRECTORY = "_spark_metadata";
    private static final String VERSION = "v1";
    private static final String COMPACT_SUFFIX = ".compact";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileSystem fileSystem;
    private final Configuration configuration;
    private final Path directory;

    private SinkLog(FileSystem fileSystem, Configuration configuration, Path directory)
    {
        this.fileSystem = requireNonNull(fileSystem, "fileSystem is null");
        this.configuration = requireNonNull(configuration, "configuration is null");
        this.directory = requireNonNull(directory, "directory is null");
    }

    /** The log of the table at {@code tablePath}; fails when the table has none (it is not a file sink's table). */
    public static SinkLog of(Configuration configuration, Path tablePath)
            throws IOException
    {
        FileSystem fileSystem = tablePath.getFileSystem(configuration);
        Path directory = new Path(tablePath, DIRECTORY);
        if (!fileSystem.exists(directory)) {
            throw new FileNotFoundException(tablePath + " has no " + DIRECTORY + " log: it is not a table written by the streaming job");
        }
        return new SinkLog(fileSystem, configuration, fileSystem.makeQualified(directory));
    }

    /** One committed file, as the log records it; {@code json} is the entry's line, kept verbatim. */
    public record Entry(Path path, long size, long modificationTime, String json)
    {
        public Entry
        {
            requireNonNull(path, "path is null");
            requireNonNull(json, "json is null");
        }

        /** The entry for a file this program wrote: the same fields, in the same order, as Spark's own entries. */
        public static Entry of(FileStatus file, long modificationTime)
        {
            ObjectNode node = JSON.createObjectNode()
                    .put("path", file.getPath().toUri().toString())
                    .put("size", file.getLen())
                    .put("isDir", false)
                    .put("modificationTime", modificationTime)
                    .put("blockReplication", file.getReplication())
                    .put("blockSize", file.getBlockSize())
                    .put("action", "add");
            return new Entry(file.getPath(), file.getLen(), modificationTime, node.toString());
        }

        /** The name of the partition directory the file is in, such as {@code event_date=2026-11-24}. */
        public String partition()
        {
            return path.getParent().getName();
        }

        static Entry parse(String line)
        {
            try {
                JsonNode node = JSON.readTree(line);
                String action = node.path("action").asText("add");
                if (!action.equals("add")) {
                    throw new IllegalStateException("unsupported action '" + action + "' in sink log entry: " + line);
                }
                return new Entry(new Path(URI.create(node.get("path").asText())), node.path("size").asLong(), node.path("modificationTime").asLong(), line);
            }
            catch (IOException | NullPointerException e) {
                throw new IllegalStateException("unreadable sink log entry: " + line, e);
            }
        }
    }

    public Path directory()
    {
        return directory;
    }

    /** The batch ids of the log's files, and which of them are {@code .compact} files, from one listing. */
    public record Listing(TreeSet<Long> batchIds, TreeSet<Long> compactions)
    {
        public OptionalLong latestCompaction()
        {
            return compactions.isEmpty() ? OptionalLong.empty() : OptionalLong.of(compactions.last());
        }
    }

    /** Lists the log once: every decision that combines batch ids and compactions must come from one listing. */
    public Listing list()
            throws IOException
    {
        TreeSet<Long> ids = new TreeSet<>();
        TreeSet<Long> compactions = new TreeSet<>();
        for (FileStatus file : fileSystem.listStatus(directory)) {
            String name = file.getPath().getName();
            OptionalLong id = batchId(name);
            if (id.isPresent()) {
                ids.add(id.getAsLong());
                if (name.endsWith(COMPACT_SUFFIX)) {
                    compactions.add(id.getAsLong());
                }
            }
        }
        return new Listing(ids, compactions);
    }

    /** The ids of the log's batch files, {@code .compact} ones included, in order. */
    public TreeSet<Long> batchIds()
            throws IOException
    {
        return list().batchIds();
    }

    /** The id of the latest {@code .compact} file, if the sink has written one. */
    public OptionalLong latestCompaction()
            throws IOException
    {
        return list().latestCompaction();
    }

    /** The batch id a log or checkpoint file is named after ({@code 12}, {@code 19.compact}), if it is one. */
    public static OptionalLong batchId(String name)
    {
        String id = name.endsWith(COMPACT_SUFFIX) ? name.substring(0, name.length() - COMPACT_SUFFIX.length()) : name;
        if (id.isEmpty() || !id.chars().allMatch(Character::isDigit)) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Long.parseLong(id));
    }

    public boolean isCompaction(long batchId)
            throws IOException
    {
        return fileSystem.exists(compactionFile(batchId));
    }

    /** The entries of one batch file: the whole list for a {@code .compact} file, the batch's new files otherwise. */
    public List<Entry> read(long batchId)
            throws IOException
    {
        return read(batchId, isCompaction(batchId));
    }

    private List<Entry> read(long batchId, boolean compaction)
            throws IOException
    {
        Path file = compaction ? compactionFile(batchId) : new Path(directory, Long.toString(batchId));
        String text;
        try (InputStream input = fileSystem.open(file)) {
            text = new String(input.readAllBytes(), StandardCharsets.UTF_8);
        }
        String[] lines = text.split("\n");
        if (!lines[0].equals(VERSION)) {
            throw new IllegalStateException(file + " is not a version 1 sink log file (first line '" + lines[0] + "')");
        }
        List<Entry> entries = new ArrayList<>();
        for (int index = 1; index < lines.length; index++) {
            if (!lines[index].isEmpty()) {
                entries.add(Entry.parse(lines[index]));
            }
        }
        return entries;
    }

    /**
     * What a reader sees now: the latest {@code .compact} file's entries and those of the batch files after it, as
     * Spark's {@code CompactibleFileStreamLog.allFiles} reads them, from one listing.
     */
    public List<Entry> committedFiles()
            throws IOException
    {
        Listing listing = list();
        OptionalLong compaction = listing.latestCompaction();
        List<Entry> entries = new ArrayList<>();
        for (long id : compaction.isPresent() ? listing.batchIds().tailSet(compaction.getAsLong(), true) : listing.batchIds()) {
            entries.addAll(read(id, listing.compactions().contains(id)));
        }
        return entries;
    }

    private Path compactionFile(long batchId)
    {
        return new Path(directory, batchId + COMPACT_SUFFIX);
    }

    /**
     * Replaces the {@code .compact} file of {@code batchId} with {@code entries}, so that a reader sees either the old
     * list or the new one. How depends on the file system: on a local disk a POSIX rename over the old file (its Hadoop
     * checksum file is removed first, so that no reader can pair the new file with the old checksum); on HDFS a rename
     * with overwrite, one atomic NameNode operation; on S3 a single PUT of the whole object, which S3 makes visible
     * atomically (a rename there is a copy and a delete, and would leave a moment with no file).
     */
    public void replaceCompaction(long batchId, List<Entry> entries)
            throws IOException
    {
        Path target = compactionFile(batchId);
        if (!fileSystem.exists(target)) {
            throw new FileNotFoundException(target + " does not exist");
        }
        StringBuilder text = new StringBuilder(VERSION);
        for (Entry entry : entries) {
            text.append('\n').append(entry.json());
        }
        byte[] content = text.toString().getBytes(StandardCharsets.UTF_8);
        String scheme = fileSystem.getUri().getScheme();
        switch (scheme) {
            case "file" -> replaceLocal(target, content);
            case "hdfs" -> replaceByRename(target, content);
            case "s3a" -> {
                try (FSDataOutputStream output = fileSystem.create(target, true)) {
                    output.write(content);
                }
            }
            default -> throw new UnsupportedOperationException(unsupportedScheme(scheme));
        }
    }

    /** Why a table on this file system cannot be compacted; compaction checks it before it writes anything. */
    public static String unsupportedScheme(String scheme)
    {
        return "compaction supports tables on file:, hdfs: and s3a: only, where the log can be replaced atomically; this table is on " + scheme + ":";
    }

    public static boolean supportsScheme(String scheme)
    {
        return scheme.equals("file") || scheme.equals("hdfs") || scheme.equals("s3a");
    }

    private static void replaceLocal(Path target, byte[] content)
            throws IOException
    {
        java.nio.file.Path file = java.nio.file.Path.of(target.toUri().getPath());
        java.nio.file.Path temporary = file.resolveSibling("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(content));
            channel.force(true);
        }
        try {
            // Without a checksum file Hadoop reads the file unchecked; with the old one it would fail on the new file.
            Files.deleteIfExists(file.resolveSibling("." + file.getFileName() + ".crc"));
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        finally {
            Files.deleteIfExists(temporary);
        }
    }

    private void replaceByRename(Path target, byte[] content)
            throws IOException
    {
        Path temporary = new Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
        try (FSDataOutputStream output = fileSystem.create(temporary, false)) {
            output.write(content);
            output.hsync();
        }
        try {
            FileContext.getFileContext(fileSystem.getUri(), configuration).rename(temporary, target, Options.Rename.OVERWRITE);
        }
        catch (IOException | RuntimeException e) {
            fileSystem.delete(temporary, false);
            throw e;
        }
    }
}
