package io.sensorpipeline.job;

import org.junit.jupiter.api.Test;

import java.time.LocalDate;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TableCompactionTest
{
    @Test
    void fileSizesTakeUnits()
    {
        assertThat(TableCompaction.bytes("128MB")).isEqualTo(128L << 20);
        assertThat(TableCompaction.bytes("128m")).isEqualTo(128L << 20);
        assertThat(TableCompaction.bytes("1GiB")).isEqualTo(1L << 30);
        assertThat(TableCompaction.bytes("2097152")).isEqualTo(2L << 20);
        assertThatThrownBy(() -> TableCompaction.bytes("12x")).hasMessage("invalid --target-file-size '12x': expected a size such as 128MB or 1GB");
        assertThatThrownBy(() -> TableCompaction.bytes("100KB")).hasMessage("invalid --target-file-size '100KB': at least 1MB");
        assertThatThrownBy(() -> TableCompaction.bytes("99999999999G")).hasMessageContaining("expected a size");
    }

    @Test
    void daysAreDatesOrTodayAndYesterdayInUtc()
    {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        assertThat(TableCompaction.date("2026-11-23")).isEqualTo(LocalDate.of(2026, 11, 23));
        assertThat(TableCompaction.date("today")).isIn(today, today.plusDays(1));
        assertThat(TableCompaction.date("yesterday")).isIn(today.minusDays(1), today);
        assertThatThrownBy(() -> TableCompaction.date("2026-13-01")).hasMessage("invalid --date '2026-13-01': expected YYYY-MM-DD, today or yesterday (UTC)");
    }

    @Test
    void everyTableTheJobReadsAsAStreamHasItsReadersListed()
    {
        assertThat(TableCompaction.STREAMING_READERS.get(IngestQuery.PROCESSED_DATA))
                .containsExactlyInAnyOrder(StreamingJob.SENSOR_AGGREGATES, StreamingJob.SITE_AGGREGATES, AlertsQuery.NAME);
        assertThat(TableCompaction.STREAMING_READERS.get(StreamingJob.SENSOR_AGGREGATES)).containsExactly(AlertsQuery.NAME);
        assertThat(TableCompaction.STREAMING_READERS).doesNotContainKeys(IngestQuery.DEAD_LETTERS, AlertsQuery.NAME, StreamingJob.SITE_AGGREGATES);
    }
}
