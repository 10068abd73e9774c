package io.sensorpipeline.job;

import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.common.settings.SettingsLoader;
import io.sensorpipeline.job.io.Checkpoint;
import io.sensorpipeline.job.io.DropLog;
import io.sensorpipeline.job.io.KafkaTopics;
import io.sensorpipeline.job.io.SinkLog;
import io.sensorpipeline.job.io.SensorMetadata;
import io.sensorpipeline.job.io.TopicIds;
import io.sensorpipeline.job.transform.Decoding;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.kafka.common.TopicPartition;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.collection.JavaConverters;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

/**
 * The accounting of the lake against the topic. It reads the topic, from where the job began to read it, with the
 * job's own parse and validation (a batch read, independent of the streaming run), and the committed tables through
 * Spark, which reads only files in each table's {@code _spark_metadata} log, and checks: every rejected record is a
 * dead letter with the same reason; no eventId is twice in processed_data; every eventId in processed_data came from
 * the topic. Then
 * records = processed + dead letters + duplicates dropped + late events dropped, where the drops are the ones the
 * job's de-duplication counted, as of the last batch both ingest tables hold ({@link DropLog}). So a valid reading
 * that is in the topic but in no table, and that the job did not count as dropped, fails the check.
 *
 * <p>A checkpoint without those counts (written before the job kept them) is checked the weaker way, and verify says
 * so: duplicates are then the topic's repeated eventIds and late events the distinct valid eventIds missing from
 * processed_data, which makes any missing reading look late.
 *
 * <p>Usage: {@code ./pipeline verify [--config configs/pipeline.properties] [flags of the job]}. Exit 0 when it adds
 * up, 1 when it does not, 2 when it could not check (bad flags or settings, no tables, brokers that do not answer, a
 * checkpoint or table it cannot read), 3 when the job stopped in the middle of a batch (restart it, then verify), 4
 * when the topic no longer holds records the job read (retention, or a topic created again), so that they cannot be
 * accounted for.
 */
public final class Verify
{
    private final SparkSession spark;
    private final JobSettings settings;

    public Verify(SparkSession spark, JobSettings settings)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    public static void main(String[] arguments)
    {
        List<String> flags = Arrays.asList(arguments);
        if (SettingsLoader.wantsHelp(flags)) {
            System.out.print("""
                    Usage: ./pipeline verify [--config FILE] [the streaming job's flags]
                    (./pipeline stream --help lists the job's flags: they say where the topic, lake and checkpoints are.)

                    Checks the tables against the topic, read on its own with the job's parse and validation, each
                    partition from where the job began to read it (its checkpoint says where):
                      - every rejected record is a dead letter with the same reason;
                      - no eventId is twice in processed_data, and each came from the topic;
                      - records = processed_data rows + dead letters + duplicates and late events dropped, where the
                        drops are the job's own counts, as of the last batch the tables hold (<checkpoint-root>/ingest/drops).
                    Run it when the job is stopped or has caught up: records it has not read yet do not add up.

                    Exit codes: 0 it adds up, 1 it does not, 2 it could not check (bad flags or settings, no tables
                    at lake-root, brokers that do not answer, a checkpoint or table it cannot read),
                    3 the job stopped in the middle of a batch (its tables hold it, its drops are not counted yet):
                    start the job again, then verify; 4 the topic no longer holds records the job read (retention,
                    or a topic deleted and created again), so verify cannot account for them.
                    """);
            return;
        }
        JobSettings settings = JobSettings.loadOrExit("verify", flags);
        SparkSession spark;
        try {
            spark = SparkSession.builder().config(settings.sparkConf("sensor-pipeline-verify")).getOrCreate();
        }
        catch (RuntimeException | Error e) {
            System.err.println("verify: could not start Spark: " + e);
            e.printStackTrace();
            System.exit(2);
            return;
        }
        int exitCode;
        try {
            exitCode = exitCode(() -> new Verify(spark, settings).run(System.out), System.err);
        }
        finally {
            spark.stop();
        }
        System.exit(exitCode);
    }

