package io.sensorpipeline.job;

import io.sensorpipeline.job.io.Checkpoint;
import io.sensorpipeline.job.io.TopicIds;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Refuses to start a query whose checkpoint and tables disagree. A table's {@code _spark_metadata} log numbers batches
 * by the checkpoint that wrote it: a table without its checkpoint would make a fresh query skip every batch id the
 * table already holds (silently losing data), and a checkpoint without its table would resume mid-stream (the
 * table's earlier batches are gone). Also refuses to resume the ingest query from a checkpoint of a topic that has
 * since been deleted and created again ({@link #checkTopicIds}). {@code --reset} deletes both, so the query starts
 * again from the topic.
 */
public final class StartupGuard
{
    private final Configuration hadoop;

    public StartupGuard(Configuration hadoop)
    {
        this.hadoop = requireNonNull(hadoop, "hadoop is null");
    }

    /** Throws {@link IllegalStateException} with an explanation when a table and its query's checkpoint disagree. */
    public void check(String query, String checkpoint, List<String> tablePaths)
    {
        // A crash can leave a batch in the tables whose commit the checkpoint never wrote; its planned offsets are
        // there, and the re-run is safe. Only a checkpoint without any planned batch has lost the tables' numbering.
        boolean hasCheckpoint = hasEntries(checkpoint + "/offsets");
        boolean hasCommits = hasEntries(checkpoint + "/commits");
        List<String> withLog = new ArrayList<>();
        List<String> withoutLog = new ArrayList<>();
        for (String table : tablePaths) {
            (hasEntries(table + "/_spark_metadata") ? withLog : withoutLog).add(table);
        }
        if (!hasCheckpoint && !withLog.isEmpty()) {
            throw new IllegalStateException("Refusing to start query '" + query + "': the tables " + withLog + " hold committed batches but "
                    + "the checkpoint " + checkpoint + " is missing. A new checkpoint numbers batches from 0 again, and the tables would "
                    + "silently skip every batch id they already hold. Restore the checkpoint, or start over from the topic with --reset "
                    + "(deletes the tables and the checkpoint).");
        }
        // Every table of a query commits every batch id (TableSink), so a committed batch is in each table's log.
        if (hasCommits && !withoutLog.isEmpty()) {
            throw new IllegalStateException("Refusing to start query '" + query + "': the checkpoint " + checkpoint + " has committed "
                    + "batches but the tables " + withoutLog + " have no _spark_metadata log. Resuming would write only new batches into "
                    + "them and the earlier rows would be missing. Restore the tables, or start over with --reset.");
        }
    }

    /**
     * Throws {@link IllegalStateException} when the query's checkpoint read a topic that has since been deleted and
     * created again (see {@link TopicIds}); otherwise records the IDs of the topics it reads, for the next start and for
     * verify. Until the query has begun to read (Spark's start offsets or a planned batch in the checkpoint), the IDs
     * of this start replace any recorded ones; afterwards, those of topics taken out of the setting are dropped.
     *
     * @param current the readings topics' IDs as the brokers give them now
     * @return what to say when the query has read before without IDs recorded (a checkpoint from before they were, or
     *         starts whose brokers could not be asked): those are recorded now, unchecked
     */
    public Optional<String> checkTopicIds(String query, String checkpoint, Map<String, String> current)
    {
        Path location = new Path(checkpoint);
        try {
            FileSystem fileSystem = location.getFileSystem(hadoop);
            boolean read = hasEntries(checkpoint + "/offsets") || Checkpoint.hasKafkaStartOffsets(fileSystem, location);
            Map<String, String> recorded = read ? TopicIds.read(fileSystem, location) : Map.of();
            List<String> changed = TopicIds.changed(recorded, current);
            if (!changed.isEmpty()) {
                throw new IllegalStateException("Refusing to start query '" + query + "': " + TopicIds.createdAgain(changed, "the checkpoint " + checkpoint)
                        + ". The checkpoint's offsets now number other records: resuming would skip the new records up to them. Start over from the "
                        + "topic with --reset (deletes the tables and the checkpoint), or give the job a new --checkpoint-root and --lake-root.");
            }
            // The topics of the setting alone: Spark reads a topic taken out of it and put back as a new one, from its
            // first offset.
            Map<String, String> ids = new TreeMap<>(current);
            if (ids.equals(recorded)) {
                return Optional.empty();
            }
            TopicIds.write(hadoop, location, ids);
            return read && recorded.isEmpty()
                    ? Optional.of("the checkpoint " + checkpoint + " has read the topics before without their IDs recorded: they are recorded now, "
                            + "and a topic deleted and created again before this start goes unnoticed")
                    : Optional.empty();
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot check the topic IDs recorded in " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    /**
     * Creates a table's empty {@code _spark_metadata} log before any reader starts: a file-stream reader that finds data
     * files but no log decides, for good, to list the directory, and would then read files of uncommitted batches.
     */
    public void prepareLog(String tablePath)
    {
        try {
            Path log = new Path(tablePath + "/_spark_metadata");
            log.getFileSystem(hadoop).mkdirs(log);
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot create " + tablePath + "/_spark_metadata: " + e.getMessage(), e);
        }
    }

    /** Deletes a query's checkpoint and tables, for {@code --reset}. */
    public void reset(String checkpoint, List<String> tablePaths)
    {
        delete(checkpoint);
        tablePaths.forEach(this::delete);
    }

    /** Whether a directory exists and holds at least one batch file (an empty log or commit directory commits nothing). */
    private boolean hasEntries(String location)
    {
        try {
            Path path = new Path(location);
            FileSystem fileSystem = path.getFileSystem(hadoop);
            return fileSystem.exists(path) && fileSystem.listStatus(path, child -> !child.getName().startsWith(".")).length > 0;
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot check " + location + ": " + e.getMessage(), e);
        }
    }

    private void delete(String location)
    {
        try {
            Path path = new Path(location);
            FileSystem fileSystem = path.getFileSystem(hadoop);
            if (fileSystem.exists(path)) {
                fileSystem.delete(path, true);
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + location + ": " + e.getMessage(), e);
        }
    }
}
