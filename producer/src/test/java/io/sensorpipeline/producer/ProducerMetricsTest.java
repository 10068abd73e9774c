package io.sensorpipeline.producer;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sensorpipeline.common.FaultKind;
import io.sensorpipeline.common.metrics.MetricsText;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;


import static org.assertj.core.api.Assertions.assertThat;

class ProducerMetricsTest
{
    @Test
    void theStatsAreWhatPrometheusScrapes()
    {
        ProducerStats stats = new ProducerStats();
        PrometheusRegistry registry = new PrometheusRegistry();
        ProducerMetrics.register(registry, stats, () -> 7);
        stats.handedOver(new RecordSource.Outgoing(new byte[0], new byte[0], null, ProducerStats.VALID));
        stats.handedOver(new RecordSource.Outgoing(new byte[0], new byte[0], null, ProducerStats.VALID));
        stats.handedOver(new RecordSource.Outgoing(new byte[0], new byte[0], null, ProducerStats.DUPLICATE));
        stats.handedOver(new RecordSource.Outgoing(new byte[0], new byte[0], null, ProducerStats.faultCategory(FaultKind.NOT_UTF8)));
        stats.acknowledged(2_000_000);
        stats.acknowledged(30_000_000);
        stats.failed(new TimeoutException("expired"));
        stats.currentRate(1234.5);

        String text = MetricsText.scrape(registry);
        assertThat(text)
                .contains("sensorpipeline_producer_events_sent_total 2.0")
                .contains("sensorpipeline_producer_send_errors_total{kind=\"TimeoutException\"} 1.0")
                .contains("sensorpipeline_producer_retries_total 7.0")
                .contains("sensorpipeline_producer_records_total{category=\"valid\"} 2.0")
                .contains("sensorpipeline_producer_records_total{category=\"duplicate\"} 1.0")
                .contains("sensorpipeline_producer_records_total{category=\"malformed\"} 1.0")
                .contains("sensorpipeline_producer_faults_injected_total{kind=\"NOT_UTF8\",reason=\"MALFORMED_JSON\"} 1.0")
                .contains("sensorpipeline_producer_faults_injected_total{kind=\"FUTURE_TIMESTAMP\",reason=\"FUTURE_TIMESTAMP\"} 0.0")
                .contains("sensorpipeline_producer_rate_events_per_second 1234.5")
                .contains("sensorpipeline_producer_send_latency_seconds_bucket{le=\"0.0025\"} 1\n")
                .contains("sensorpipeline_producer_send_latency_seconds_bucket{le=\"0.05\"} 2\n")
                .contains("sensorpipeline_producer_send_latency_seconds_count 2\n");
    }
}