    /**
     * Runs the check and maps its outcome to verify's exit code (see {@link Verify}): a verdict is 0, 1 or 3; a check
     * that could not be made is 2, or 4 for a topic that lost records the job read, with the reason on {@code stderr}.
     */
    static int exitCode(Supplier<Accounting> check, PrintStream stderr)
    {
        Accounting accounting;
        try {
            accounting = check.get();
        }
        catch (SettingsException e) {
            // A setting only the session can check, such as the sensor file or the brokers.
            stderr.println("verify: " + e.getMessage());
            return 2;
        }
        catch (TopicTrimmed e) {
            stderr.println("verify: CANNOT CHECK, " + e.getMessage());
            return 4;
        }
        catch (UncheckedIOException e) {
            // A checkpoint or table it cannot read (permissions, a store that refuses): not a verdict on the tables.
            stderr.println("verify: " + e.getMessage());
            return 2;
        }
        catch (RuntimeException | Error e) {
            // Anything else is no verdict either: exit 2, not the 1 of tables that do not add up, with the trace. Spark
            // asserts, for one, that a partition added between the offsets' lookup and the read is in startingOffsets.
            stderr.println("verify: could not check the tables: " + e);
            e.printStackTrace(stderr);
            return 2;
        }
        if (accounting.addsUp()) {
            return 0;
        }
        return accounting.unfinishedBatch().isPresent() ? 3 : 1;
    }

    public Accounting run(PrintStream out)
    {
        requireTables();
        Dataset<Row> topic = spark.read().format("kafka")
                .option("subscribe", settings.topic())
                .option("startingOffsets", startingOffsets())
                .option("endingOffsets", "latest")
                .options(settings.kafkaOptions())
                .load();
        Dataset<Row> classified = new Decoding(SensorMetadata.read(spark, settings.sensorsFile()), settings.futureTolerance())
                .decode(topic)
                .select("eventId", "reason")
                .cache();
        try {
            // The tables' latest batch first: the drop counts that go with the tables are that batch's.
            Drops drops = drops();
            long records = classified.count();
            Map<String, Long> rejectedByReason = countByReason(classified.where(col("reason").isNotNull()));
            Dataset<Row> validIds = classified.where(col("reason").isNull()).select("eventId");
            long valid = validIds.count();
            long distinctValid = validIds.distinct().count();

            // With the columns named, a table whose log lists no file yet (no dead letters, say) reads as empty.
            Dataset<Row> processed = eventIds(spark, settings.tablePath(IngestQuery.PROCESSED_DATA));
            long processedRows = processed.count();
            long processedDistinct = processed.distinct().count();
            long unknownIds = processed.distinct().join(validIds.distinct(), JavaConverters.asScalaBuffer(List.of("eventId")).toSeq(), "left_anti").count();
            Map<String, Long> deadLettersByReason = countByReason(spark.read().schema("reason STRING").parquet(settings.tablePath(IngestQuery.DEAD_LETTERS)));
            long deadLetters = deadLettersByReason.values().stream().mapToLong(Long::longValue).sum();

            Accounting accounting = drops.totals()
                    .map(totals -> new Accounting(records, processedRows, processedDistinct, deadLetters, totals.duplicates(), totals.late(), true,
                            valid - distinctValid, unknownIds, rejectedByReason, deadLettersByReason, drops.note(), drops.unfinished()))
                    .orElseGet(() -> new Accounting(records, processedRows, processedDistinct, deadLetters, valid - distinctValid,
                            distinctValid - processedDistinct, false, valid - distinctValid, unknownIds, rejectedByReason, deadLettersByReason,
                            drops.note(), drops.unfinished()));
            accounting.print(out);
            return accounting;
        }
        finally {
            classified.unpersist();
        }
    }

    /**
     * The eventId column of processed_data, every committed row. A table with a {@code _spark_metadata} log reads with
     * its partition column (event_date) beside the schema given, so the select: an eventId twice on two days is twice.
     */
    static Dataset<Row> eventIds(SparkSession spark, String tablePath)
    {
        return spark.read().schema("eventId STRING").parquet(tablePath).select("eventId");
    }

    /** Throws {@link SettingsException} when the ingest tables are not there: nothing to verify, or a wrong lake-root. */
    private void requireTables()
    {
        for (String table : IngestQuery.TABLES) {
            Path path = new Path(settings.tablePath(table));
            try {
                if (!path.getFileSystem(spark.sessionState().newHadoopConf()).exists(path)) {
                    throw new SettingsException("no table " + table + " at " + path + " (lake-root='" + settings.lakeRoot()
                            + "'): the job has not written there yet, or the lake is elsewhere");
                }
            }
            catch (IOException e) {
                throw new UncheckedIOException("cannot check " + path + ": " + e.getMessage(), e);
            }
        }
    }

