package io.sensorpipeline.job.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.ChecksumException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
 * topic holds more, and stop with a data-loss error when it holds fewer.
 */
public final class TopicIds
{
    public static final String FILE = "topic-ids";

    private static final ObjectMapper JSON = new ObjectMapper();

    private TopicIds() {}

    /**
     * The IDs recorded in the checkpoint; empty when there are none, or when the file is not whole (a job stopped while
     * it wrote it), in which case the next start records them again.
     */
    public static Map<String, String> read(FileSystem fileSystem, Path checkpoint)
            throws IOException
    {
        Path file = new Path(checkpoint, FILE);
        if (!fileSystem.exists(file)) {
            return Map.of();
        }
        try (InputStream in = fileSystem.open(file)) {
            return new TreeMap<>(JSON.readValue(in, new TypeReference<Map<String, String>>() {}));
        }
        catch (JsonProcessingException | ChecksumException e) {
            return Map.of();
        }
    }

    public static void write(FileSystem fileSystem, Path checkpoint, Map<String, String> ids)
            throws IOException
    {
        try (OutputStream out = fileSystem.create(new Path(checkpoint, FILE), true)) {
            out.write(JSON.writeValueAsString(new TreeMap<>(ids)).getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * A line for each topic whose ID is not the recorded one, such as {@code sensor-readings (topic ID 4Jx… when the job
     * read it, now q7Z…)}; empty when every topic that both know has its recorded ID.
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
}
