package io.sensorpipeline.localstack;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * A real Prometheus server (Debian's {@code prometheus} package, a plain process) on 127.0.0.1, for the monitoring
 * integration tests; {@code ./pipeline monitor} runs the same binary with the same flags.
 */
public final class Prometheus
        implements AutoCloseable
{
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private final Process process;
    private final int port;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Prometheus(Process process, int port)
    {
        this.process = process;
        this.port = port;
    }

    /** {@code promtool} on the PATH, if installed. */
    public static Optional<Path> promtool()
    {
        return onPath("promtool");
    }

    /** {@code prometheus} on the PATH, if installed. */
    public static Optional<Path> binary()
    {
        return onPath("prometheus");
    }

    /** Starts Prometheus with a configuration file, keeping its data and log under {@code dataDirectory}; waits until ready. */
    public static Prometheus start(Path config, Path dataDirectory, int port)
            throws IOException, InterruptedException
    {
        Path prometheus = binary().orElseThrow(() -> new IllegalStateException(
                "prometheus not found on PATH: install Debian's prometheus package (apt-get install prometheus)"));
        Files.createDirectories(dataDirectory);
        Process process = new ProcessBuilder(List.of(prometheus.toString(),
                "--config.file=" + config.toAbsolutePath(),
                "--storage.tsdb.path=" + dataDirectory.resolve("data").toAbsolutePath(),
                "--web.listen-address=127.0.0.1:" + port,
                "--web.enable-lifecycle"))
                .redirectErrorStream(true)
                .redirectOutput(dataDirectory.resolve("prometheus.log").toFile())
                .start();
        Prometheus server = new Prometheus(process, port);
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!server.ready()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IllegalStateException("prometheus did not become ready; see " + dataDirectory.resolve("prometheus.log")
                        + ": " + tail(dataDirectory.resolve("prometheus.log")));
            }
            Thread.sleep(200);
        }
        return server;
    }

    public String url()
    {
        return "http://127.0.0.1:" + port;
    }

    /** The JSON answer of {@code /api/v1/query} for an instant query. */
    public String query(String promql)
            throws IOException, InterruptedException
    {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url() + "/api/v1/query"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8)))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    private boolean ready()
    {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url() + "/-/ready")).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        }
        catch (IOException e) {
            return false;
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close()
    {
        LocalProcesses.terminate(process.toHandle(), STOP_TIMEOUT);
    }

    private static Optional<Path> onPath(String name)
    {
        requireNonNull(name, "name is null");
        String path = System.getenv().getOrDefault("PATH", "");
        return Arrays.stream(path.split(File.pathSeparator))
                .filter(directory -> !directory.isEmpty())
                .map(directory -> Path.of(directory, name))
                .filter(Files::isExecutable)
                .findFirst();
    }

    private static String tail(Path log)
    {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
