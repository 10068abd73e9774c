package io.sensorpipeline.common.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.net.BindException;

import static java.util.Objects.requireNonNull;

/** A {@code /metrics} endpoint for Prometheus: a registry's metrics and the JVM's (the producer's and the job's). */
public final class MetricsServer
        implements AutoCloseable
{
    private final HTTPServer server;
    private final String host;

    private MetricsServer(HTTPServer server, String host)
    {
        this.server = server;
        this.host = host;
    }

    /**
     * Serves the registry, with the JVM's metrics added, on {@code host:port} (port 0: any free port).
     *
     * @throws IllegalArgumentException when the port is taken, naming the setting to change
     */
    public static MetricsServer start(String host, int port, PrometheusRegistry registry)
    {
        requireNonNull(host, "host is null");
        JvmMetrics.builder().register(registry);
        try {
            return new MetricsServer(HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart(), host);
        }
        catch (BindException e) {
            if (String.valueOf(e.getMessage()).contains("in use")) {
                throw new IllegalArgumentException("invalid setting metrics-port=" + port + ": " + host + ":" + port
                        + " is in use; choose a free port, or off to serve no metrics", e);
            }
            if (String.valueOf(e.getMessage()).contains("Permission denied")) {
                throw new IllegalArgumentException("invalid setting metrics-port=" + port + ": this user may not listen on "
                        + host + ":" + port + " (" + e.getMessage() + "); choose a port from 1024, or off to serve no metrics", e);
            }
            throw badHost(host, port, e);
        }
        catch (IOException e) {
            // An address that does not resolve, or is not this machine's: a bad setting, not a failure of the program.
            throw badHost(host, port, e);
        }
    }

    private static IllegalArgumentException badHost(String host, int port, IOException e)
    {
        return new IllegalArgumentException("invalid setting metrics-host=" + host + ": cannot serve metrics on " + host + ":" + port
                + " (" + e.getMessage() + "); give an address of this machine, such as 127.0.0.1 or 0.0.0.0", e);
    }

    public int port()
    {
        return server.getPort();
    }

    public String url()
    {
        return "http://" + host + ":" + port() + "/metrics";
    }

    @Override
    public void close()
    {
        server.close();
    }
}
