package io.sensorpipeline.job;

import io.sensorpipeline.job.io.KafkaTopics;
import io.sensorpipeline.job.io.TopicIds;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
        // The first start records the IDs; until the query has begun to read, another start replaces them.
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-1"))).isEmpty();
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-1\"}");
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2"))).isEmpty();
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-2\"}");

        // Spark's source directory alone (made before it asks the brokers where to begin) is not reading yet.
        Files.createDirectories(Path.of(checkpoint(), "sources", "0"));
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-1"))).isEmpty();
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-1\"}");
        guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2"));

        // Once Spark has written where it begins (before its first planned batch), the same IDs pass, a topic added to
        // the setting is recorded, and another ID is refused.
        batch(checkpoint() + "/sources/0", "0");
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2"))).isEmpty();
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2", "more-readings", "id-3"))).isEmpty();
        assertThat(recordedIds()).isEqualTo("{\"more-readings\":\"id-3\",\"readings\":\"id-2\"}");
        assertThatThrownBy(() -> guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-4", "more-readings", "id-3")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Refusing to start query 'ingest': the topic readings (topic ID id-2 when the job read it, now id-4) was deleted and created "
                        + "again since the checkpoint " + checkpoint() + " read it. The checkpoint's offsets now number other records: resuming would "
                        + "skip the new records up to them. Start over from the topic with --reset (deletes the tables and the checkpoint), or give "
                        + "the job a new --checkpoint-root and --lake-root.");
        assertThatThrownBy(() -> guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-4", "more-readings", "id-5")))
                .hasMessageStartingWith("Refusing to start query 'ingest': the topics more-readings (topic ID id-3 when the job read it, now id-5), "
                        + "readings (topic ID id-2 when the job read it, now id-4) were deleted and created again since the checkpoint " + checkpoint()
                        + " read them.");
        assertThat(recordedIds()).isEqualTo("{\"more-readings\":\"id-3\",\"readings\":\"id-2\"}");
        // A topic taken out of the setting is forgotten: Spark reads it from its start if it is put back.
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2"))).isEmpty();
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-2\"}");

        // A file that is not whole, or not a map (changed by hand: the job writes it atomically), stops the job rather
        // than be replaced.
        Files.deleteIfExists(Path.of(checkpoint(), "." + TopicIds.FILE + ".crc"));
        for (String damaged : new String[] {"{\"readings\":\"id-", "null"}) {
            Files.writeString(Path.of(checkpoint(), TopicIds.FILE), damaged);
            assertThatThrownBy(() -> guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-2")))
                    .isInstanceOf(java.io.UncheckedIOException.class)
                    .hasMessageStartingWith("cannot check the topic IDs recorded in " + checkpoint() + ": cannot read ")
                    .hasMessageEndingWith("delete it, and the job records the topics' IDs again when it starts (though it cannot tell then whether a "
                            + "topic was created again before)");
        }
    }

    @Test
    void aCheckpointThatReadTheTopicsBeforeTheirIdsWereRecordedRecordsThemWithANote()
            throws IOException
    {
        batch(checkpoint() + "/offsets", "0");
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-1")))
                .contains("the checkpoint " + checkpoint() + " has read the topics before without their IDs recorded: they are recorded now, and a "
                        + "topic deleted and created again before this start goes unnoticed");
        assertThat(recordedIds()).isEqualTo("{\"readings\":\"id-1\"}");
        assertThat(guard.checkTopicIds("ingest", checkpoint(), Map.of("readings", "id-1"))).isEmpty();
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

    @Test
    void theJobSaysWhenTopicIdsAreNotCheckedAndWhichTopicsHaveNone()
    {
        // The brokers did not answer: no check, and one line that says so.
        List<Map<String, String>> asked = new ArrayList<>();
        KafkaTopics.Checked unanswered = new KafkaTopics.Checked(List.of("the brokers at 127.0.0.1:1 did not answer"), Map.of());
        assertThat(StreamingJob.topicIdNotes(List.of("a"), unanswered, ids -> {
            asked.add(ids);
            return Optional.empty();
        })).containsExactly("the topics' IDs are not checked either: a topic deleted and created again since the checkpoint read it goes unnoticed");
        assertThat(asked).isEmpty();

        // They answered: the guard checks the IDs they gave, its note comes first, then each topic without an ID.
        KafkaTopics.Checked answered = new KafkaTopics.Checked(List.of(), Map.of("a", "id-a"));
        assertThat(StreamingJob.topicIdNotes(List.of("a", "b"), answered, ids -> {
            asked.add(ids);
            return Optional.of("the guard's note");
        })).containsExactly("the guard's note",
                "the brokers give no ID for the topic b (Kafka before 2.8?), so a topic deleted and created again goes unnoticed");
        assertThat(asked).containsExactly(Map.of("a", "id-a"));
        assertThat(StreamingJob.topicIdNotes(List.of("a"), answered, ids -> Optional.empty())).isEmpty();
    }
}
