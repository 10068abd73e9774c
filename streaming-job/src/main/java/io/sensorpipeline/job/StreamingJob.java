package io.sensorpipeline.job;

import io.sensorpipeline.common.metrics.MetricsServer;
import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.common.settings.SettingsLoader;
import io.sensorpipeline.job.io.KafkaSource;
import io.sensorpipeline.job.io.KafkaTopics;
import io.sensorpipeline.job.io.SensorMetadata;
import io.sensorpipeline.job.metrics.JobMetrics;
import io.sensorpipeline.job.metrics.ProgressLog;
import io.sensorpipeline.job.transform.Decoding;
import io.sensorpipeline.job.transform.Enrichment;
import io.sensorpipeline.job.transform.WindowedAggregates;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * The streaming job: Kafka readings to Parquet tables, each written exactly once.
 *
 * <pre>
 * spark-submit --class io.sensorpipeline.job.StreamingJob streaming-job/target/streaming-job.jar \
 *     --config configs/pipeline.properties [--set key=value ...]
 * ./pipeline stream [flags]            (the same main in local[*], driver on 127.0.0.1)
 * </pre>
 *
 * Queries: {@code ingest} reads Kafka once and writes processed_data and dead_letters; {@code sensor_aggregates} and
 * {@code site_aggregates} read processed_data's committed files (never Kafka, never JSON); {@code alerts} reads
 * processed_data and sensor_aggregates and writes the alerts table and topic. With
 * {@code trigger=available-now} they run one after the other and the job ends; otherwise they run side by side until
 * stopped. Exit codes: 0 done, 1 a query or the start-up guard failed, 2 bad flags or settings.
 */
public final class StreamingJob
{
    public static final String SENSOR_AGGREGATES = "sensor_aggregates";
    public static final String SITE_AGGREGATES = "site_aggregates";

    /** The columns of Spark's Kafka source. */
    public static final StructType KAFKA_RECORD = new StructType()
            .add("key", DataTypes.BinaryType)
            .add("value", DataTypes.BinaryType)
            .add("topic", DataTypes.StringType)
            .add("partition", DataTypes.IntegerType)
            .add("offset", DataTypes.LongType)
            .add("timestamp", DataTypes.TimestampType)
            .add("timestampType", DataTypes.IntegerType);

    private final SparkSession spark;
    private final JobSettings settings;

    public StreamingJob(SparkSession spark, JobSettings settings)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    public static void main(String[] arguments)
            throws Exception
    {
        List<String> flags = Arrays.asList(arguments);
        if (SettingsLoader.wantsHelp(flags)) {
            System.out.print(usage());
            return;
        }
        JobSettings settings = JobSettings.loadOrExit("streaming-job", flags);
        PrometheusRegistry registry = new PrometheusRegistry();
        MetricsServer metrics = null;
        if (settings.metricsPort().isPresent()) {
            try {
                metrics = MetricsServer.start(settings.metricsHost(), settings.metricsPort().get(), registry);
            }
            catch (IllegalArgumentException e) {
                System.err.println("streaming-job: " + e.getMessage());
                System.exit(2);
                return;
            }
            System.err.println("streaming-job: metrics on " + metrics.url());
        }
        SparkSession spark = session("sensor-pipeline", settings);
        System.err.println("streaming-job: " + SchedulerPools.describe(spark));
        spark.streams().addListener(new ProgressLog());
        JobMetrics jobMetrics = new JobMetrics(registry);
        settings.trigger().ifPresent(trigger -> {
            jobMetrics.triggerInterval(IngestQuery.NAME, trigger);
            jobMetrics.triggerInterval(AlertsQuery.NAME, trigger);
            jobMetrics.triggerInterval(SENSOR_AGGREGATES, settings.aggregatesTrigger());
            jobMetrics.triggerInterval(SITE_AGGREGATES, settings.aggregatesTrigger());
        });
        spark.streams().addListener(jobMetrics);
        int exitCode = 0;
        try {
            new StreamingJob(spark, settings).run();
        }
        catch (SettingsException e) {
            // A setting that only the started session can check, such as the sensor file on the lake's file system.
            System.err.println("streaming-job: " + e.getMessage());
            exitCode = 2;
        }
        catch (IllegalStateException e) {
            System.err.println("streaming-job: " + e.getMessage());
            exitCode = 1;
        }
        finally {
            spark.stop();
            if (metrics != null) {
                metrics.close();
            }
        }
        System.exit(exitCode);
    }

