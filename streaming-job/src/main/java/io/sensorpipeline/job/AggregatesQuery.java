package io.sensorpipeline.job;

import io.sensorpipeline.common.settings.SettingsException;
import io.sensorpipeline.job.io.Checkpoint;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.streaming.DataStreamWriter;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import scala.Option;

import java.util.concurrent.TimeoutException;

import static java.util.Objects.requireNonNull;

/**
 * The query of one windowed aggregate ({@code sensor_aggregates}, {@code site_aggregates}): the aggregate of
 * {@code processed_data}'s committed files, appended to its table as the watermark closes each window.
 * <p>
 * With a processing-time trigger the query runs no micro-batch without new files, so it counts every reading the
 * ingest query kept. Spark keeps a watermark per query, and in batch {@code b} drops a reading whose window ended at or
 * before the watermark of batch {@code b - 1}. A batch without new files would move this query's watermark on to count
 * every reading read so far; the next batch would then check the ingest query's newest readings against a watermark
 * that already counts the ingest batch before them, while the ingest query checked them against one that did not.
 * Without such batches, the batch before the one that reads an ingest batch read an earlier ingest batch, the batches
 * before it only earlier ones still, so this query's watermark is never ahead of the one the ingest query checked the
 * reading against. The cost: a window closed by a batch's watermark is written by the next batch with new files, so
 * while no readings arrive the last windows wait.
 * <p>
 * With available-now, the query starts once the ingest query has ended. When ingest's latest batch did not move its
 * watermark on (Spark ends a run that moved it with a batch without new data), the watermark ingest checks its next
 * readings against counts every reading this query can read, and this query runs its own batch without data to write
 * the windows that are due. Otherwise (a run in which ingest found nothing new, after a run that was stopped) the
 * query runs none either, and those windows wait for a later run.
 */
public final class AggregatesQuery
{
    static final String NO_DATA_BATCHES = "spark.sql.streaming.noDataMicroBatches.enabled";
    static final String LEGACY_SESSION_INIT = "spark.sql.legacy.sessionInitWithConfigDefaults";

    private final JobSettings settings;

    public AggregatesQuery(JobSettings settings)
    {
        this.settings = requireNonNull(settings, "settings is null");
    }

    /**
     * Stops the job at start-up when the Spark configuration would undo this query's setting. With
     * {@code spark.sql.legacy.sessionInitWithConfigDefaults=true}, the copy of the settings that a query takes when it
     * starts gets the Spark configuration's values again ({@code BaseSessionStateBuilder.conf}), so a
     * {@code spark.sql.streaming.noDataMicroBatches.enabled} other than {@code false} there would give the aggregates
     * batches without new files, and they could drop readings that processed_data holds.
     */
    public static void checkSparkConf(SparkConf conf)
    {
        boolean legacy = conf.get(LEGACY_SESSION_INIT, "false").trim().equalsIgnoreCase("true");
        Option<String> noDataBatches = conf.getOption(NO_DATA_BATCHES);
        if (legacy && noDataBatches.isDefined() && !noDataBatches.get().trim().equalsIgnoreCase("false")) {
            throw new SettingsException(LEGACY_SESSION_INIT + "=" + conf.get(LEGACY_SESSION_INIT) + " together with " + NO_DATA_BATCHES + "="
                    + noDataBatches.get() + ": each query would take " + NO_DATA_BATCHES + " from the Spark configuration when it starts, so "
                    + "sensor_aggregates and site_aggregates would run micro-batches without new files and could drop readings that "
                    + "processed_data holds. Remove one of the two settings (the job turns those batches off for the aggregates alone).");
        }
    }

    /** Starts the query that appends {@code aggregate}, a streaming aggregate of processed_data, to {@code table}. */
    public StreamingQuery start(String table, Dataset<Row> aggregate)
            throws TimeoutException
    {
        // One file per day per batch: an aggregate batch holds a few thousand rows, and the state stays spread over the
        // shuffle partitions (the extra shuffle moves the output rows only).
        DataStreamWriter<Row> writer = aggregate.repartition(1).writeStream()
                .queryName(table)
                .format("parquet")
                .outputMode("append")
                .partitionBy("event_date")
                .option("path", settings.tablePath(table))
                .option("checkpointLocation", settings.checkpointPath(table));
        if (settings.trigger().isEmpty()) {
            writer.trigger(Trigger.AvailableNow());
            if (Checkpoint.watermarkCountsEveryRow(aggregate.sparkSession(), settings.checkpointPath(IngestQuery.NAME))) {
                return writer.start();
            }
        }
        else {
            writer.trigger(Trigger.ProcessingTime(settings.aggregatesTrigger().toMillis()));
        }
        // A query takes a copy of its session's settings when it starts, so the change holds for this query alone.
        RuntimeConfig conf = aggregate.sparkSession().conf();
        Option<String> before = conf.getOption(NO_DATA_BATCHES);
        conf.set(NO_DATA_BATCHES, false);
        try {
            return writer.start();
        }
        finally {
            if (before.isDefined()) {
                conf.set(NO_DATA_BATCHES, before.get());
            }
            else {
                conf.unset(NO_DATA_BATCHES);
            }
        }
    }
}
