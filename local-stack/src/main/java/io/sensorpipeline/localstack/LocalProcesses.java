package io.sensorpipeline.localstack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What every local server needs: free ports on 127.0.0.1, a check that a port accepts connections, and a clean stop. */
public final class LocalProcesses
{
    public static final String HOST = "127.0.0.1";

    private LocalProcesses() {}

    /** Distinct free ports on {@link #HOST}: all sockets stay open until every port is picked. */
    public static int[] freePorts(int count)
    {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int index = 0; index < count; index++) {
                ServerSocket socket = new ServerSocket();
                sockets.add(socket);
                socket.bind(new InetSocketAddress(HOST, 0));
            }
            return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot find free ports on " + HOST, e);
        }
        finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                }
                catch (IOException e) {
                    // Nothing to do: the port is released with the socket either way.
                }
            }
        }
    }

    /** Whether something listens on the port of {@link #HOST}. */
    public static boolean accepts(int port)
    {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, port), 500);
            return true;
        }
        catch (IOException e) {
            return false;
        }
    }

    /** SIGTERM, then SIGKILL after the timeout; returns whether SIGKILL was needed. */
    public static boolean terminate(ProcessHandle handle, Duration timeout)
    {
        handle.destroy();
        if (awaitExit(handle, timeout)) {
            return false;
        }
        handle.destroyForcibly();
        awaitExit(handle, timeout);
        return true;
    }

    /** Whether the process ended within the timeout. */
    public static boolean awaitExit(ProcessHandle handle, Duration timeout)
    {
        try {
            handle.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        }
        catch (TimeoutException e) {
            return false;
        }
        catch (ExecutionException e) {
            throw new IllegalStateException("Cannot wait for process " + handle.pid(), e);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !handle.isAlive();
        }
    }
}
