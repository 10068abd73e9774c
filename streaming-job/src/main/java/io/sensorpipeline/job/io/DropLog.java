package io.sensorpipeline.job.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager;
import org.apache.spark.sql.execution.streaming.CheckpointFileManager$;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Properties;

import static java.util.Objects.requireNonNull;

/**
 * The rows the ingest query's de-duplication dropped, as running totals kept beside its checkpoint: one small file
 * {@code <checkpoint>/drops/<batchId>} per micro-batch, holding the totals up to and including that batch.
 *
 * <p>The micro-batch writes its file itself, after its tables and before Spark commits the batch, from the same
 * execution that wrote the tables. A batch that a crash makes Spark run again reads the same earlier totals, drops as
 * many rows from the same input and state (which copy of a duplicate survives may differ, the count does not), and
 * writes the same file again. So the totals of a batch count every batch up to it exactly once, which the listener
 * bus cannot promise: its progress events come after the commit, and a crash
 * in between loses one. {@code ./pipeline verify} checks the tables against these totals.
 *
 * <p>The counts are Spark's operator metrics, which are accumulators: exact in local mode, and on a cluster as long as
 * no task of the ingest query is retried, run speculatively, or recomputed after an executor is lost (Spark may then
 * count a partition twice). {@code verify} then reports a mismatch although the tables are right.
 *
 * <p>Files older than {@link #RETAINED} batches are deleted as the query goes; {@code --reset} deletes them with the
 * checkpoint.
 */
public final class DropLog
{
    private static final Logger LOG = LoggerFactory.getLogger(DropLog.class);
    public static final int RETAINED = 10;

    private final Path directory;
    private final Configuration configuration;
    private CheckpointFileManager files;
    // The totals this instance wrote last: the next batch adds to them without reading them back.
    private Totals written;

    public DropLog(Configuration configuration, String checkpoint)
    {
        this.configuration = requireNonNull(configuration, "configuration is null");
        this.directory = new Path(new Path(requireNonNull(checkpoint, "checkpoint is null")), "drops");
    }

    /** Running totals from batch {@code sinceBatch} through {@code batchId}; {@code sinceBatch} is 0 when they are complete. */
    public record Totals(long batchId, long sinceBatch, long duplicates, long late)
    {
        public boolean complete()
        {
            return sinceBatch == 0;
        }

        Totals plus(long batchId, long duplicates, long late)
        {
            return new Totals(batchId, sinceBatch, this.duplicates + duplicates, this.late + late);
        }
    }

    /**
     * Records what batch {@code batchId} dropped, on top of the totals of the batch before it. When the file of the
     * batch before is missing (a checkpoint from before this log), the totals start at this batch.
     */
    public synchronized Totals record(long batchId, long duplicates, long late)
    {
        Totals before = written != null && written.batchId() == batchId - 1
                ? written
                : totals(batchId - 1).orElse(new Totals(batchId - 1, batchId, 0, 0));
        Totals totals = before.plus(batchId, duplicates, late);
        try {
            if (files == null) {
                files = CheckpointFileManager$.MODULE$.create(directory, configuration);
                files.mkdirs(directory);
            }
            CheckpointFileManager.CancellableFSDataOutputStream out = files.createAtomic(new Path(directory, Long.toString(batchId)), true);
            try {
                out.write(format(totals).getBytes(StandardCharsets.UTF_8));
                out.close();
            }
            catch (IOException | RuntimeException e) {
                out.cancel();
                throw e;
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot write " + new Path(directory, Long.toString(batchId)) + ": " + e.getMessage(), e);
        }
        written = totals;
        if (batchId >= RETAINED) {
            Path old = new Path(directory, Long.toString(batchId - RETAINED));
            try {
                old.getFileSystem(configuration).delete(old, false);
            }
            catch (IOException e) {
                // Only a stale file that stays behind: the batch's own totals are written.
                LOG.warn("cannot delete {}: {}", old, e.getMessage());
            }
        }
        return totals;
    }

    /** The totals up to and including batch {@code batchId}; empty when that batch wrote none (or they were deleted). */
    public Optional<Totals> totals(long batchId)
    {
        if (batchId < 0) {
            return Optional.of(new Totals(-1, 0, 0, 0));
        }
        Path file = new Path(directory, Long.toString(batchId));
        try (InputStream in = file.getFileSystem(configuration).open(file)) {
            return Optional.of(parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), file));
        }
        catch (FileNotFoundException e) {
            return Optional.empty();
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    static String format(Totals totals)
    {
        return "batchId=" + totals.batchId() + "\n"
                + "sinceBatch=" + totals.sinceBatch() + "\n"
                + "duplicates=" + totals.duplicates() + "\n"
                + "late=" + totals.late() + "\n";
    }

    static Totals parse(String text, Path file)
            throws IOException
    {
        Properties properties = new Properties();
        properties.load(new StringReader(text));
        try {
            return new Totals(
                    Long.parseLong(properties.getProperty("batchId")),
                    Long.parseLong(properties.getProperty("sinceBatch")),
                    Long.parseLong(properties.getProperty("duplicates")),
                    Long.parseLong(properties.getProperty("late")));
        }
        catch (NumberFormatException e) {
            throw new IOException(file + " is not a drop-log file: " + text.strip(), e);
        }
    }
}
