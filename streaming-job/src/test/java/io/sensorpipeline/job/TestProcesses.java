package io.sensorpipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sensorpipeline.job.io.Checkpoint;
import io.sensorpipeline.localstack.KafkaBrokerExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The JVMs the integration tests start: the producer jar, and Spark with the flags it needs on Java 17. */
final class TestProcesses
{
    private static final Path PRODUCER_JAR = Path.of("..", "producer", "target", "producer.jar");

    /**
     * C1 only ({@link KafkaBrokerExtension#SHORT_LIVED_JVM}). Measured here (an available-now job over an empty topic):
     * 20 s and 36 CPU-seconds with both compilers, 17 s and 21 CPU-seconds with C1 alone; over 500,000 records both
     * took 58 s.
     */
    static final String SHORT_LIVED_JVM = KafkaBrokerExtension.SHORT_LIVED_JVM;

    private TestProcesses() {}

    static String java()
    {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The --add-opens flags of the parent pom, as the build filtered them into the job's resources. */
    static List<String> sparkJvmFlags()
            throws IOException
    {
        return Arrays.asList(Files.readString(Path.of("target", "classes", "io", "sensorpipeline", "job", "spark-jvm-flags.txt")).trim().split("\\s+"));
    }

    /**
     * Starts the streaming job's main in its own JVM (local[2], driver on 127.0.0.1), appending its output to job.log
     * in the directory.
     */
    static Process startJob(Path directory, List<String> jvmFlags, List<String> arguments)
            throws IOException
    {
        List<String> command = new ArrayList<>();
        command.add(java());
        command.addAll(sparkJvmFlags());
        command.addAll(List.of(SHORT_LIVED_JVM, "-Xmx1g", "-Dspark.master=local[2]", "-Dspark.driver.bindAddress=127.0.0.1", "-Dspark.driver.host=127.0.0.1"));
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), StreamingJob.class.getName()));
        command.addAll(arguments);
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(directory.resolve("job.log").toFile()))
                .start();
    }

    /** Starts the producer on topic sensor-readings; its summary goes to producer.out in the directory. */
    static Process startProducer(Path directory, String bootstrapServers, String... flags)
            throws IOException
    {
        assertThat(PRODUCER_JAR).as("the producer is built before the streaming job").exists();
        List<String> command = new ArrayList<>(List.of(java(), SHORT_LIVED_JVM, "-Xmx256m", "-jar", PRODUCER_JAR.toString(),
                "--bootstrap-servers", bootstrapServers, "--topic", "sensor-readings", "--metrics-port", "0"));
        command.addAll(List.of(flags));
        return new ProcessBuilder(command)
                .redirectOutput(directory.resolve("producer.out").toFile())
                .redirectError(directory.resolve("producer.err").toFile())
                .start();
    }

    /** Runs the producer to the end and returns its summary. */
    static JsonNode produce(Path directory, String bootstrapServers, String... flags)
            throws IOException, InterruptedException
    {
        Process producer = startProducer(directory, bootstrapServers, flags);
        assertThat(producer.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(producer.exitValue()).as(Files.readString(directory.resolve("producer.err"))).isZero();
        return summary(directory);
    }

    /** How many batches the job's ingest query has committed under the checkpoint root (any Hadoop URI). */
    static int ingestCommits(String checkpointRoot)
            throws IOException
    {
        // Batch ids start at 0 and have no gaps.
        org.apache.hadoop.fs.Path checkpoint = new org.apache.hadoop.fs.Path(checkpointRoot, IngestQuery.NAME);
        return (int) Checkpoint.lastCommit(checkpoint.getFileSystem(SparkTestSession.get().sparkContext().hadoopConfiguration()), checkpoint).orElse(-1) + 1;
    }

    /**
     * Waits until the job's ingest query has committed {@code commits} batches under the checkpoint root: once it has
     * committed one, Spark is up and the job's code compiled. Fails early if the job has ended, naming its log.
     */
    static void awaitIngestCommits(Process job, Path directory, String checkpointRoot, int commits, Duration timeout)
            throws IOException, InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ingestCommits(checkpointRoot) < commits) {
            assertThat(job.isAlive()).as("the job runs (log %s)", directory.resolve("job.log")).isTrue();
            assertThat(System.nanoTime()).as("the job commits %d batches within %s (log %s)", commits, timeout, directory.resolve("job.log"))
                    .isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /** The summary a finished producer printed. */
    static JsonNode summary(Path directory)
            throws IOException
    {
        return new ObjectMapper().readTree(Files.readString(directory.resolve("producer.out")));
    }
}
