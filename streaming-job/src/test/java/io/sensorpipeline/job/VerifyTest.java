package io.sensorpipeline.job;

import io.sensorpipeline.job.io.KafkaTopics.Range;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VerifyTest
{
    private static final TopicPartition FIRST = new TopicPartition("readings", 0);
    private static final TopicPartition SECOND = new TopicPartition("readings", 1);

    @Test
    void beforeTheJobStartedVerifyReadsEveryPartitionFromItsEarliestOffset()
    {
        assertThat(Verify.startingOffsets(Map.of(FIRST, new Range(0, 10), SECOND, new Range(12, 20)), Optional.empty()))
                .isEqualTo("{\"readings\":{\"0\":-2,\"1\":-2}}");
    }

    @Test
    void verifyReadsFromWhereTheJobBeganAndAPartitionAddedSinceFromZero()
    {
        assertThat(Verify.startingOffsets(Map.of(FIRST, new Range(0, 2_500), SECOND, new Range(0, 40)), Optional.of(Map.of(FIRST, 1_500L))))
                .isEqualTo("{\"readings\":{\"0\":1500,\"1\":0}}");
    }

    @Test
    void aPartitionThatLostRecordsTheJobReadCannotBeAccountedFor()
    {
        assertThatThrownBy(() -> Verify.startingOffsets(Map.of(FIRST, new Range(1_510, 2_500), SECOND, new Range(0, 40)),
                Optional.of(Map.of(FIRST, 1_500L, SECOND, 0L))))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessageContaining(": partition 0 of readings begins at offset 1,510; the job read it from 1,500.");
        // Added after the job began, so read by it from offset 0: records gone from it are missing too.
        assertThatThrownBy(() -> Verify.startingOffsets(Map.of(FIRST, new Range(1_500, 2_500), SECOND, new Range(5, 40)),
                Optional.of(Map.of(FIRST, 1_500L))))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessageContaining(": partition 1 of readings begins at offset 5; the job read it from 0.");
    }

    @Test
    void aTopicCreatedAgainEndsBeforeWhereTheJobBegan()
    {
        assertThatThrownBy(() -> Verify.startingOffsets(Map.of(FIRST, new Range(0, 0), SECOND, new Range(0, 0)),
                Optional.of(Map.of(FIRST, 1_500L, SECOND, 0L))))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessageContaining(": partition 0 of readings ends at offset 0, before 1,500 where the job began to read it (was the topic deleted"
                        + " and created again?).");
    }
}