    /** Where verify begins to read each partition: see {@link #startingOffsets(Map, Optional, Map)}. */
    private String startingOffsets()
    {
        Path checkpoint = new Path(settings.checkpointPath(IngestQuery.NAME));
        Optional<Map<TopicPartition, Long>> started;
        Map<TopicPartition, Long> readUpTo;
        Map<String, String> readIds;
        try {
            FileSystem fileSystem = checkpoint.getFileSystem(spark.sessionState().newHadoopConf());
            started = Checkpoint.kafkaStartOffsets(fileSystem, checkpoint);
            readUpTo = Checkpoint.kafkaCommittedEndOffsets(spark, fileSystem, checkpoint);
            readIds = TopicIds.read(fileSystem, checkpoint);
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot read where the job began to read the topic: " + e.getMessage(), e);
        }
        List<String> createdAgain = createdAgain(started, readIds, () -> KafkaTopics.ids(settings, KafkaTopics.TIMEOUT));
        if (!createdAgain.isEmpty()) {
            throw new TopicTrimmed(TopicIds.createdAgain(createdAgain, "the job") + ", so the records the tables hold rows of are gone, and verify "
                    + "cannot account for them. Verify checks a topic that keeps everything the tables hold, such as the demo's.");
        }
        // The topic's offsets after the checkpoint's: a job still running may commit a batch between the two reads,
        // which must not look like a topic that ends before what the job read.
        return startingOffsets(KafkaTopics.offsetRanges(settings, KafkaTopics.TIMEOUT), started, readUpTo);
    }

    /**
     * The topics deleted and created again since the job began to read them: those whose ID ({@code current}, asked of
     * the brokers only then) differs from the one the job recorded. Before the job has begun to read ({@code started}
     * empty) there is nothing to compare: the IDs it recorded are replaced when it starts (see
     * {@link StartupGuard#checkTopicIds}), and it will read the topics as they are then.
     */
    static List<String> createdAgain(Optional<Map<TopicPartition, Long>> started, Map<String, String> recorded, Supplier<Map<String, String>> current)
    {
        return started.isPresent() ? TopicIds.changed(recorded, current.get()) : List.of();
    }

