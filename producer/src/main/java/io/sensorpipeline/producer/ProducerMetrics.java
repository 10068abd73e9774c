package io.sensorpipeline.producer;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sensorpipeline.common.FaultKind;
import io.sensorpipeline.common.metrics.MetricsServer;

import java.util.function.LongSupplier;

import static java.util.Objects.requireNonNull;

/**
 * The producer's Prometheus metrics. Counts are read from {@link ProducerStats} when Prometheus scrapes, so the
 * sending thread does no extra work; only the send latency is observed per record, in the client's callback.
 */
final class ProducerMetrics
        implements AutoCloseable
{
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120};

    private final MetricsServer server;

    private ProducerMetrics(MetricsServer server)
    {
        this.server = server;
    }

    /** Registers the metrics of {@code stats} and serves them, with the JVM's, on {@code host:port} (0: any free port). */
    static ProducerMetrics start(String host, int port, ProducerStats stats, LongSupplier retries)
    {
        PrometheusRegistry registry = new PrometheusRegistry();
        register(registry, stats, retries);
        return new ProducerMetrics(MetricsServer.start(host, port, registry));
    }

    static void register(PrometheusRegistry registry, ProducerStats stats, LongSupplier retries)
    {
        requireNonNull(stats, "stats is null");
        CounterWithCallback.builder().name("sensorpipeline_producer_events_sent")
                .help("Records the brokers acknowledged")
                .callback(callback -> callback.call(stats.acknowledgedCount()))
                .register(registry);
        CounterWithCallback.builder().name("sensorpipeline_producer_send_errors")
                .help("Records that failed for good, by the client's exception")
                .labelNames("kind")
                .callback(callback -> stats.errorsByKind().forEach((kind, count) -> callback.call(count, kind)))
                .register(registry);
        CounterWithCallback.builder().name("sensorpipeline_producer_retries")
                .help("Batches the Kafka client sent again after a failure")
                .callback(callback -> callback.call(retries.getAsLong()))
                .register(registry);
        CounterWithCallback.builder().name("sensorpipeline_producer_records")
                .help("Records handed to the client, by what they are: valid, late, duplicate, replayed, or a malformed fault")
                .labelNames("category")
                .callback(callback -> stats.handedOverByCategory().forEach((category, count) -> callback.call(count, category)))
                .register(registry);
        CounterWithCallback.builder().name("sensorpipeline_producer_faults_injected")
                .help("Malformed records injected on purpose, by fault kind (each stands for one dead-letter reason)")
                .labelNames("kind", "reason")
                .callback(callback -> {
                    for (FaultKind fault : FaultKind.values()) {
                        callback.call(stats.handedOver(ProducerStats.faultCategory(fault)), fault.name(), fault.expectedReason().name());
                    }
                })
                .register(registry);
        GaugeWithCallback.builder().name("sensorpipeline_producer_rate_events_per_second")
                .help("Records acknowledged per second over the last progress interval")
                .callback(callback -> callback.call(stats.currentRate()))
                .register(registry);
        Histogram latency = Histogram.builder().name("sensorpipeline_producer_send_latency_seconds")
                .help("Time from handing a record to the client to the brokers' acknowledgement")
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS)
                .register(registry);
        stats.onLatency(nanos -> latency.observe(nanos / 1e9));
    }

    String url()
    {
        return server.url();
    }

    @Override
    public void close()
    {
        server.close();
    }
}
