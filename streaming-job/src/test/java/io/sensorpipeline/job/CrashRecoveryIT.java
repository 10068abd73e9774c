package io.sensorpipeline.job;

import io.sensorpipeline.localstack.KafkaBrokerExtension;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job in its own JVM, with a processing-time trigger, is killed with SIGKILL twice while readings flow, and
 * restarted each time; afterwards every table is complete, with no row twice and none missing.
 */
class CrashRecoveryIT
{
    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1));

    @TempDir
    static Path directory;


    @Test
    void killedTwiceMidStreamEveryTableIsCompleteAndExact()
            throws Exception
    {
        Process producer = TestProcesses.startProducer(directory, kafka.bootstrapServers(), "--rate", "3000", "--duration", "40s",
                "--malformed-ratio", "0.02", "--duplicate-ratio", "0.01", "--late-ratio", "0.01");
        for (int kill = 1; kill <= 2; kill++) {
            Process job = startJob("--trigger", "1s");
            // Let it commit a few batches, then kill it in the middle of whatever it is doing.
            waitForCommits(3 * kill, Duration.ofMinutes(2));
            Thread.sleep(1_500);
            job.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        assertThat(producer.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(producer.exitValue()).isZero();
        // Restarted after the second kill: drain the topic and close what is due, then stop.
        Process drain = startJob("--trigger", "available-now");
        assertThat(drain.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(drain.exitValue()).as(Files.readString(directory.resolve("job.log"))).isZero();

        SparkSession spark = SparkTestSession.get();
        JobSettings settings = settings();
        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.addsUp()).isTrue();
        assertThat(accounting.records()).isEqualTo(TestProcesses.summary(directory).get("eventsSent").asLong());
        assertThat(accounting.deadLetters()).isPositive();
        // Dead letters: no Kafka record twice. Aggregates and alerts: no window or alert twice.
        assertNoDuplicates(spark.read().parquet(settings.tablePath("dead_letters")), "partition", "offset");
        assertNoDuplicates(spark.read().parquet(settings.tablePath("sensor_aggregates")), "sensorId", "window_start");
        assertNoDuplicates(spark.read().parquet(settings.tablePath("site_aggregates")), "siteId", "type", "window_start");
        assertNoDuplicates(spark.read().parquet(settings.tablePath("alerts")), "alertId");
    }

    private static void assertNoDuplicates(Dataset<Row> table, String... key)
    {
        long rows = table.count();
        assertThat(rows).isPositive();
        assertThat(table.dropDuplicates(key).count()).as("rows with the same " + Arrays.toString(key)).isEqualTo(rows);
    }

    private static Process startJob(String... flags)
            throws IOException
    {
        List<String> arguments = new ArrayList<>(arguments());
        arguments.addAll(List.of("--metrics-port", "0"));
        arguments.addAll(List.of(flags));
        return TestProcesses.startJob(directory, List.of("-Dspark.ui.enabled=false"), arguments);
    }

    private static void waitForCommits(int commits, Duration timeout)
            throws InterruptedException, IOException
    {
        Path log = directory.resolve("checkpoints").resolve("ingest").resolve("commits");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.isDirectory(log) || Files.list(log).filter(file -> !file.getFileName().toString().startsWith(".")).count() < commits) {
            assertThat(System.nanoTime()).as("the job commits %d batches in time; log: %s", commits, directory.resolve("job.log")).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static List<String> arguments()
    {
        return List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(), "--lake-root", directory.resolve("lake").toString(),
                "--checkpoint-root", directory.resolve("checkpoints").toString(), "--sensors-file", "../data/sensors.csv", "--shuffle-partitions", "2");
    }

    private static JobSettings settings()
    {
        return JobSettings.load(arguments(), Map.of());
    }

}
