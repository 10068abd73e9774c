package io.sensorpipeline.job.metrics;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressLogTest
{
    @Test
    void sizesAreInTheLargestUnitThatKeepsTheNumberAtOneOrMore()
    {
        assertThat(ProgressLog.size(0)).isEqualTo("0 B");
        assertThat(ProgressLog.size(1023)).isEqualTo("1023 B");
        assertThat(ProgressLog.size(1024)).isEqualTo("1.0 KB");
        assertThat(ProgressLog.size(1_048_524)).isEqualTo("1023.9 KB");
        assertThat(ProgressLog.size(1_048_550)).as("1023.97 KB, which one decimal rounds up").isEqualTo("1.0 MB");
        assertThat(ProgressLog.size(432_013_312)).isEqualTo("412.0 MB");
        assertThat(ProgressLog.size(3L << 30)).isEqualTo("3.0 GB");
        assertThat(ProgressLog.size(5L << 40)).isEqualTo("5120.0 GB");
    }
}
