package io.sensorpipeline.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

class LatencyReportTest
{
    private final SparkSession spark = SparkTestSession.get();

    @Test
    void percentilesAreInSecondsAndAnEmptySelectionHasNone()
    {
        // Latencies 1, 2, ..., 100 ms.
        Dataset<Row> rows = spark.range(1, 101).withColumnRenamed("id", "latency_ms");

        LatencyReport.Percentiles all = LatencyReport.Percentiles.of(rows);
        assertThat(all.rows()).isEqualTo(100);
        assertThat(all.p50()).isEqualTo(0.0505);
        assertThat(all.p95()).isEqualTo(0.09505);
        assertThat(all.maximum()).isEqualTo(0.1);
        assertThat(all.json()).isEqualTo("\"rows\":100,\"p50Seconds\":0.051,\"p95Seconds\":0.095,\"p99Seconds\":0.099,\"maxSeconds\":0.100");

        LatencyReport.Percentiles none = LatencyReport.Percentiles.of(rows.where(col("latency_ms").gt(100)));
        assertThat(none.rows()).isZero();
        assertThat(none.p95()).isNaN();
    }
}
