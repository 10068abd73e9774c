package io.sensorpipeline.producer;

import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;

import static java.util.Objects.requireNonNull;

/**
 * Runs a source on its own thread, a few thousand records ahead, so that generating and encoding readings overlaps
 * with the sending thread's batching and compression instead of adding to it. The order is the source's order, so
 * the stream stays deterministic.
 */
final class PrefetchingSource
        implements RecordSource
{
    private static final int CHUNK = 512;
    private static final int CHUNKS_AHEAD = 8;
    private static final Outgoing[] END = new Outgoing[0];

    private final RecordSource source;
    private final BlockingQueue<Outgoing[]> chunks = new ArrayBlockingQueue<>(CHUNKS_AHEAD);
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private final Thread thread;
    private Outgoing[] current = new Outgoing[0];
    private int position;
    private boolean ended;

    PrefetchingSource(RecordSource source)
    {
        this.source = requireNonNull(source, "source is null");
        this.thread = new Thread(this::fill, "producer-generator");
        thread.setDaemon(true);
        thread.start();
    }

    private void fill()
    {
        try {
            while (true) {
                Outgoing[] chunk = new Outgoing[CHUNK];
                int size = 0;
                while (size < CHUNK) {
                    Outgoing record = source.next();
                    if (record == null) {
                        break;
                    }
                    chunk[size++] = record;
                }
                if (size > 0) {
                    chunks.put(size == CHUNK ? chunk : Arrays.copyOf(chunk, size));
                }
                if (size < CHUNK) {
                    chunks.put(END);
                    return;
                }
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        catch (RuntimeException e) {
            failure.set(e);
            chunks.offer(END);
        }
    }

    @Override
    public Outgoing next()
    {
        if (position == current.length) {
            if (ended) {
                return null;
            }
            try {
                current = chunks.take();
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the generator", e);
            }
            position = 0;
            if (current == END) {
                ended = true;
                if (failure.get() != null) {
                    throw failure.get();
                }
                return null;
            }
        }
        return current[position++];
    }

    @Override
    public void close()
    {
        thread.interrupt();
        source.close();
    }
}
