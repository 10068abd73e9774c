package io.sensorpipeline.job;

import io.sensorpipeline.localstack.KafkaBrokerExtension;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * streaming-job.jar under spark-submit's own entry point, with nothing but Spark's jars beside it: what a cluster has.
 * The Kafka connector, its client and our code must all come from the shaded jar.
 */
class SparkSubmitIT
{
    // What the shaded jar carries; on the classpath beside it they would hide a broken jar.
    private static final List<String> SHADED = List.of("spark-sql-kafka", "spark-token-provider-kafka", "kafka-clients", "commons-pool2",
            "/common/", "common-0.1.0");

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1));

    @TempDir
    static Path directory;


    @Test
    void theShadedJarRunsUnderSparkSubmit()
            throws Exception
    {
        TestProcesses.produce(directory, kafka.bootstrapServers(), "--rate", "0", "--count", "5000", "--malformed-ratio", "0.02");

        List<String> command = new ArrayList<>();
        command.add(TestProcesses.java());
        command.addAll(TestProcesses.sparkJvmFlags());
        command.addAll(List.of(TestProcesses.SHORT_LIVED_JVM, "-Xmx1g", "-cp", sparkOnlyClasspath(), "org.apache.spark.deploy.SparkSubmit",
                "--master", "local[2]",
                "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
                "--class", StreamingJob.class.getName(),
                Path.of("target", "streaming-job.jar").toString()));
        command.addAll(arguments());
        command.addAll(List.of("--metrics-port", "0"));
        command.addAll(List.of("--trigger", "available-now"));
        Process submit = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(directory.resolve("submit.log").toFile()).start();
        assertThat(submit.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(submit.exitValue()).as(tail(directory.resolve("submit.log"))).isZero();

        SparkSession spark = SparkTestSession.get();
        Verify.Accounting accounting = new Verify(spark, JobSettings.load(arguments(), Map.of())).run(System.out);
        assertThat(accounting.records()).isEqualTo(5000);
        assertThat(accounting.addsUp()).isTrue();
        assertThat(accounting.countedByJob()).as("the drops the job counted under spark-submit").isTrue();
        assertThat(accounting.processedRows()).isPositive();
    }

    private static String sparkOnlyClasspath()
            throws IOException
    {
        return Stream.of(Files.readString(Path.of("target", "spark.classpath")).trim(), Files.readString(Path.of("target", "runtime.classpath")).trim())
                .flatMap(classpath -> Arrays.stream(classpath.split(":")))
                .filter(entry -> !entry.isBlank())
                .filter(entry -> SHADED.stream().noneMatch(entry::contains))
                .distinct()
                .collect(Collectors.joining(":"));
    }

    private static List<String> arguments()
    {
        return List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(), "--lake-root", directory.resolve("lake").toString(),
                "--checkpoint-root", directory.resolve("checkpoints").toString(), "--sensors-file", Path.of("..", "data", "sensors.csv").toAbsolutePath().toString());
    }

    private static String tail(Path log)
            throws IOException
    {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

}
