package io.sensorpipeline.job;

import io.sensorpipeline.job.io.TopicIds;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatNoException;

class StartupGuardTest
{
    @TempDir
    Path directory;

    private final StartupGuard guard = new StartupGuard(new Configuration());

    @Test
    void aFreshStartAndAConsistentRestartPass()
            throws IOException
    {
        assertThatNoException().isThrownBy(() -> guard.check("ingest", checkpoint(), List.of(table())));
        batch(checkpoint() + "/offsets", "0");
        batch(checkpoint() + "/commits", "0");
        batch(table() + "/_spark_metadata", "0");
        assertThatNoException().isThrownBy(() -> guard.check("ingest", checkpoint(), List.of(table())));
    }

    @Test
    void aBatchInTheTableThatTheCheckpointPlannedButNeverCommittedIsSafe()
            throws IOException
    {
        batch(checkpoint() + "/offsets", "0");
        batch(table() + "/_spark_metadata", "0");
        assertThatNoException().isThrownBy(() -> guard.check("ingest", checkpoint(), List.of(table())));
    }

    @Test
    void aTableWithoutItsCheckpointIsRefused()
            throws IOException
    {
        batch(table() + "/_spark_metadata", "0");
        assertThatThrownBy(() -> guard.check("ingest", checkpoint(), List.of(table())))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("Refusing to start query 'ingest': the tables [" + table() + "] hold committed batches but the checkpoint "
                        + checkpoint() + " is missing.")
                .hasMessageContaining("--reset");
    }

    @Test
    void aCheckpointWithCommittedBatchesIsRefusedWhenAnyOfItsTablesHasNoLog()
            throws IOException
    {
        batch(checkpoint() + "/offsets", "0");
        batch(checkpoint() + "/commits", "0");
        batch(table() + "/_spark_metadata", "0");
        String gone = directory.resolve("lake/dead_letters").toString();
        // An empty log directory, as the job prepares for tables other queries read, commits nothing.
        String emptyLog = directory.resolve("lake/sensor_aggregates").toString();
        Files.createDirectories(Path.of(emptyLog, "_spark_metadata"));

        // One table of two, the query's only table (a deleted or moved lake), and every table.
        assertThatThrownBy(() -> guard.check("ingest", checkpoint(), List.of(table(), gone)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the tables [" + gone + "] have no _spark_metadata log");
        assertThatThrownBy(() -> guard.check("sensor_aggregates", checkpoint(), List.of(gone)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("Refusing to start query 'sensor_aggregates': the checkpoint " + checkpoint() + " has committed batches "
                        + "but the tables [" + gone + "] have no _spark_metadata log.")
                .hasMessageContaining("--reset");
        assertThatThrownBy(() -> guard.check("ingest", checkpoint(), List.of(emptyLog, gone)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the tables [" + emptyLog + ", " + gone + "] have no _spark_metadata log");
    }

    @Test
    void aFirstBatchThatCrashedBeforeEveryTableWroteItIsSafe()
            throws IOException
    {
        String other = directory.resolve("lake/dead_letters").toString();
        batch(checkpoint() + "/offsets", "0");
        batch(table() + "/_spark_metadata", "0");
        assertThatNoException().isThrownBy(() -> guard.check("ingest", checkpoint(), List.of(table(), other)));
    }

    @Test
    void resetDeletesCheckpointAndTables()
            throws IOException
    {
        batch(table() + "/_spark_metadata", "0");
        batch(checkpoint() + "/offsets", "0");
        guard.reset(checkpoint(), List.of(table()));
        assertThat(Path.of(table())).doesNotExist();
        assertThat(Path.of(checkpoint())).doesNotExist();
        assertThatNoException().isThrownBy(() -> guard.check("ingest", checkpoint(), List.of(table())));
    }

    @Test
    void aTopicCreatedAgainSinceTheCheckpointReadItIsRefused()
            throws IOException
    {
        // The first start records the IDs; before the query has planned a batch, another start replaces them.
        guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-1"));
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-1\"}");
        guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2"));
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-2\"}");

        // Once it has, the same IDs pass, a topic added to the setting is recorded, and another ID is refused.
        batch(checkpoint() + "/offsets", "0");
        guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2"));
        guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2", "more-readings", "id-3"));
        assertThat(recordedIds()).isEqualTo("{\"more-readings\":\"id-3\",\"readings\":\"id-2\"}");
        assertThatThrownBy(() -> guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-4", "more-readings", "id-3")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Refusing to start query 'ingest': the topic readings (topic ID id-2 when the job read it, now id-4) was deleted and created "
                        + "again since the checkpoint " + checkpoint() + " read it. Its offsets now number other records: resuming would skip the new "
                        + "topic's records up to the offsets the checkpoint holds, or stop when it holds fewer. Start over from the topic with --reset "
                        + "(deletes the tables and the checkpoint), or give the job a new --checkpoint-root and --lake-root.");
        assertThat(recordedIds()).isEqualTo("{\"more-readings\":\"id-3\",\"readings\":\"id-2\"}");

        // A file cut short (a job stopped while it wrote it) counts as none, and is written again.
        Files.writeString(Path.of(checkpoint(), TopicIds.FILE), "{\"readings\":\"id-");
        guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-4"));
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-4\"}");
    }

    private String recordedIds()
            throws IOException
    {
        return Files.readString(Path.of(checkpoint(), TopicIds.FILE));
    }

    private String checkpoint()
    {
        return directory.resolve("checkpoints/ingest").toString();
    }

    private String table()
    {
        return directory.resolve("lake/processed_data").toString();
    }

    private static void batch(String directory, String name)
            throws IOException
    {
        Files.createDirectories(Path.of(directory));
        Files.writeString(Path.of(directory, name), "v1\n");
    }
}