    /**
     * Where the ingest query began to read each partition, as Spark's {@code startingOffsets} JSON: the offsets its
     * checkpoint recorded when it first started (the end of the topic for a job begun with {@code starting-offsets
     * latest}, say), 0 for a partition added since (Spark reads those from their start), and the earliest offset
     * (-2) everywhere when the job has not started yet.
     *
     * @param ranges the offsets each partition holds now
     * @param started the checkpoint's start offsets, if the query has started
     * @param readUpTo the end offsets of the query's last committed batch (empty before its first commit)
     * @throws TopicTrimmed when the topic no longer holds records the job read (the accounting would be short of
     *         them): it begins after the job's start, or ends before where the job read up to (it was deleted and
     *         created again)
     */
    static String startingOffsets(Map<TopicPartition, KafkaTopics.Range> ranges, Optional<Map<TopicPartition, Long>> started, Map<TopicPartition, Long> readUpTo)
    {
        List<String> trimmed = new ArrayList<>();
        Map<String, Map<String, Long>> offsets = new TreeMap<>();
        Map<TopicPartition, KafkaTopics.Range> byPartition = new TreeMap<>(KafkaTopics.PARTITION_ORDER);
        byPartition.putAll(ranges);
        byPartition.forEach((partition, range) -> {
            long start = started.map(offsetsOf -> offsetsOf.getOrDefault(partition, 0L)).orElse(-2L);
            long end = Math.max(start, readUpTo.getOrDefault(partition, 0L));
            if (start >= 0 && range.earliest() > start) {
                trimmed.add(String.format(Locale.ROOT, "partition %d of %s begins at offset %,d; the job read it from %,d", partition.partition(),
                        partition.topic(), range.earliest(), start));
            }
            else if (end > range.latest()) {
                trimmed.add(String.format(Locale.ROOT, "partition %d of %s ends at offset %,d, before %,d where the job has read it up to (was the"
                        + " topic deleted and created again?)", partition.partition(), partition.topic(), range.latest(), end));
            }
            offsets.computeIfAbsent(partition.topic(), topic -> new TreeMap<>()).put(Integer.toString(partition.partition()), start);
        });
        if (!trimmed.isEmpty()) {
            throw new TopicTrimmed("the topic no longer holds every record the job read (retention, or deleted records): " + String.join("; ", trimmed)
                    + ". The tables hold rows of records verify cannot read, so it cannot account for them. Verify checks a topic that keeps"
                    + " everything the tables hold, such as the demo's.");
        }
        try {
            return new ObjectMapper().writeValueAsString(offsets);
        }
        catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The topic no longer holds records that the job read, so verify cannot check the tables against it. */
    public static final class TopicTrimmed
            extends RuntimeException
    {
        TopicTrimmed(String message)
        {
            super(message);
        }
    }

    /**
     * The job's drop counts for the batch the two ingest tables hold last, which Spark may not have committed yet: the
     * tables commit a batch inside it, the drop log right after them, and Spark last.
     */
    private Drops drops()
    {
        Configuration configuration = spark.sessionState().newHadoopConf();
        long processed = latestBatch(configuration, settings.tablePath(IngestQuery.PROCESSED_DATA));
        long deadLetters = latestBatch(configuration, settings.tablePath(IngestQuery.DEAD_LETTERS));
        if (processed != deadLetters) {
            long batchId = Math.max(processed, deadLetters);
            return Drops.unfinished(batchId, "the job stopped between writing batch " + batchId + " to processed_data and to dead_letters");
        }
        if (processed < 0) {
            return Drops.inferred("the ingest tables hold no batch yet");
        }
        DropLog log = new DropLog(configuration, settings.checkpointPath(IngestQuery.NAME));
        Optional<DropLog.Totals> totals = log.totals(processed);
        if (totals.isEmpty()) {
            OptionalLong committed = lastCommit(configuration);
            if (committed.isEmpty() || committed.getAsLong() < processed) {
                return Drops.unfinished(processed, "the job stopped after writing batch " + processed + " to the tables and before counting its drops");
            }
            return Drops.inferred("the checkpoint has no drop counts for batch " + processed
                    + " (it predates them, or the job ran " + DropLog.RETAINED + " batches further while verify read)");
        }
        if (!totals.get().complete()) {
            return Drops.inferred("the job's drop counts start at batch " + totals.get().sinceBatch()
                    + ": the checkpoint predates them (--reset starts the job over with complete counts)");
        }
        return new Drops(totals, "", OptionalLong.empty());
    }

    private OptionalLong lastCommit(Configuration configuration)
    {
        Path checkpoint = new Path(settings.checkpointPath(IngestQuery.NAME));
        try {
            return Checkpoint.lastCommit(checkpoint.getFileSystem(configuration), checkpoint);
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot list the commits of " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    private static long latestBatch(Configuration configuration, String table)
    {
        try {
            TreeSet<Long> batchIds = SinkLog.of(configuration, new Path(table)).batchIds();
            return batchIds.isEmpty() ? -1 : batchIds.last();
        }
        catch (FileNotFoundException e) {
            return -1;
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot list the log of " + table + ": " + e.getMessage(), e);
        }
    }

    private record Drops(Optional<DropLog.Totals> totals, String note, OptionalLong unfinished)
    {
        static Drops inferred(String note)
        {
            return new Drops(Optional.empty(), note, OptionalLong.empty());
        }

        static Drops unfinished(long batchId, String note)
        {
            return new Drops(Optional.empty(), note, OptionalLong.of(batchId));
        }
    }

    private static Map<String, Long> countByReason(Dataset<Row> rows)
    {
        Map<String, Long> counts = new TreeMap<>();
        for (Row row : rows.groupBy("reason").count().collectAsList()) {
            counts.put(row.getString(0), row.getLong(1));
        }
        return counts;
    }

    /**
     * What verify found; {@link #addsUp()} is its verdict.
     *
     * @param countedByJob whether the drops are the job's own counts, or inferred from the topic
     * @param repeatedInTopic valid records whose eventId the topic holds more than once (the job drops a repeat as late
     * when it comes after the watermark passed the reading it repeats, so this may differ from the duplicates it counted)
     */
    public record Accounting(
            long records,
            long processedRows,
            long processedDistinctEventIds,
            long deadLetters,
            long duplicatesDropped,
            long lateDropped,
            boolean countedByJob,
            long repeatedInTopic,
            long processedEventIdsNotInTopic,
            Map<String, Long> rejectedByReason,
            Map<String, Long> deadLettersByReason,
            String dropsNote,
            OptionalLong unfinishedBatch)
    {
        public boolean addsUp()
        {
            return unfinishedBatch.isEmpty()
                    && processedRows == processedDistinctEventIds
                    && processedEventIdsNotInTopic == 0
                    && lateDropped >= 0
                    && rejectedByReason.equals(deadLettersByReason)
                    && unaccounted() == 0;
        }

        /** Records that are in no table and not counted as dropped; negative when the counted drops are too many. */
        public long unaccounted()
        {
            return records - processedRows - deadLetters - duplicatesDropped - lateDropped;
        }

        /** Valid eventIds of the topic missing from processed_data: late events, as far as the topic can tell. */
        private long inferredLate()
        {
            long rejected = rejectedByReason.values().stream().mapToLong(Long::longValue).sum();
            return records - rejected - repeatedInTopic - processedDistinctEventIds;
        }

        void print(PrintStream out)
        {
            out.printf(Locale.ROOT, "records in the topic      %,12d%n", records);
            out.printf(Locale.ROOT, "  processed_data rows     %,12d%s%n", processedRows,
                    processedRows == processedDistinctEventIds ? "" : "   (" + (processedRows - processedDistinctEventIds) + " eventIds twice!)");
            out.printf(Locale.ROOT, "  dead_letters rows       %,12d%n", deadLetters);
            deadLettersByReason.forEach((reason, count) -> out.printf(Locale.ROOT, "    %-22s%,12d%s%n", reason, count,
                    count.equals(rejectedByReason.get(reason)) ? "" : "   (topic has " + rejectedByReason.getOrDefault(reason, 0L) + ")"));
            rejectedByReason.forEach((reason, count) -> {
                if (!deadLettersByReason.containsKey(reason)) {
                    out.printf(Locale.ROOT, "    %-22s%,12d   (missing from dead_letters)%n", reason, 0L);
                }
            });
            if (countedByJob) {
                out.printf(Locale.ROOT, "  duplicates dropped      %,12d   (counted by the job; the topic repeats %,d eventIds)%n", duplicatesDropped, repeatedInTopic);
                out.printf(Locale.ROOT, "  late events dropped     %,12d   (counted by the job)%n", lateDropped);
                long unaccounted = unaccounted();
                if (unaccounted > 0) {
                    out.printf(Locale.ROOT, "  records in no table and not counted as dropped: %,d%n", unaccounted);
                }
                else if (unaccounted < 0) {
                    // More drops than the topic leaves room for: Spark's metrics counted some rows twice. The tables
                    // themselves may be complete, which the inference (blind to a lost reading) can hint at.
                    out.printf(Locale.ROOT, "  the job counted %,d drops more than the topic has records for.%n"
                            + "    Spark counts a partition twice when a cluster retries or speculates a task of the ingest query%n"
                            + "    (README, \"Nothing disappears silently\"). Inferred from the topic: %,d duplicates, %,d late.%n",
                            -unaccounted, repeatedInTopic, inferredLate());
                }
            }
            else {
                out.printf(Locale.ROOT, "  duplicates dropped      %,12d   (inferred: repeated valid eventIds in the topic)%n", duplicatesDropped);
                out.printf(Locale.ROOT, "  late events dropped     %,12d   (inferred: valid eventIds not in processed_data)%n", lateDropped);
                if (unfinishedBatch.isEmpty()) {
                    out.printf(Locale.ROOT, "  drops inferred from the topic, not counted by the job: %s%n", dropsNote);
                }
            }
            if (unfinishedBatch.isPresent()) {
                out.println("verify: UNFINISHED, " + dropsNote + ". Start the job again (it finishes batch " + unfinishedBatch.getAsLong()
                        + " first; --trigger available-now drains and stops), then run verify again.");
                return;
            }
            if (processedEventIdsNotInTopic > 0) {
                out.printf(Locale.ROOT, "  eventIds in processed_data but not in the topic: %,d (was the topic deleted and created again, or do the topic"
                        + " and lake-root settings belong to different jobs?)%n", processedEventIdsNotInTopic);
            }
            out.println(addsUp() ? "verify: OK, every record is accounted for exactly once" : "verify: FAILED, the tables do not match the topic");
        }
    }
}
