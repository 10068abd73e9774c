package io.sensorpipeline.job.metrics;

import org.apache.spark.sql.streaming.SourceProgress;
import org.apache.spark.sql.streaming.StateOperatorProgress;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.Map;

/**
 * One log line per micro-batch of every query: rows in, how long the batch took and where the time went, the
 * watermark, the state operators' rows and memory, and what they dropped. Spark keeps this only in its query progress;
 * operators want it in the log.
 */
public final class ProgressLog
        extends StreamingQueryListener
{
    private static final Logger LOG = LoggerFactory.getLogger(ProgressLog.class);

    @Override
    public void onQueryStarted(QueryStartedEvent event)
    {
        LOG.info("query {} started (id {})", event.name(), event.id());
    }

    @Override
    public void onQueryProgress(QueryProgressEvent event)
    {
        if (LOG.isInfoEnabled()) {
            LOG.info(describe(event.progress()));
        }
    }

    @Override
    public void onQueryTerminated(QueryTerminatedEvent event)
    {
        if (event.exception().isDefined()) {
            LOG.error("query {} failed: {}", event.id(), event.exception().get());
        }
        else {
            LOG.info("query {} stopped", event.id());
        }
    }

    public static String describe(StreamingQueryProgress progress)
    {
        Map<String, Long> durations = progress.durationMs();
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s batch %d: %,d rows in %.2f s (write %.2f s, plan %.2f s, offsets %.2f s)",
                progress.name(), progress.batchId(), JobMetrics.inputRows(progress),
                seconds(durations, "triggerExecution"), seconds(durations, "addBatch"), seconds(durations, "queryPlanning"),
                seconds(durations, "latestOffset") + seconds(durations, "walCommit") + seconds(durations, "commitOffsets")));
        String watermark = progress.eventTime().get("watermark");
        if (watermark != null) {
            line.append(", watermark ").append(watermark);
        }
        for (StateOperatorProgress state : progress.stateOperators()) {
            line.append(String.format(Locale.ROOT, ", %s: %,d state rows in %s", state.operatorName(), state.numRowsTotal(), size(state.memoryUsedBytes())));
            if (state.numRowsDroppedByWatermark() > 0) {
                line.append(String.format(Locale.ROOT, ", %,d late rows dropped", state.numRowsDroppedByWatermark()));
            }
            Long duplicates = state.customMetrics().get("numDroppedDuplicateRows");
            if (duplicates != null && duplicates > 0) {
                line.append(String.format(Locale.ROOT, ", %,d duplicates dropped", duplicates));
            }
        }
        for (SourceProgress source : progress.sources()) {
            String behind = source.metrics().get("maxOffsetsBehindLatest");
            if (behind != null) {
                line.append(", max offsets behind ").append(behind);
            }
        }
        return line.toString();
    }

    /** A size in bytes, in the largest of B, KB, MB or GB (powers of 1,024) that keeps the number at 1 or more. */
    static String size(long bytes)
    {
        String[] units = {"B", "KB", "MB", "GB"};
        double value = bytes;
        int unit = 0;
        // Up a unit from what one decimal rounds to 1,024: 1,048,550 bytes (1023.97 KB) is 1.0 MB, not 1024.0 KB.
        while (value >= 1023.95 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    private static double seconds(Map<String, Long> durations, String key)
    {
        Long millis = durations.get(key);
        return millis == null ? 0 : millis / 1000.0;
    }
}
