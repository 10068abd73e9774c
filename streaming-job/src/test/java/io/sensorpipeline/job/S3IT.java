package io.sensorpipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import io.sensorpipeline.job.io.ReopeningCheckpointFileManager;
import io.sensorpipeline.localstack.KafkaBrokerExtension;
import io.sensorpipeline.localstack.LocalProcesses;
import io.sensorpipeline.localstack.S3ProxyServer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager;
import org.apache.spark.sql.execution.streaming.FileContextBasedCheckpointFileManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The job with its lake and checkpoints on S3 (s3a:// against a real S3Proxy), set by configuration alone: the exact
 * accounting of verify, each table's row count through Spark equal to the sum of its Parquet footers' row counts, and
 * {@code compact} on S3 (see {@link CompactionCheck}).
 */
class S3IT
{
    private static final String BUCKET = "sensor-lake";

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1));

    @TempDir
    static java.nio.file.Path directory;

    private static S3ProxyServer s3;

    @BeforeAll
    static void startS3()
            throws Exception
    {
        s3 = S3ProxyServer.start(directory.resolve("s3"), LocalProcesses.freePorts(1)[0], BUCKET, "local-identity", UUID.randomUUID().toString());
    }

    @AfterAll
    static void stopS3()
    {
        if (s3 != null) {
            s3.close();
        }
    }

    /**
     * The race that {@code compact} meets on S3, made certain: the log file is replaced between a reader's open (a
     * HEAD) and its first read (a GET for the ETag the HEAD saw). Spark's own file manager fails; ours reads the new
     * version whole.
     */
    @Test
    void aLogFileReplacedBetweenOpenAndFirstReadIsReadWhole()
            throws Exception
    {
        Configuration hadoop = withS3(new Configuration());
        Path log = new Path("s3a://" + BUCKET + "/replaced/_spark_metadata");
        Path file = new Path(log, "9.compact");
        FileSystem fileSystem = file.getFileSystem(hadoop);
        put(fileSystem, file, "v1\n{\"path\":\"old-1\"}\n{\"path\":\"old-2\"}\n");

        CheckpointFileManager spark = new FileContextBasedCheckpointFileManager(log, hadoop);
        try (FSDataInputStream stream = spark.open(file)) {
            put(fileSystem, file, "v1\n{\"path\":\"new-1\"}\n");
            assertThatThrownBy(stream::read).as("Spark's own manager, the file replaced after its open")
                    .isInstanceOf(IOException.class)
                    .matches(ReopeningCheckpointFileManager::fileChanged, "S3A's RemoteFileChangedException");
        }

        CheckpointFileManager ours = new ReopeningCheckpointFileManager(log, hadoop);
        try (FSDataInputStream stream = ours.open(file)) {
            put(fileSystem, file, "v1\n{\"path\":\"newer-1\"}\n");
            assertThat(new String(stream.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("v1\n{\"path\":\"newer-1\"}\n");
        }
        // Once a byte has reached the reader, a change is an error: the rest would come from another version.
        try (FSDataInputStream stream = ours.open(file)) {
            assertThat(stream.read()).isEqualTo('v');
            put(fileSystem, file, "v1\n{\"path\":\"newest-1\"}\n");
            stream.seek(0);
            assertThatThrownBy(stream::read).isInstanceOf(IOException.class).matches(ReopeningCheckpointFileManager::fileChanged);
        }
    }

    /** The S3Proxy endpoint and credentials of {@link S3ProxyServer#sparkFlags()}, set on a Hadoop configuration. */
    private static Configuration withS3(Configuration hadoop)
    {
        List<String> flags = s3.sparkFlags();
        for (int index = 0; index < flags.size(); index += 2) {
            hadoop.set(flags.get(index).substring("--spark.hadoop.".length()), flags.get(index + 1));
        }
        return hadoop;
    }

    private static void put(FileSystem fileSystem, Path file, String content)
            throws IOException
    {
        try (FSDataOutputStream out = fileSystem.create(file, true)) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void theJobWritesToS3ExactlyOnceAndTheFootersAgree()
            throws Exception
    {
        JsonNode summary = TestProcesses.produce(directory, kafka.bootstrapServers(), "--rate", "0", "--count", "20000",
                "--malformed-ratio", "0.03", "--duplicate-ratio", "0.01");
        List<String> arguments = new ArrayList<>(List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(),
                "--lake-root", "s3a://" + BUCKET + "/lake", "--checkpoint-root", "s3a://" + BUCKET + "/checkpoints",
                "--sensors-file", "../data/sensors.csv", "--shuffle-partitions", "2", "--metrics-port", "off",
                "--max-offsets-per-trigger", "5000", "--spark.sql.streaming.fileSink.log.compactInterval", "2"));
        arguments.addAll(s3.sparkFlags());
        List<String> drain = new ArrayList<>(arguments);
        drain.addAll(List.of("--trigger", "available-now"));
        Process job = TestProcesses.startJob(directory, List.of("-Dspark.ui.enabled=false"), drain);
        assertThat(job.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(job.exitValue()).as(Files.readString(directory.resolve("job.log"))).isZero();

        SparkSession spark = SparkTestSession.get();
        Configuration hadoop = withS3(spark.sparkContext().hadoopConfiguration());
        JobSettings settings = JobSettings.load(arguments, Map.of());
        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.addsUp()).isTrue();
        assertThat(accounting.countedByJob()).as("the drops the job counted, kept beside its checkpoint on S3").isTrue();
        assertThat(accounting.records()).isEqualTo(summary.get("eventsSent").asLong());
        assertThat(accounting.deadLetters()).isPositive();

        for (String table : List.of(IngestQuery.PROCESSED_DATA, IngestQuery.DEAD_LETTERS)) {
            long rows = spark.read().parquet(settings.tablePath(table)).count();
            long footerRows = 0;
            // The files the table's _spark_metadata log committed, each footer read with parquet-hadoop.
            for (String file : LatencyReport.commitTimes(spark, new Path(settings.tablePath(table), "_spark_metadata")).keySet()) {
                try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(file), hadoop))) {
                    footerRows += reader.getRecordCount();
                }
            }
            assertThat(rows).as(table).isPositive();
            assertThat(footerRows).as("%s: the Parquet footers' row counts", table).isEqualTo(rows);
        }

        // compact on S3: the log's .compact file is replaced by one PUT; a query during the run sees the whole day.
        TableCompaction.Result compaction = CompactionCheck.compactWhileReading(spark, settings, IngestQuery.PROCESSED_DATA,
                CompactionCheck.busiestDay(spark, settings, IngestQuery.PROCESSED_DATA));
        assertThat(compaction.filesAfter()).isEqualTo(1);
        assertThat(new Verify(spark, settings).run(System.out).addsUp()).isTrue();
    }
}
