package io.sensorpipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sensorpipeline.common.FaultKind;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sensorpipeline.common.RejectReason;
import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.job.io.Checkpoint;
import io.sensorpipeline.job.io.KafkaTopics;
import io.sensorpipeline.job.metrics.JobMetrics;
import io.sensorpipeline.localstack.KafkaBrokerExtension;
import org.apache.hadoop.conf.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StateOperatorProgress;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static io.sensorpipeline.common.metrics.MetricsText.scrape;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.countDistinct;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The job against a real broker: every record the producer sent is accounted for, exactly once. */
class IngestIT
{
    private static final int EVENTS = 30_000;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1, "started-late", 2, "started-late-alerts", 1,
            "created-again", 2, "created-again-alerts", 1));

    @TempDir
    static Path directory;


    @Test
    void aMissingTopicStopsTheJobBeforeItTouchesTheLake()
    {
        Path root = directory.resolve("missing-topics");
        List<String> where = List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(), "--trigger", "available-now",
                "--lake-root", root.resolve("lake").toString(), "--checkpoint-root", root.resolve("checkpoints").toString(),
                "--sensors-file", "../data/sensors.csv");
        JobSettings noAlertsTopic = JobSettings.load(concat(where, "--alerts-topic", "no-such-alerts"), Map.of());
        assertThatThrownBy(() -> new StreamingJob(SparkTestSession.get(), noAlertsTopic).run())
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("invalid setting alerts-topic='no-such-alerts': the topic no-such-alerts does not exist on " + kafka.bootstrapServers() + ".")
                .hasMessageContaining("--create --topic no-such-alerts");
        JobSettings badAlertsTopicName = JobSettings.load(concat(where, "--alerts-topic", "a b"), Map.of());
        assertThatThrownBy(() -> new StreamingJob(SparkTestSession.get(), badAlertsTopicName).run())
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("invalid setting alerts-topic='a b'");
        JobSettings oneReadingsTopicMissing = JobSettings.load(concat(where, "--topic", "sensor-readings, no-such-readings"), Map.of());
        assertThatThrownBy(() -> new StreamingJob(SparkTestSession.get(), oneReadingsTopicMissing).run())
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("invalid setting topic='sensor-readings, no-such-readings': the topic no-such-readings does not exist on "
                        + kafka.bootstrapServers() + ".");
        assertThat(root).doesNotExist();
        JobSettings existing = JobSettings.load(List.of("--kafka.bootstrap.servers", kafka.bootstrapServers()), Map.of());
        KafkaTopics.Checked checked = KafkaTopics.check(existing, KafkaTopics.TIMEOUT);
        assertThat(checked.notes()).isEmpty();
        assertThat(checked.ids()).isEqualTo(KafkaTopics.ids(existing, KafkaTopics.TIMEOUT)).containsOnlyKeys("sensor-readings");
    }

    @Test
    void verifyReadsTheTopicFromWhereTheJobBeganAndRefusesATopicThatLostRecords()
            throws Exception
    {
        Path root = directory.resolve("started-late");
        Path run = Files.createDirectories(root.resolve("producer"));
        TestProcesses.produce(run, kafka.bootstrapServers(), "--topic", "started-late", "--count", "1000", "--rate", "0", "--seed", "5");
        JobSettings settings = JobSettings.load(concat(ownTopicFlags("started-late", root), "--starting-offsets", "latest"), Map.of());
        SparkSession spark = SparkTestSession.get();
        // The first run begins at the end of the topic, so the tables never see the first 1,000 records; the second
        // reads the 1,500 produced after it.
        new StreamingJob(spark, settings).run();
        TestProcesses.produce(run, kafka.bootstrapServers(), "--topic", "started-late", "--count", "1500", "--rate", "0", "--seed", "6");
        new StreamingJob(spark, settings).run();

        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.records()).isEqualTo(1500);
        assertThat(accounting.processedRows()).isEqualTo(1500);
        assertThat(accounting.addsUp()).isTrue();

        // Retention, as deleteRecords does it: the first 10 records of partition 0, which the tables hold, are gone.
        TopicPartition partition = new TopicPartition("started-late", 0);
        long tableStart = spark.read().parquet(root.resolve("lake/processed_data").toString())
                .where(col("kafka_partition").equalTo(0)).agg(org.apache.spark.sql.functions.min("kafka_offset")).first().getLong(0);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(tableStart + 10))).all().get();
        }
        assertThatThrownBy(() -> new Verify(spark, settings).run(System.out))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessageContaining(String.format(Locale.ROOT, "partition 0 of started-late begins at offset %,d; the job read it from %,d",
                        tableStart + 10, tableStart));
    }

    @Test
    void aTopicCreatedAgainStopsTheJobAndVerifyUntilTheJobStartsOver()
            throws Exception
    {
        Path root = directory.resolve("created-again");
        Path run = Files.createDirectories(root.resolve("producer"));
        TestProcesses.produce(run, kafka.bootstrapServers(), "--topic", "created-again", "--count", "500", "--rate", "0", "--seed", "7");
        List<String> flags = ownTopicFlags("created-again", root);
        JobSettings settings = JobSettings.load(flags, Map.of());
        SparkSession spark = SparkTestSession.get();
        new StreamingJob(spark, settings).run();
        assertThat(new Verify(spark, settings).run(System.out).addsUp()).isTrue();

        // Deleted, created again and filled with more records than the job read of the old topic: Spark alone would
        // resume at the old topic's offsets and skip the new topic's records before them.
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.deleteTopics(List.of("created-again")).all().get();
            createWhenDeleted(admin, "created-again", 2);
        }
        TestProcesses.produce(run, kafka.bootstrapServers(), "--topic", "created-again", "--count", "1500", "--rate", "0", "--seed", "8");
        assertThatThrownBy(() -> new StreamingJob(spark, settings).run())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("Refusing to start query 'ingest': the topic created-again (topic ID ")
                .hasMessageContaining(" was deleted and created again since the checkpoint " + settings.checkpointPath(IngestQuery.NAME) + " read it.");
        assertThatThrownBy(() -> new Verify(spark, settings).run(System.out))
                .isInstanceOf(Verify.TopicTrimmed.class)
                .hasMessageStartingWith("the topic created-again (topic ID ")
                .hasMessageContaining(" was deleted and created again since the job read it");

        // --reset starts over from the new topic's first record.
        new StreamingJob(spark, JobSettings.load(concat(flags, "--reset"), Map.of())).run();
        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.records()).isEqualTo(1500);
        assertThat(accounting.addsUp()).isTrue();
    }

    /** Creates a topic once the broker has finished deleting the one of the same name. */
    private static void createWhenDeleted(Admin admin, String topic, int partitions)
            throws Exception
    {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
                return;
            }
            catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    /** The flags of an available-now job on a readings topic of its own (alerts to topic-alerts), its lake and checkpoints under root. */
    private static List<String> ownTopicFlags(String topic, Path root)
    {
        return List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(), "--trigger", "available-now",
                "--topic", topic, "--alerts-topic", topic + "-alerts", "--lake-root", root.resolve("lake").toString(),
                "--checkpoint-root", root.resolve("checkpoints").toString(), "--sensors-file", "../data/sensors.csv");
    }

    private static List<String> concat(List<String> flags, String... more)
    {
        List<String> all = new ArrayList<>(flags);
        all.addAll(List.of(more));
        return all;
    }

    @Test
    void everyRecordEndsInOneTableOrIsCountedAsDropped()
            throws Exception
    {
        JsonNode summary = TestProcesses.produce(directory, kafka.bootstrapServers(), "--count", Integer.toString(EVENTS), "--rate", "0", "--seed", "3",
                "--malformed-ratio", "0.05", "--duplicate-ratio", "0.02", "--late-ratio", "0.02", "--out-of-order-ms", "1000");
        assertThat(summary.get("eventsSent").asLong()).isEqualTo(EVENTS);

        SparkSession spark = SparkTestSession.get();
        AtomicLong duplicatesDropped = new AtomicLong();
        AtomicLong lateDropped = new AtomicLong();
        StreamingQueryListener listener = new StreamingQueryListener()
        {
            @Override
            public void onQueryStarted(QueryStartedEvent event) {}

            @Override
            public void onQueryProgress(QueryProgressEvent event)
            {
                if (IngestQuery.NAME.equals(event.progress().name())) {
                    for (StateOperatorProgress operator : event.progress().stateOperators()) {
                        duplicatesDropped.addAndGet(operator.customMetrics().getOrDefault("numDroppedDuplicateRows", 0L));
                        lateDropped.addAndGet(operator.numRowsDroppedByWatermark());
                    }
                }
            }

            @Override
            public void onQueryTerminated(QueryTerminatedEvent event) {}
        };
        spark.streams().addListener(listener);
        PrometheusRegistry registry = new PrometheusRegistry();
        JobMetrics metrics = new JobMetrics(registry);
        spark.streams().addListener(metrics);
        Path lake = directory.resolve("lake");
        JobSettings settings;
        try {
            settings = JobSettings.load(List.of("--kafka.bootstrap.servers", kafka.bootstrapServers(), "--trigger", "available-now",
                    "--lake-root", lake.toString(), "--checkpoint-root", directory.resolve("checkpoints").toString(),
                    "--sensors-file", "../data/sensors.csv", "--max-offsets-per-trigger", "4000"), Map.of());
            new StreamingJob(spark, settings).run();
        }
        finally {
            spark.streams().removeListener(listener);
        }
        // The listener bus delivers in order: once the last query's end is seen, every progress before it was too.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!scrape(registry).contains("sensorpipeline_query_active{query=\"alerts\"} 0.0")) {
            assertThat(System.nanoTime()).as("the metrics see the queries end").isLessThan(deadline);
            Thread.sleep(100);
        }
        spark.streams().removeListener(metrics);

        long processed = spark.read().parquet(lake.resolve("processed_data").toString()).count();
        Map<String, Long> deadLetters = new HashMap<>();
        for (Row row : spark.read().parquet(lake.resolve("dead_letters").toString()).groupBy("reason").count().collectAsList()) {
            deadLetters.put(row.getString(0), row.getLong(1));
        }
        long deadLetterTotal = deadLetters.values().stream().mapToLong(Long::longValue).sum();

        // The accounting: every record in the topic is in exactly one place, or counted as dropped.
        assertThat(processed + deadLetterTotal + duplicatesDropped.get() + lateDropped.get()).isEqualTo(EVENTS);
        // Each fault kind the producer injected is a dead letter with the reason it stands for.
        Map<String, Long> expected = new HashMap<>();
        for (FaultKind fault : FaultKind.values()) {
            expected.merge(fault.expectedReason().name(), summary.get("faults").get(fault.name()).asLong(), Long::sum);
        }
        expected.values().removeIf(count -> count == 0);
        assertThat(deadLetters).isEqualTo(expected);
        // The metrics count the same dead letters by reason, and the same readings written.
        String text = scrape(registry);
        for (RejectReason reason : RejectReason.values()) {
            assertThat(text).contains("sensorpipeline_dead_letters_total{reason=\"" + reason + "\"} " + (double) deadLetters.getOrDefault(reason.name(), 0L) + "\n");
        }
        assertThat(text).contains("sensorpipeline_processed_rows_total " + (double) processed + "\n");
        // A duplicate is dropped as such, or as late when the reading it repeats was itself sent late.
        assertThat(duplicatesDropped.get()).isLessThanOrEqualTo(summary.get("duplicates").asLong());
        // Over several micro-batches, only readings the producer sent late (or their duplicates) may fall behind the
        // watermark: a reject from a month ahead must not drag the watermark along.
        assertThat(duplicatesDropped.get() + lateDropped.get())
                .isLessThanOrEqualTo(summary.get("duplicates").asLong() + summary.get("late").asLong())
                .isGreaterThanOrEqualTo(summary.get("duplicates").asLong());
        // No eventId twice in processed_data.
        Row distinct = spark.read().parquet(lake.resolve("processed_data").toString()).agg(countDistinct(col("eventId"))).first();
        assertThat(distinct.getLong(0)).isEqualTo(processed);
        assertThat(processed).isEqualTo(summary.get("valid").asLong() + summary.get("late").asLong() + summary.get("duplicates").asLong()
                - duplicatesDropped.get() - lateDropped.get());
        // Dead letters keep their payload and origin.
        Row anyDeadLetter = spark.read().parquet(lake.resolve("dead_letters").toString()).where(col("reason").equalTo(RejectReason.UNKNOWN_SENSOR.name())).first();
        assertThat(anyDeadLetter.<String>getAs("payload")).contains("\"sensorId\":\"sensor-9");
        assertThat(anyDeadLetter.<String>getAs("topic")).isEqualTo("sensor-readings");
        // verify, reading the topic on its own, finds the same.
        Verify.Accounting accounting = new Verify(spark, settings).run(System.out);
        assertThat(accounting.addsUp()).isTrue();
        assertThat(accounting.records()).isEqualTo(EVENTS);
        // verify checks against the drops the job itself persisted with each batch: the same as its progress reported.
        assertThat(accounting.countedByJob()).isTrue();
        assertThat(accounting.duplicatesDropped()).isEqualTo(duplicatesDropped.get());
        assertThat(accounting.lateDropped()).isEqualTo(lateDropped.get());
        assertThat(accounting.deadLettersByReason()).isEqualTo(deadLetters);
        // Alerts: one per reading outside its band, in the table and on the topic.
        long outOfBand = spark.read().parquet(lake.resolve("processed_data").toString())
                .where(col("value").gt(col("alert_high")).or(col("value").lt(col("alert_low")))).count();
        long alertRows = spark.read().parquet(lake.resolve("alerts").toString()).count();
        assertThat(outOfBand).isPositive();
        assertThat(spark.read().parquet(lake.resolve("alerts").toString()).where(col("rule").equalTo("OUT_OF_BAND")).count()).isEqualTo(outOfBand);
        long onTopic = spark.read().format("kafka").option("kafka.bootstrap.servers", kafka.bootstrapServers()).option("subscribe", "sensor-alerts")
                .option("startingOffsets", "earliest").option("endingOffsets", "latest").load().count();
        assertThat(onTopic).isEqualTo(alertRows);
        // Aggregates were written from processed_data.
        assertThat(spark.read().parquet(lake.resolve("sensor_aggregates").toString()).count()).isPositive();

        // A crash after both tables committed a batch and before Spark did: the restart runs the batch again, both
        // writes are skipped, and the drop log must still get what the de-duplication dropped in it.
        Path ingestCheckpoint = directory.resolve("checkpoints").resolve(IngestQuery.NAME);
        long replayed = crashAfterTablesOfLastBatchWithDrops(ingestCheckpoint, lake);
        // Before the restart, the tables hold a batch whose drops nobody counted: verify says so instead of failing.
        Verify.Accounting beforeRestart = new Verify(spark, settings).run(System.out);
        assertThat(beforeRestart.addsUp()).isFalse();
        assertThat(beforeRestart.unfinishedBatch()).hasValue(replayed);
        new StreamingJob(spark, settings).run();
        assertThat(ingestCheckpoint.resolve("drops").resolve(Long.toString(replayed))).exists();
        Verify.Accounting afterReplay = new Verify(spark, settings).run(System.out);
        assertThat(afterReplay.addsUp()).isTrue();
        assertThat(afterReplay.countedByJob()).isTrue();
        assertThat(afterReplay.duplicatesDropped()).isEqualTo(duplicatesDropped.get());
        assertThat(afterReplay.lateDropped()).isEqualTo(lateDropped.get());

        // A checkpoint without drop counts (written before the job kept them): verify infers the drops from the topic,
        // which tells a late duplicate from a duplicate by eventId alone, and says so.
        Path drops = directory.resolve("checkpoints").resolve(IngestQuery.NAME).resolve("drops");
        Path dropsAside = directory.resolve("drops-aside");
        Files.move(drops, dropsAside);
        Verify.Accounting inferred = new Verify(spark, settings).run(System.out);
        Files.move(dropsAside, drops);
        assertThat(inferred.countedByJob()).isFalse();
        assertThat(inferred.addsUp()).isTrue();
        assertThat(inferred.duplicatesDropped() + inferred.lateDropped()).isEqualTo(duplicatesDropped.get() + lateDropped.get());

        // Drops counted twice (as Spark's metrics can be when a cluster retries a task) fail verify the other way, and
        // it says what that means.
        Path lastDrops = drops.resolve(Long.toString(lastCommit(ingestCheckpoint)));
        String counted = Files.readString(lastDrops);
        Files.deleteIfExists(lastDrops.resolveSibling("." + lastDrops.getFileName() + ".crc"));
        long duplicatesCounted = Long.parseLong(counted.replaceAll("(?s).*duplicates=(\\d+).*", "$1"));
        Files.writeString(lastDrops, counted.replace("duplicates=" + duplicatesCounted, "duplicates=" + (duplicatesCounted + 5)));
        Verify.Accounting overCounted = new Verify(spark, settings).run(System.out);
        Files.writeString(lastDrops, counted);
        assertThat(overCounted.addsUp()).isFalse();
        assertThat(overCounted.unaccounted()).isEqualTo(-5);

        // A committed file that goes missing from processed_data is caught: its rows are in no table and were not
        // dropped. (Inferring late events from the topic instead would have counted them as late and passed.)
        long lost = forgetLastFile(lake.resolve("processed_data"));
        Verify.Accounting afterLoss = new Verify(spark, settings).run(System.out);
        assertThat(afterLoss.addsUp()).isFalse();
        assertThat(afterLoss.records() - afterLoss.processedRows() - afterLoss.deadLetters() - afterLoss.duplicatesDropped() - afterLoss.lateDropped())
                .isEqualTo(lost)
                .isPositive();
    }

    /**
     * Makes the lake and checkpoint look as they do when the job dies after its tables committed batch N (the last batch
     * that dropped rows), before the drop log and Spark did: the later batches (without data) are removed from the
     * offset, commit and drop logs and from the tables' logs, then N's commit and drop file. Returns N, which the next
     * run replays.
     */
    private static long crashAfterTablesOfLastBatchWithDrops(Path checkpoint, Path lake)
            throws IOException
    {
        long last = lastCommit(checkpoint);
        long replayed = last;
        while (dropped(checkpoint, replayed) == dropped(checkpoint, replayed - 1)) {
            replayed--;
        }
        for (long batchId = replayed; batchId <= last; batchId++) {
            if (batchId > replayed) {
                delete(checkpoint.resolve("offsets"), batchId);
                for (String table : IngestQuery.TABLES) {
                    delete(lake.resolve(table).resolve("_spark_metadata"), batchId);
                }
            }
            delete(checkpoint.resolve("commits"), batchId);
            Files.delete(checkpoint.resolve("drops").resolve(Long.toString(batchId)));
        }
        return replayed;
    }

    /** The last batch the query committed, from its checkpoint. */
    private static long lastCommit(Path checkpoint)
            throws IOException
    {
        return Checkpoint.lastCommit(FileSystem.getLocal(new Configuration()), new org.apache.hadoop.fs.Path(checkpoint.toUri())).orElseThrow();
    }

    /** Rows dropped up to and including the batch, from its drop-log file. */
    private static long dropped(Path checkpoint, long batchId)
    {
        long total = 0;
        for (String line : lines(checkpoint.resolve("drops").resolve(Long.toString(batchId)))) {
            if (line.startsWith("duplicates=") || line.startsWith("late=")) {
                total += Long.parseLong(line.split("=")[1]);
            }
        }
        return total;
    }

    private static void delete(Path log, long batchId)
            throws IOException
    {
        // A .compact file holds earlier batches too: removing it is not a crash the job can meet.
        assertThat(log.resolve(batchId + ".compact")).doesNotExist();
        Files.delete(log.resolve(Long.toString(batchId)));
        Files.deleteIfExists(log.resolve("." + batchId + ".crc"));
    }

    /** Removes the last file from the table's newest non-empty log entry, as if it had never been committed; returns its rows. */
    private static long forgetLastFile(Path table)
            throws IOException
    {
        Path log = table.resolve("_spark_metadata");
        Path batch;
        try (Stream<Path> files = Files.list(log)) {
            batch = files.filter(file -> file.getFileName().toString().matches("\\d+"))
                    .filter(file -> lines(file).size() > 1)
                    .max(Comparator.comparingLong(file -> Long.parseLong(file.getFileName().toString())))
                    .orElseThrow();
        }
        List<String> entries = new ArrayList<>(lines(batch));
        String removed = entries.remove(entries.size() - 1);
        Files.write(batch, String.join("\n", entries).getBytes(StandardCharsets.UTF_8));
        Files.deleteIfExists(log.resolve("." + batch.getFileName() + ".crc"));
        String file = new ObjectMapper().readTree(removed).get("path").asText();
        return SparkTestSession.get().read().parquet(file).count();
    }

    private static List<String> lines(Path file)
    {
        try {
            return Files.readAllLines(file);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
