package io.sensorpipeline.job;

import io.sensorpipeline.common.settings.Setting;
import io.sensorpipeline.common.settings.SettingsException;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobSettingsTest
{
    @Test
    void defaults()
    {
        assertThat(JobSettings.load(List.of(), Map.of())).isEqualTo(new JobSettings("127.0.0.1:9092", "sensor-readings", "earliest",
                Optional.of(500_000L), true, "output/lake", "output/checkpoints", Optional.of(Duration.ofSeconds(10)), Duration.ofSeconds(10), Duration.ofMinutes(2),
                Duration.ofMinutes(1), Duration.ofMinutes(5), "data/sensors.csv", Duration.ofMinutes(1), 20, "sensor-alerts", 2,
                "io.sensorpipeline.job.io.InPlaceStateStoreProvider", false, "127.0.0.1", Optional.of(9401),
                Map.of("kafka.bootstrap.servers", "127.0.0.1:9092"), Map.of()));
    }

    @Test
    void everyKeyMapsToItsField()
    {
        JobSettings settings = JobSettings.load(List.of(
                "--kafka.bootstrap.servers", "broker:9093",
                "--topic", "readings",
                "--starting-offsets", "latest",
                "--max-offsets-per-trigger", "50000",
                "--fail-on-data-loss", "false",
                "--lake-root", "s3a://lake/",
                "--checkpoint-root", "hdfs://nn:9000/checkpoints",
                "--trigger", "available-now",
                "--aggregates-trigger", "1m",
                "--watermark", "30s",
                "--sensor-window", "2m",
                "--site-window", "10m",
                "--sensors-file", "hdfs://nn:9000/meta/sensors.csv",
                "--future-tolerance", "15s",
                "--stuck-readings", "50",
                "--alerts-topic", "alerts",
                "--shuffle-partitions", "8",
                "--state-store", "rocksdb",
                "--reset",
                "--metrics-host", "0.0.0.0",
                "--metrics-port", "off",
                "--set", "kafka.security.protocol=SASL_SSL",
                "--spark.hadoop.dfs.replication", "1"), Map.of());
        assertThat(settings).isEqualTo(new JobSettings("broker:9093", "readings", "latest", Optional.of(50_000L), false, "s3a://lake/",
                "hdfs://nn:9000/checkpoints", Optional.empty(), Duration.ofMinutes(1), Duration.ofSeconds(30), Duration.ofMinutes(2), Duration.ofMinutes(10),
                "hdfs://nn:9000/meta/sensors.csv", Duration.ofSeconds(15), 50, "alerts", 8,
                "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider", true, "0.0.0.0", Optional.empty(),
                Map.of("kafka.bootstrap.servers", "broker:9093", "kafka.security.protocol", "SASL_SSL"),
                Map.of("spark.hadoop.dfs.replication", "1")));
        assertThat(settings.tablePath("processed_data")).isEqualTo("s3a://lake/processed_data");
        assertThat(settings.checkpointPath("dead_letters")).isEqualTo("hdfs://nn:9000/checkpoints/dead_letters");
    }

    @Test
    void everySessionReadsLogFilesThroughTheReopeningManagerUnlessTheUserChoseAnother()
    {
        String key = "spark.sql.streaming.checkpointFileManagerClass";
        assertThat(JobSettings.load(List.of(), Map.of()).sparkConf("verify").get(key))
                .isEqualTo("io.sensorpipeline.job.io.ReopeningCheckpointFileManager");
        assertThat(JobSettings.load(List.of("--" + key, "com.example.Manager"), Map.of()).sparkConf("verify").get(key))
                .isEqualTo("com.example.Manager");
    }

    @Test
    void localSessionsWriteLocalFilesWithoutAProcessPerFileUnlessTheUserChoseAnotherFileSystem()
    {
        String key = JobSettings.LOCAL_FILE_SYSTEM_KEY;
        assertThat(JobSettings.load(List.of("--spark.master", "local[2]"), Map.of()).sparkConf("stream").get(key))
                .isEqualTo("io.sensorpipeline.job.io.JavaLocalFileSystem");
        assertThat(JobSettings.load(List.of("--spark.master", "yarn"), Map.of()).sparkConf("stream").contains(key)).isFalse();
        assertThat(JobSettings.load(List.of("--spark.master", "local[2]", "--" + key, "org.apache.hadoop.fs.LocalFileSystem"), Map.of()).sparkConf("stream").get(key))
                .isEqualTo("org.apache.hadoop.fs.LocalFileSystem");
    }

    @Test
    void everySessionRunsInUtcWhateverSparkSubmitSaid()
    {
        String key = "spark.sql.session.timeZone";
        assertThat(JobSettings.load(List.of("--" + key, "UTC"), Map.of()).sparkConf("verify").get(key)).isEqualTo("UTC");
        // spark-submit's --conf reaches the driver as a system property; it is replaced, with a line on stderr.
        String before = System.getProperty(key);
        System.setProperty(key, "America/New_York");
        try {
            assertThat(JobSettings.load(List.of(), Map.of()).sparkConf("verify").get(key)).isEqualTo("UTC");
        }
        finally {
            if (before == null) {
                System.clearProperty(key);
            }
            else {
                System.setProperty(key, before);
            }
        }
    }

    @Test
    void aSparkSettingTheSparkConfigurationAlsoSetsIsNamedWithBothValues()
    {
        JobSettings settings = JobSettings.load(List.of("--spark.hadoop.fs.s3a.endpoint", "http://ours:9000", "--spark.hadoop.dfs.replication", "1",
                "--spark.executor.memory", "2g"), Map.of());
        SparkConf conf = new SparkConf(false)
                .set("spark.hadoop.fs.s3a.endpoint", "http://cluster:9000")
                .set("spark.executor.memory", "2g");
        assertThat(settings.overriddenBy(conf)).containsExactly("spark.hadoop.fs.s3a.endpoint=http://ours:9000 from the settings is not used: the Spark"
                + " configuration (spark-submit --conf, spark-defaults.conf, -D) has spark.hadoop.fs.s3a.endpoint=http://cluster:9000");
        settings.applyTo(conf);
        assertThat(conf.get("spark.hadoop.fs.s3a.endpoint")).isEqualTo("http://cluster:9000");
        assertThat(conf.get("spark.hadoop.dfs.replication")).isEqualTo("1");
    }

    @Test
    void aSettingWhoseDeprecatedNameTheSparkConfigurationSetsIsUsedWithoutANote()
    {
        // Spark reads spark.yarn.executor.memoryOverhead as spark.executor.memoryOverhead when the new name is not set.
        JobSettings settings = JobSettings.load(List.of("--spark.executor.memoryOverhead", "2g"), Map.of());
        SparkConf conf = new SparkConf(false).set("spark.yarn.executor.memoryOverhead", "1g");
        assertThat(settings.overriddenBy(conf)).isEmpty();
        settings.applyTo(conf);
        assertThat(conf.get("spark.executor.memoryOverhead")).isEqualTo("2g");
    }

    @Test
    void theJobSaysWhenItReplacesAnotherNumberOfShufflePartitions()
    {
        JobSettings settings = JobSettings.load(List.of("--shuffle-partitions", "4", "--spark.sql.shuffle.partitions", "8"), Map.of());
        assertThat(StreamingJob.replacedShufflePartitions(settings.sparkConf("stream"), "4"))
                .contains("spark.sql.shuffle.partitions=8 is replaced by shuffle-partitions=4, the job's setting for it");
        assertThat(StreamingJob.replacedShufflePartitions(JobSettings.load(List.of("--spark.sql.shuffle.partitions", "4"), Map.of()).sparkConf("stream"), "4"))
                .isEmpty();
        assertThat(StreamingJob.replacedShufflePartitions(JobSettings.load(List.of(), Map.of()).sparkConf("stream"), "2")).isEmpty();
    }

    @Test
    void theReadingsTopicsAreReadAsSparksSubscribeReadsThem()
    {
        assertThat(JobSettings.load(List.of("--topic", " a,,b ,"), Map.of()).topics()).containsExactly("a", "b");
        assertThat(JobSettings.load(List.of(), Map.of()).topics()).containsExactly("sensor-readings");
    }

    @Test
    void badValuesNameKeyValueAndSource()
    {
        assertThatThrownBy(() -> JobSettings.load(List.of("--trigger", "often"), Map.of()))
                .isInstanceOf(SettingsException.class)
                .hasMessage("invalid setting trigger='often' (from --trigger): expected a duration such as 500ms, 30s, 5m or 2h");
        assertThatThrownBy(() -> JobSettings.load(List.of("--topic", " , "), Map.of()))
                .hasMessage("invalid setting topic=',' (from --topic): expected a topic name, or a comma-separated list of them");
        assertThatThrownBy(() -> JobSettings.load(List.of("--state-store", "memory"), Map.of()))
                .hasMessage("invalid setting state-store='memory' (from --state-store): expected in-place, default or rocksdb");
        assertThatThrownBy(() -> JobSettings.load(List.of("--starting-offsets", "yesterday"), Map.of()))
                .hasMessage("invalid setting starting-offsets='yesterday' (from --starting-offsets): expected earliest, latest or a JSON object of offsets");
        assertThatThrownBy(() -> JobSettings.load(List.of("--sensor-window", "2m", "--site-window", "5m"), Map.of()))
                .hasMessage("invalid settings sensor-window=2m, site-window=5m: the site window must be a whole multiple of the sensor window");
        assertThatThrownBy(() -> JobSettings.load(List.of(), Map.of("PIPELINE_SHUFFLE_PARTITIONS", "0")))
                .hasMessage("invalid setting shuffle-partitions='0' (from environment variable PIPELINE_SHUFFLE_PARTITIONS): expected a whole number from 1 to 10000");
        assertThatThrownBy(() -> JobSettings.load(List.of("--future-tolerance", "5m"), Map.of()))
                .hasMessageStartingWith("invalid settings future-tolerance=5m, watermark=2m: the future tolerance must be below the watermark");
        assertThatThrownBy(() -> JobSettings.load(List.of("--kafka.security.protocol=FOO"), Map.of()))
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("invalid Kafka setting: Invalid value FOO for configuration security.protocol");
        assertThatThrownBy(() -> JobSettings.load(List.of("--kafka.request.timeout.ms", "soon"), Map.of()))
                .hasMessageStartingWith("invalid Kafka setting: Invalid value soon for configuration request.timeout.ms");
        assertThatThrownBy(() -> JobSettings.load(List.of("--spark.sql.session.timeZone", "Europe/Paris"), Map.of()))
                .hasMessageStartingWith("invalid setting spark.sql.session.timeZone='Europe/Paris' (from --spark.sql.session.timeZone): the job's session zone is always UTC");
        assertThatThrownBy(() -> JobSettings.load(List.of("--lake", "x"), Map.of()))
                .hasMessageStartingWith("streaming-job: unknown setting 'lake' (from --lake).");
    }

    @Test
    void shippedConfigFileDocumentsEveryKeyAndLoads()
            throws IOException
    {
        Path file = Path.of("..", "configs", "pipeline.properties");
        String text = Files.readString(file, StandardCharsets.UTF_8);
        for (Setting setting : JobSettings.SETTINGS) {
            assertThat(text).as("configs/pipeline.properties documents " + setting.key()).containsPattern("(?m)^#? ?" + Pattern.quote(setting.key()) + "=");
        }
        assertThat(JobSettings.load(List.of("--config", file.toString()), Map.of()).lakeRoot()).isEqualTo("output/lake");
    }

    @Test
    void aToolTakesItsOwnFlagOutOfTheJobsFlags()
    {
        List<String> flags = new ArrayList<>(List.of("--config", "c.properties", "--runs", "7", "--topic", "t"));
        assertThat(JobSettings.takeFlag(flags, "--runs")).hasValue("7");
        assertThat(flags).containsExactly("--config", "c.properties", "--topic", "t");
        assertThat(JobSettings.takeFlag(flags, "--runs")).isEmpty();
        List<String> withoutValue = new ArrayList<>(List.of("--topic", "t", "--runs"));
        assertThat(JobSettings.takeFlag(withoutValue, "--runs")).isEmpty();
        assertThat(withoutValue).containsExactly("--topic", "t", "--runs");
    }
}
