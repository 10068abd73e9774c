package io.sensorpipeline.job.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.streaming.SourceProgress;
import org.apache.spark.sql.streaming.StateOperatorProgress;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.StreamingQueryProgress;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.LongSummaryStatistics;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;

/**
 * Turns every streaming query's progress into Prometheus metrics. Spark keeps most of this only in
 * {@link StreamingQueryProgress}, Kafka lag included; the counts of dead letters by reason, readings written and
 * alerts by rule come from the queries' observed metrics ({@link #INGEST_COUNTS}, {@link #ALERT_COUNTS}).
 *
 * <p>Every metric is named {@code sensorpipeline_*}, in base units; the README lists them with their labels.
 */
public final class JobMetrics
        extends StreamingQueryListener
{
    /** The name under which the ingest query observes its counts: {@code processed}, and one column per reason. */
    public static final String INGEST_COUNTS = "ingest_counts";
    /** The name under which the alerts query observes its counts: one column per rule. */
    public static final String ALERT_COUNTS = "alert_counts";
    public static final String PROCESSED = "processed";
    /** The prefix of the observations that count a query's input rows per source ({@link #countInput}). */
    public static final String INPUT_ROWS_PREFIX = "input_rows_";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double[] DURATION_BUCKETS = {0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300};

    private final Map<String, String> queryNames = new ConcurrentHashMap<>();

    private final Counter inputRows;
    private final Gauge inputRowsPerSecond;
    private final Gauge processedRowsPerSecond;
    private final Histogram batchDuration;
    private final Histogram triggerToCommit;
    private final Gauge stateRows;
    private final Gauge stateMemory;
    private final Gauge watermark;
    private final Gauge eventTimeLag;
    private final Gauge offsetsBehind;
    private final Counter duplicatesDropped;
    private final Counter lateRowsDropped;
    private final Counter processedRows;
    private final Counter deadLetters;
    private final Counter alerts;
    private final Gauge lastBatchId;
    private final Gauge lastCommit;
    private final Gauge active;
    private final Gauge triggerInterval;

    public JobMetrics(PrometheusRegistry registry)
    {
        requireNonNull(registry, "registry is null");
        inputRows = Counter.builder().name("sensorpipeline_query_input_rows")
                .help("Rows read by a streaming query (Kafka records for ingest, table rows for the others)")
                .labelNames("query").register(registry);
        inputRowsPerSecond = Gauge.builder().name("sensorpipeline_query_input_rows_per_second")
                .help("Rate at which rows arrived for the last micro-batch").labelNames("query").register(registry);
        processedRowsPerSecond = Gauge.builder().name("sensorpipeline_query_processed_rows_per_second")
                .help("Rate at which the last micro-batch processed its rows").labelNames("query").register(registry);
        batchDuration = Histogram.builder().name("sensorpipeline_query_batch_duration_seconds")
                .help("Time a micro-batch spent processing and writing its rows (Spark's addBatch)")
                .labelNames("query").classicOnly().classicUpperBounds(DURATION_BUCKETS).register(registry);
        triggerToCommit = Histogram.builder().name("sensorpipeline_query_trigger_to_commit_seconds")
                .help("Time from a micro-batch's trigger to its commit (Spark's triggerExecution)")
                .labelNames("query").classicOnly().classicUpperBounds(DURATION_BUCKETS).register(registry);
        stateRows = Gauge.builder().name("sensorpipeline_query_state_rows")
                .help("Rows held by a stateful operator").labelNames("query", "operator").register(registry);
        stateMemory = Gauge.builder().name("sensorpipeline_query_state_memory_bytes")
                .help("Memory used by a stateful operator's state").labelNames("query", "operator").register(registry);
        watermark = Gauge.builder().name("sensorpipeline_query_watermark_timestamp_seconds")
                .help("A query's event-time watermark, in seconds since the epoch").labelNames("query").register(registry);
        eventTimeLag = Gauge.builder().name("sensorpipeline_query_event_time_lag_seconds")
                .help("How far the newest event time of the last micro-batch was behind its trigger time")
                .labelNames("query").register(registry);
        offsetsBehind = Gauge.builder().name("sensorpipeline_kafka_offsets_behind_latest")
                .help("Kafka consumer lag of a query per topic: offsets from where its last batch ended to the end of each partition; "
                        + "the smallest, mean, largest and total over the topic's partitions")
                .labelNames("query", "topic", "statistic").register(registry);
        duplicatesDropped = Counter.builder().name("sensorpipeline_duplicates_dropped")
                .help("Readings dropped because their eventId was seen within the watermark").labelNames("query").register(registry);
        lateRowsDropped = Counter.builder().name("sensorpipeline_late_rows_dropped")
                .help("Rows dropped by a stateful operator because their event time was behind the watermark")
                .labelNames("query", "operator").register(registry);
        processedRows = Counter.builder().name("sensorpipeline_processed_rows")
                .help("Valid readings written to processed_data").register(registry);
        deadLetters = Counter.builder().name("sensorpipeline_dead_letters")
                .help("Rejected records written to dead_letters").labelNames("reason").register(registry);
        alerts = Counter.builder().name("sensorpipeline_alerts")
                .help("Alerts written to the alerts table and topic").labelNames("rule").register(registry);
        lastBatchId = Gauge.builder().name("sensorpipeline_query_last_batch_id")
                .help("Id of a query's last completed micro-batch").labelNames("query").register(registry);
        lastCommit = Gauge.builder().name("sensorpipeline_query_last_commit_timestamp_seconds")
                .help("When a query last committed a micro-batch, in seconds since the epoch").labelNames("query").register(registry);
        triggerInterval = Gauge.builder().name("sensorpipeline_query_trigger_interval_seconds")
                .help("A query's micro-batch interval (absent with available-now)").labelNames("query").register(registry);
        active = Gauge.builder().name("sensorpipeline_query_active")
                .help("1 while a query runs, 0 once it stopped or failed").labelNames("query").register(registry);
    }

    /** Publishes a query's trigger interval, against which alert rules compare its batch durations. */
    public void triggerInterval(String query, Duration interval)
    {
        triggerInterval.labelValues(query).set(interval.toMillis() / 1000.0);
    }

    @Override
    public void onQueryStarted(QueryStartedEvent event)
    {
        String name = event.name() == null ? event.id().toString() : event.name();
        queryNames.put(event.id().toString(), name);
        active.labelValues(name).set(1);
    }

    @Override
    public void onQueryProgress(QueryProgressEvent event)
    {
        record(event.progress());
    }

    @Override
    public void onQueryTerminated(QueryTerminatedEvent event)
    {
        String name = queryNames.get(event.id().toString());
        if (name != null) {
            active.labelValues(name).set(0);
        }
    }

    void record(StreamingQueryProgress progress)
    {
        String query = progress.name() == null ? progress.id().toString() : progress.name();
        inputRows.labelValues(query).inc(inputRows(progress));
        setIfFinite(inputRowsPerSecond, progress.inputRowsPerSecond(), query);
        setIfFinite(processedRowsPerSecond, progress.processedRowsPerSecond(), query);
        Map<String, Long> durations = progress.durationMs();
        Long addBatch = durations.get("addBatch");
        if (addBatch != null) {
            batchDuration.labelValues(query).observe(addBatch / 1000.0);
        }
        Long triggerExecution = durations.get("triggerExecution");
        if (triggerExecution != null) {
            triggerToCommit.labelValues(query).observe(triggerExecution / 1000.0);
        }
        Instant triggered = Instant.parse(progress.timestamp());
        lastBatchId.labelValues(query).set(progress.batchId());
        lastCommit.labelValues(query).set(seconds(triggered) + (triggerExecution == null ? 0 : triggerExecution / 1000.0));
        String watermarkText = progress.eventTime().get("watermark");
        if (watermarkText != null && !Instant.parse(watermarkText).equals(Instant.EPOCH)) {
            watermark.labelValues(query).set(seconds(Instant.parse(watermarkText)));
        }
        String maxEventTime = progress.eventTime().get("max");
        if (maxEventTime != null) {
            eventTimeLag.labelValues(query).set(seconds(triggered) - seconds(Instant.parse(maxEventTime)));
        }
        for (StateOperatorProgress state : progress.stateOperators()) {
            String operator = state.operatorName();
            stateRows.labelValues(query, operator).set(state.numRowsTotal());
            stateMemory.labelValues(query, operator).set(state.memoryUsedBytes());
            lateRowsDropped.labelValues(query, operator).inc(state.numRowsDroppedByWatermark());
            Long duplicates = state.customMetrics().get("numDroppedDuplicateRows");
            if (duplicates != null) {
                duplicatesDropped.labelValues(query).inc(duplicates);
            }
        }
        for (SourceProgress source : progress.sources()) {
            if (!source.metrics().containsKey("maxOffsetsBehindLatest")) {
                continue; // not a Kafka source, or one that has not read yet
            }
            behindLatest(source.endOffset(), source.latestOffset()).forEach((topic, behind) -> {
                LongSummaryStatistics partitions = behind.stream().mapToLong(Long::longValue).summaryStatistics();
                boolean none = partitions.getCount() == 0;
                offsetsBehind.labelValues(query, topic, "min").set(none ? 0 : partitions.getMin());
                offsetsBehind.labelValues(query, topic, "avg").set(partitions.getAverage());
                offsetsBehind.labelValues(query, topic, "max").set(none ? 0 : partitions.getMax());
                offsetsBehind.labelValues(query, topic, "sum").set(partitions.getSum());
            });
        }
        Row ingest = progress.observedMetrics().get(INGEST_COUNTS);
        if (ingest != null) {
            for (String field : ingest.schema().fieldNames()) {
                long count = ingest.getLong(ingest.fieldIndex(field));
                if (field.equals(PROCESSED)) {
                    processedRows.inc(count);
                }
                else {
                    deadLetters.labelValues(field).inc(count);
                }
            }
        }
        Row alertCounts = progress.observedMetrics().get(ALERT_COUNTS);
        if (alertCounts != null) {
            for (String rule : alertCounts.schema().fieldNames()) {
                alerts.labelValues(rule).inc(alertCounts.getLong(alertCounts.fieldIndex(rule)));
            }
        }
    }

    /**
     * A streaming source whose rows the query counts itself, as {@link #inputRows} reads them. Needed for a query that
     * reads more than one file table: when one of them has no new files, Spark plans the batch without it, cannot match
     * its sources to the executed plan, and reports 0 input rows for the whole batch. Count every source of such a
     * query: {@link #inputRows} then reads only these counts, so a source left out would be left out of the total.
     */
    public static Dataset<Row> countInput(Dataset<Row> source, String name)
    {
        return source.observe(INPUT_ROWS_PREFIX + name, count(lit(1)).as("rows"));
    }

    /**
     * The rows a micro-batch read: the sum of its {@link #countInput} observations when it has any, otherwise Spark's
     * own count.
     */
    public static long inputRows(StreamingQueryProgress progress)
    {
        long counted = 0;
        boolean observed = false;
        for (Map.Entry<String, Row> metric : progress.observedMetrics().entrySet()) {
            if (metric.getKey().startsWith(INPUT_ROWS_PREFIX)) {
                counted += metric.getValue().getLong(0);
                observed = true;
            }
        }
        return observed ? counted : progress.numInputRows();
    }

    /**
     * How far a Kafka source's micro-batch ended behind the end of each partition, by topic: the partition's latest
     * offset when the batch was planned minus the batch's end offset (0 for a partition the batch did not read), as
     * Spark's own {@code maxOffsetsBehindLatest} counts it, but per topic rather than over every partition of every
     * topic. Offsets as Spark's progress gives them: {@code {"topic":{"0":123,"1":456}}}; empty when either is missing.
     */
    static Map<String, List<Long>> behindLatest(String endOffset, String latestOffset)
    {
        Map<String, List<Long>> behind = new TreeMap<>();
        if (endOffset == null || latestOffset == null) {
            return behind;
        }
        try {
            JsonNode end = JSON.readTree(endOffset);
            JsonNode latest = JSON.readTree(latestOffset);
            for (Iterator<Map.Entry<String, JsonNode>> topics = latest.fields(); topics.hasNext(); ) {
                Map.Entry<String, JsonNode> topic = topics.next();
                List<Long> partitions = new ArrayList<>();
                for (Iterator<Map.Entry<String, JsonNode>> offsets = topic.getValue().fields(); offsets.hasNext(); ) {
                    Map.Entry<String, JsonNode> partition = offsets.next();
                    long read = end.path(topic.getKey()).path(partition.getKey()).asLong(0);
                    partitions.add(Math.max(0, partition.getValue().asLong() - read));
                }
                behind.put(topic.getKey(), partitions);
            }
        }
        catch (IOException e) {
            return Map.of(); // not Kafka's offsets: nothing to report
        }
        return behind;
    }

    private static void setIfFinite(Gauge gauge, double value, String query)
    {
        if (Double.isFinite(value)) {
            gauge.labelValues(query).set(value);
        }
    }

    private static double seconds(Instant instant)
    {
        return instant.getEpochSecond() + instant.getNano() / 1e9;
    }
}
