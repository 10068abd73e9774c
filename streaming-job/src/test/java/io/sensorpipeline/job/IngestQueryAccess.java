package io.sensorpipeline.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.time.Duration;

/** The ingest query's streaming steps, for tests in other packages. */
public final class IngestQueryAccess
{
    private IngestQueryAccess() {}

    public static Dataset<Row> deduplicateAndCount(Dataset<Row> classified, Duration watermarkDelay)
    {
        return IngestQuery.observeCounts(IngestQuery.deduplicate(classified, watermarkDelay));
    }
}
