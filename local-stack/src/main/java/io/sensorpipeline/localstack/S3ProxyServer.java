package io.sensorpipeline.localstack;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * A real S3 endpoint on 127.0.0.1: S3Proxy with its filesystem backend (a bucket is a directory), in its own JVM, for
 * the S3 integration tests; {@code ./pipeline s3} runs the same jar with the same settings.
 */
public final class S3ProxyServer
        implements AutoCloseable
{
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private final Process process;
    private final int port;
    private final String identity;
    private final String credential;

    private S3ProxyServer(Process process, int port, String identity, String credential)
    {
        this.process = process;
        this.port = port;
        this.identity = identity;
        this.credential = credential;
    }

    /** Starts S3Proxy with the given bucket (created empty) under {@code directory}; waits until it accepts connections. */
    public static S3ProxyServer start(Path directory, int port, String bucket, String identity, String credential)
            throws IOException, InterruptedException
    {
        requireNonNull(bucket, "bucket is null");
        Path data = directory.resolve("data");
        Files.createDirectories(data.resolve(bucket));
        Path properties = directory.resolve("s3proxy.conf");
        Files.writeString(properties, String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + identity,
                "s3proxy.credential=" + credential,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + data.toAbsolutePath(),
                ""));
        Process process = new ProcessBuilder(List.of(javaBinary(), "-Xmx512m", "-jar", jar().toString(), "--properties", properties.toString()))
                .redirectErrorStream(true)
                .redirectOutput(directory.resolve("s3proxy.log").toFile())
                .start();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!LocalProcesses.accepts(port)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IllegalStateException("S3Proxy did not start; see " + directory.resolve("s3proxy.log"));
            }
            Thread.sleep(100);
        }
        return new S3ProxyServer(process, port, identity, credential);
    }

    /** The s3proxy jar-with-dependencies, from the classpath file the build writes. */
    public static Path jar()
            throws IOException
    {
        try (InputStream in = S3ProxyServer.class.getResourceAsStream("s3proxy.classpath")) {
            if (in == null) {
                throw new IllegalStateException("s3proxy.classpath is missing: build local-stack first");
            }
            return Path.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
        }
    }

    public String endpoint()
    {
        return "http://127.0.0.1:" + port;
    }

    /** The S3A settings that reach this endpoint, each with Spark's {@code spark.hadoop.} prefix. */
    public List<String> sparkFlags()
    {
        return List.of(
                "--spark.hadoop.fs.s3a.endpoint", endpoint(),
                "--spark.hadoop.fs.s3a.endpoint.region", "us-east-1",
                "--spark.hadoop.fs.s3a.path.style.access", "true",
                "--spark.hadoop.fs.s3a.connection.ssl.enabled", "false",
                "--spark.hadoop.fs.s3a.access.key", identity,
                "--spark.hadoop.fs.s3a.secret.key", credential);
    }

    @Override
    public void close()
    {
        LocalProcesses.terminate(process.toHandle(), STOP_TIMEOUT);
    }

    private static String javaBinary()
    {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