    /**
     * The job's session. Besides the shuffle partitions and the UTC session zone, these defaults, each kept when the
     * user set the key (spark-submit --conf): timestamps written as Parquet's standard INT64 microseconds, and two
     * that profiles of the stream benchmark called for: the batch that the ingest query keeps for its two tables is
     * cached uncompressed (building the compressed cache took a quarter of the job's CPU), and the per-sensor
     * percentile aggregation keeps hashing instead of falling back to sorting after 128 groups. Also: cached blocks
     * visible only once their task succeeded (for the drop log's counts), Spark's metrics in Prometheus format, and
     * fair scheduling that serves the ingest query first ({@link SchedulerPools}).
     */
    static SparkSession session(String appName, JobSettings settings)
    {
        // The user's spark.* settings come first, so that the defaults below give way to them.
        SparkConf conf = settings.sparkConf(appName);
        String partitions = Integer.toString(settings.shufflePartitions());
        replacedShufflePartitions(conf, partitions).ifPresent(note -> System.err.println(appName + ": " + note));
        conf.set(JobSettings.SHUFFLE_PARTITIONS, partitions)
                .setIfMissing("spark.sql.streaming.stateStore.providerClass", settings.stateStoreProvider())
                .setIfMissing("spark.sql.inMemoryColumnarStorage.compressed", "false")
                .setIfMissing("spark.sql.objectHashAggregate.sortBased.fallbackThreshold", "100000")
                // Parquet's standard timestamp (INT64 microseconds) instead of Spark's legacy INT96.
                .setIfMissing("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
                // A retried task must not reuse a block that its failed attempt cached: the failed attempt's metric
                // updates are dropped, so the drop log would miss that partition's drops (SPARK-41497).
                .setIfMissing("spark.rdd.cache.visibilityTracking.enabled", "true")
                // Spark's own metrics in Prometheus format on the UI's port: /metrics/prometheus/ (driver) and, per
                // query, the streaming gauges (its namespace keeps the names stable across runs).
                .setIfMissing("spark.ui.prometheus.enabled", "true")
                .setIfMissing("spark.metrics.conf.*.sink.prometheusServlet.class", "org.apache.spark.metrics.sink.PrometheusServlet")
                .setIfMissing("spark.metrics.conf.*.sink.prometheusServlet.path", "/metrics/prometheus")
                .setIfMissing("spark.metrics.namespace", "sensorpipeline")
                .setIfMissing("spark.sql.streaming.metricsEnabled", "true");
        return SparkSession.builder().config(SchedulerPools.configure(conf)).getOrCreate();
    }

    /** What the job says when the configuration, from its settings or Spark's, has another number of shuffle partitions. */
    static Optional<String> replacedShufflePartitions(SparkConf conf, String partitions)
    {
        String given = conf.get(JobSettings.SHUFFLE_PARTITIONS, partitions);
        return given.equals(partitions)
                ? Optional.empty()
                : Optional.of(JobSettings.SHUFFLE_PARTITIONS + "=" + given + " is replaced by shuffle-partitions=" + partitions + ", the job's setting for it");
    }

    /** Starts the queries; returns when they end (available-now) or when one of them fails or is stopped. */
    public void run()
            throws Exception
    {
        run(false);
    }

    /**
     * Runs the ingest query alone (processed_data and dead_letters), without the aggregates and alerts that read its
     * tables: the stream benchmark's leg that shows what those cost.
     */
    void runIngestOnly()
            throws Exception
    {
        run(true);
    }

    private void run(boolean ingestOnly)
            throws Exception
    {
        if (!ingestOnly) {
            AggregatesQuery.checkSparkConf(spark.sparkContext().getConf());
        }
        Optional<KafkaTopics.Checked> topics = ingestOnly ? Optional.empty() : Optional.of(KafkaTopics.check(settings, KafkaTopics.TIMEOUT));
        // When the brokers could not be asked, the queries find out for themselves.
        topics.ifPresent(checked -> checked.notes().forEach(note -> System.err.println("streaming-job: " + note)));
        // The sensor file first: a bad one stops the job before it touches the lake or the checkpoints.
        Dataset<Row> sensors = SensorMetadata.read(spark, settings.sensorsFile());
        Decoding decoding = new Decoding(sensors, settings.futureTolerance());

        StartupGuard guard = new StartupGuard(spark.sessionState().newHadoopConf());
        List<String> ingestTables = IngestQuery.TABLES.stream().map(settings::tablePath).toList();
        if (settings.reset()) {
            guard.reset(settings.checkpointPath(IngestQuery.NAME), ingestTables);
            for (String table : List.of(SENSOR_AGGREGATES, SITE_AGGREGATES, AlertsQuery.NAME)) {
                guard.reset(settings.checkpointPath(table), List.of(settings.tablePath(table)));
            }
        }
        guard.check(IngestQuery.NAME, settings.checkpointPath(IngestQuery.NAME), ingestTables);
        if (topics.isPresent()) {
            topicIdNotes(settings.topics(), topics.get(), ids -> guard.checkTopicIds(IngestQuery.NAME, settings.checkpointPath(IngestQuery.NAME), ids))
                    .forEach(note -> System.err.println("streaming-job: " + note));
        }
        for (String table : List.of(SENSOR_AGGREGATES, SITE_AGGREGATES, AlertsQuery.NAME)) {
            guard.check(table, settings.checkpointPath(table), List.of(settings.tablePath(table)));
        }
        // Tables that other queries read as streams get their (empty) log before any reader starts.
        guard.prepareLog(settings.tablePath(IngestQuery.PROCESSED_DATA));
        guard.prepareLog(settings.tablePath(SENSOR_AGGREGATES));

        // The schemas the tables have, derived from the transforms themselves so they cannot drift.
        Enrichment enrichment = new Enrichment(sensors);
        StructType processedSchema = enrichment.apply(decoding.decode(spark.createDataFrame(List.of(), KAFKA_RECORD))).schema();
        WindowedAggregates aggregates = new WindowedAggregates(settings.watermarkDelay());
        AggregatesQuery aggregatesQuery = new AggregatesQuery(settings);
        StructType sensorAggregatesSchema = aggregates.perSensor(spark.createDataFrame(List.of(), processedSchema), settings.sensorWindow()).schema();

        // Each stage reads only what the stages before it write; the queries within a stage are independent.
        List<List<Starter>> stages = List.of(
                List.of(() -> new IngestQuery(spark, settings, decoding, enrichment).start(KafkaSource.read(spark, settings))),
                List.of(
                        () -> aggregatesQuery.start(SENSOR_AGGREGATES, aggregates.perSensor(readTable(IngestQuery.PROCESSED_DATA, processedSchema), settings.sensorWindow())),
                        () -> aggregatesQuery.start(SITE_AGGREGATES, aggregates.perSite(readTable(IngestQuery.PROCESSED_DATA, processedSchema), settings.siteWindow()))),
                List.of(() -> new AlertsQuery(spark, settings).start(readTable(IngestQuery.PROCESSED_DATA, processedSchema),
                        readTable(SENSOR_AGGREGATES, sensorAggregatesSchema))));
        if (ingestOnly) {
            stages = stages.subList(0, 1);
        }
        if (settings.trigger().isEmpty()) {
            // available-now: each stage drains what its inputs hold once the stage before it has ended, so each query
            // sees all of its input; the queries of a stage run side by side.
            for (List<Starter> stage : stages) {
                SchedulerPools.startQueriesIn(spark, pool(stage, stages));
                List<StreamingQuery> queries = new ArrayList<>();
                for (Starter starter : stage) {
                    queries.add(starter.start());
                }
                for (StreamingQuery query : queries) {
                    query.awaitTermination();
                }
            }
            return;
        }
        for (List<Starter> stage : stages) {
            // Ingest first on the cores, the queries that read its tables after it (see SchedulerPools).
            SchedulerPools.startQueriesIn(spark, pool(stage, stages));
            for (Starter starter : stage) {
                starter.start();
            }
        }
        spark.streams().awaitAnyTermination();
    }

    /**
     * What the job says on stderr about the readings topics' IDs: nothing to check when the brokers did not answer
     * ({@code checked} has notes); otherwise what {@code checkIds} (the start-up guard's check against the checkpoint,
     * which throws when a topic was created again) notes, and each topic the brokers give no ID for.
     */
    static List<String> topicIdNotes(List<String> topics, KafkaTopics.Checked checked, Function<Map<String, String>, Optional<String>> checkIds)
    {
        if (!checked.notes().isEmpty()) {
            return List.of("the topics' IDs are not checked either: a topic deleted and created again since the checkpoint read it goes unnoticed");
        }
        List<String> notes = new ArrayList<>();
        checkIds.apply(checked.ids()).ifPresent(notes::add);
        topics.stream().filter(topic -> !checked.ids().containsKey(topic)).forEach(topic -> notes.add(
                "the brokers give no ID for the topic " + topic + " (Kafka before 2.8?), so a topic deleted and created again goes unnoticed"));
        return notes;
    }

    private static String pool(List<Starter> stage, List<List<Starter>> stages)
    {
        return stage == stages.get(0) ? SchedulerPools.INGEST : SchedulerPools.DERIVED;
    }

    /** A table's committed files as a stream: the reader follows the table's _spark_metadata log. */
    private Dataset<Row> readTable(String table, StructType schema)
    {
        // A file stream maps the given schema onto each batch's columns by position, and a partitioned table reads
        // back with its partition column last: a schema with it elsewhere would shift every column after it.
        String[] names = schema.fieldNames();
        if (!names[names.length - 1].equals("event_date")) {
            throw new IllegalStateException("the schema of " + table + " must end with its partition column event_date: " + schema.simpleString());
        }
        return spark.readStream().schema(schema).parquet(settings.tablePath(table));
    }

    private interface Starter
    {
        StreamingQuery start()
                throws Exception;
    }

    static String usage()
    {
        return """
                Usage: spark-submit --class io.sensorpipeline.job.StreamingJob streaming-job.jar [flags]
                       ./pipeline stream [flags]

                Reads sensor readings from Kafka and writes the Parquet tables processed_data, dead_letters, alerts,
                sensor_aggregates and site_aggregates under the lake root, each exactly once.

                Flags:
                """ + JobSettings.loader().usage() + """

                Exit codes: 0 done, 1 a query or the start-up guard failed, 2 bad flags or settings.
                """;
    }
}
