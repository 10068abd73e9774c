package io.sensorpipeline.job;

import io.sensorpipeline.localstack.KafkaBrokerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

/** {@link CrashRecoveryScenario} with the lake and the checkpoints on local disk. */
class CrashRecoveryIT
        extends CrashRecoveryScenario
{
    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1));

    // Kept when a test fails: the job's and the producer's logs are in it.
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path directory;

    @Override
    Path directory()
    {
        return directory;
    }

    @Override
    String bootstrapServers()
    {
        return kafka.bootstrapServers();
    }

    @Override
    String lakeRoot()
    {
        return directory.resolve("lake").toString();
    }

    @Override
    String checkpointRoot()
    {
        return directory.resolve("checkpoints").toString();
    }
}
