package io.sensorpipeline.job.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager$;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Kafka topic IDs that the ingest query read, kept in its checkpoint directory ({@code topic-ids}, a JSON object
 * of topic name to ID; Spark leaves files it does not know alone). A topic deleted and created again keeps its name
 * and gets a new ID, and its offsets then number other records. Spark's checkpoint holds only names and offsets: it
 * would resume the new topic at the old topic's offsets, skipping the records before them without a word when the new
 * topic holds more (and with {@code fail-on-data-loss}, stopping with a data-loss error when it holds fewer).
 */
public final class TopicIds
{
    public static final String FILE = "topic-ids";

    private static final ObjectMapper JSON = new ObjectMapper();

    private TopicIds() {}

    /** The IDs recorded in the checkpoint; empty when there are none. */
    public static Map<String, String> read(FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        Path file = new Path(checkpoint, FILE);
        if (!fileSystem.exists(file)) {
            return Map.of();
        }
        Map<String, String> ids;
        try (InputStream in = fileSystem.open(file)) {
            ids = JSON.readValue(in, new TypeReference<Map<String, String>>() {});
        }
        catch (JsonProcessingException | ChecksumException e) {
            // Written atomically, so only a file changed by hand gets here.
            throw damaged(file, e instanceof JsonProcessingException json ? json.getOriginalMessage() : e.getMessage(), e);
        }
        if (ids == null) {
            throw damaged(file, "null", null);
        }
        return new TreeMap<>(ids);
    }

    private static IOException damaged(Path file, String reason, Exception cause)
    {
        return new IOException("cannot read " + file + " (" + reason + "): delete it, and the job records the topics' IDs again when it starts "
                + "(though it cannot tell then whether a topic was created again before)", cause);
    }

    /** Records the IDs in the checkpoint, atomically (as Spark writes its own checkpoint files). */
    public static void write(Configuration hadoop, Path checkpoint, Map<String, String> ids)
            throws IOException
    {
        CheckpointFileManager files = CheckpointFileManager$.MODULE$.create(checkpoint, hadoop);
        files.mkdirs(checkpoint);
        CheckpointFileManager.CancellableFSDataOutputStream out = files.createAtomic(new Path(checkpoint, FILE), true);
        try {
            out.write(JSON.writeValueAsString(new TreeMap<>(ids)).getBytes(StandardCharsets.UTF_8));
            out.close();
        }
        catch (IOException | RuntimeException e) {
            out.cancel();
            throw e;
        }
    }

    /**
     * A phrase for each topic whose ID is not the recorded one, such as {@code sensor-readings (topic ID 4Jx… when the
     * job read it, now q7Z…)}; empty when every topic that both know has its recorded ID.
     */
    public static List<String> changed(Map<String, String> recorded, Map<String, String> current)
    {
        List<String> changed = new ArrayList<>();
        new TreeMap<>(current).forEach((topic, id) -> {
            String before = recorded.get(topic);
            if (before != null && !before.equals(id)) {
                changed.add(topic + " (topic ID " + before + " when the job read it, now " + id + ")");
            }
        });
        return changed;
    }

    /**
     * What {@link #changed} found, as the start of a sentence: {@code the topic a (…) was deleted and created again since
     * the job read it}, or {@code the topics a (…), b (…) were … read them}.
     *
     * @param reader what read the topics, such as {@code the job}
     */
    public static String createdAgain(List<String> changed, String reader)
    {
        boolean one = changed.size() == 1;
        return (one ? "the topic " : "the topics ") + String.join(", ", changed) + (one ? " was" : " were") + " deleted and created again since "
                + reader + " read " + (one ? "it" : "them");
    }
}
