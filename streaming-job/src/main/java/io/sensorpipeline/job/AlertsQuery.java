package io.sensorpipeline.job;

import io.sensorpipeline.job.io.TableSink;
import io.sensorpipeline.job.metrics.JobMetrics;
import io.sensorpipeline.job.transform.Alerts;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;

import java.util.List;
import java.util.concurrent.TimeoutException;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

/**
 * The {@code alerts} query: readings outside their alert band (from {@code processed_data}) and stuck sensors (from
 * {@code sensor_aggregates}), both read from the tables' committed files, written exactly once to the {@code alerts}
 * table and, at least once (as every Kafka sink), to the alerts topic as JSON keyed by sensorId; the alertId lets a
 * consumer drop a repeat.
 */
public final class AlertsQuery
{
    public static final String NAME = "alerts";

    private final SparkSession spark;
    private final JobSettings settings;

    public AlertsQuery(SparkSession spark, JobSettings settings)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    public StreamingQuery start(Dataset<Row> processed, Dataset<Row> sensorAggregates)
            throws TimeoutException
    {
        // Counted per source: with two file sources, Spark's own count of input rows is 0 whenever one has no new files.
        Dataset<Row> alerts = Alerts.outOfBand(JobMetrics.countInput(processed, "processed_data"))
                .unionByName(Alerts.stuck(JobMetrics.countInput(sensorAggregates, "sensor_aggregates"), settings.stuckReadings()));
        TableSink table = new TableSink(spark, NAME, settings.tablePath(NAME), List.of("event_date"));
        VoidFunction2<Dataset<Row>, Long> write = (batch, batchId) -> {
            batch.persist();
            try {
                // One file per day per batch: alerts are few, and a file per shuffle partition would be a swamp.
                table.write(batchId, batch.repartition(1));
                batch.select(col("sensorId").as("key"), to_json(struct(col("*"))).as("value"))
                        .write()
                        .format("kafka")
                        .options(settings.kafkaOptions())
                        .option("topic", settings.alertsTopic())
                        .save();
            }
            finally {
                batch.unpersist();
            }
        };
        Dataset<Row> counted = alerts.observe(JobMetrics.ALERT_COUNTS,
                count(when(col("rule").equalTo(Alerts.OUT_OF_BAND), true)).as(Alerts.OUT_OF_BAND),
                count(when(col("rule").equalTo(Alerts.STUCK_SENSOR), true)).as(Alerts.STUCK_SENSOR));
        return counted.writeStream()
                .queryName(NAME)
                .option("checkpointLocation", settings.checkpointPath(NAME))
                .trigger(IngestQuery.trigger(settings))
                .foreachBatch(write)
                .start();
    }
}
