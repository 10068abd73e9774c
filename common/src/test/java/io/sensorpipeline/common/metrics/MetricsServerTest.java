package io.sensorpipeline.common.metrics;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MetricsServerTest
{
    @Test
    void servesTheRegistryOnTheGivenAddress()
            throws Exception
    {
        try (MetricsServer server = MetricsServer.start("127.0.0.1", 0, new PrometheusRegistry())) {
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.url())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("jvm_memory_used_bytes");
        }
    }

    @Test
    void aPortInUseIsABadMetricsPort()
            throws IOException
    {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            assertThatThrownBy(() -> MetricsServer.start("127.0.0.1", taken.getLocalPort(), new PrometheusRegistry()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("invalid setting metrics-port=" + taken.getLocalPort() + ": 127.0.0.1:" + taken.getLocalPort() + " is in use");
        }
    }

    @Test
    void anAddressThatIsNotThisMachinesIsABadMetricsHost()
    {
        // .invalid never resolves (RFC 2606); 203.0.113.77 (TEST-NET-3) is no interface's address.
        assertThatThrownBy(() -> MetricsServer.start("nohost.invalid", 0, new PrometheusRegistry()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid setting metrics-host=nohost.invalid: cannot serve metrics on nohost.invalid:0");
        assertThatThrownBy(() -> MetricsServer.start("203.0.113.77", 0, new PrometheusRegistry()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid setting metrics-host=203.0.113.77: cannot serve metrics on 203.0.113.77:0");
    }
}
