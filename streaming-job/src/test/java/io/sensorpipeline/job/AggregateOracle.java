package io.sensorpipeline.job;

import io.sensorpipeline.job.transform.WindowedAggregates;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.execution.streaming.CommitLog;
import org.apache.spark.sql.execution.streaming.FileStreamSource;
import org.apache.spark.sql.execution.streaming.FileStreamSourceLog;
import org.apache.spark.sql.execution.streaming.FileStreamSourceOffset;
import org.apache.spark.sql.execution.streaming.Offset;
import org.apache.spark.sql.execution.streaming.OffsetSeq;
import org.apache.spark.sql.execution.streaming.OffsetSeqLog;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.collection.JavaConverters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.negate;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.substring_index;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.timestamp_millis;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.window;

/**
 * What a windowed aggregate table must hold, worked out from its input table and the aggregate query's own
 * checkpoint, and compared with what it holds.
 * <p>
 * The query's offset log holds each micro-batch's watermark and how far into its file source's log the batch read;
 * that log says which input files each of its entries added. In batch {@code b} Spark drops a reading as late when its
 * window ends at or before the watermark of batch {@code b - 1} ({@code getInputWatermarkForLateEvents}, Spark 3.5),
 * and emits a window once the watermark passes its end. So every window the final watermark closed must have its row,
 * counting exactly its readings that were not late; a lost or repeated batch, or state lost across a kill, shows as a
 * window missing, or counting too many or too few.
 * <p>
 * The readings are those of the files the source log lists, read as the query read them, so a table compacted since
 * (its log lists new files that hold the same rows) is checked as well: the rows of the input table and the rows of
 * the files the query read must be the same, none missing on either side and none twice.
 * <p>
 * The source log's entries are not the query's batches: a batch without new files (one that only moves the watermark
 * on and emits windows) adds no entry. Such a batch is also how an aggregate query could drop a reading that the
 * ingest query kept, which is why the job's aggregates run none while ingest runs (see {@link AggregatesQuery}); the
 * crash tests check that none was dropped.
 */
final class AggregateOracle
{
    private AggregateOracle() {}

    /**
     * @param unreadRows rows of the input table that are in no file the query read
     * @param readRowsNotInInput rows of the files the query read that the input table does not hold (or holds fewer
     *      times)
     * @param firstWrong the first windows (at most 20) that are missing, not closed, or count other than expected
     */
    record Result(long closedWindows, long readings, long late, Timestamp finalWatermark, long unreadRows, long readRowsNotInInput, long wrongWindows,
            List<String> firstWrong)
    {
        @Override
        public String toString()
        {
            return String.format("%d windows closed by the final watermark %s, %d readings in them, %d dropped as late by Spark's rule, %d windows wrong, "
                            + "%d rows of the input not read, %d rows read not in the input",
                    closedWindows, finalWatermark, readings, late, wrongWindows, unreadRows, readRowsNotInInput);
        }
    }

    /**
     * @param input the input table's location; its name is the last part of the path
     * @param table the aggregate table's location, with the columns {@code window_start}, {@code readings} and the keys
     * @param checkpoint the aggregate query's checkpoint (one file source, the input table)
     * @param window the query's window, tumbling, on the input's column {@code timestamp}
     * @param key the columns the query groups by besides the window
     */
    static Result check(SparkSession spark, String input, String table, String checkpoint, Duration window, String... key)
    {
        QueryBatches batches = QueryBatches.read(spark, checkpoint);
        long finalWatermark = batches.watermarks()[batches.watermarks().length - 1];
        String marker = "/" + input.substring(input.lastIndexOf('/') + 1) + "/";
        List<Row> batchOfFile = new ArrayList<>();
        List<String> readFiles = new ArrayList<>();
        for (FileStreamSource.FileEntry entry : new FileStreamSourceLog(FileStreamSourceLog.VERSION(), spark, checkpoint + "/sources/0").allFiles()) {
            int batch = batches.readingEntry(entry.batchId());
            batchOfFile.add(RowFactory.create(entry.path(), batch, batch == 0 ? 0L : batches.watermarks()[batch - 1]));
            readFiles.add(entry.path());
        }
        requireOnStorage(spark, readFiles);
        // Files by their path under the table, however each side spells the URI (file:/, file:///, hdfs://host:port/).
        Dataset<Row> files = spark.createDataFrame(batchOfFile, new StructType()
                        .add("path", DataTypes.StringType)
                        .add("batch", DataTypes.IntegerType)
                        .add("late_at_or_before_ms", DataTypes.LongType))
                .withColumn("file", substring_index(col("path"), marker, -1));
        // The files as the query read them, with the partition columns of the table they were read from.
        Dataset<Row> readRows = readFiles.isEmpty()
                ? spark.read().parquet(input).limit(0)
                : spark.read().option("basePath", readFiles.get(0).substring(0, readFiles.get(0).lastIndexOf(marker) + marker.length() - 1))
                        .parquet(readFiles.toArray(String[]::new));
        Dataset<Row> inputRows = spark.read().parquet(input);
        Column[] columns = Arrays.stream(inputRows.columns()).map(functions::col).toArray(Column[]::new);
        // Both directions of exceptAll in one aggregation (exceptAll is one too): how many times more each distinct row
        // is in the input than in the files read.
        Row surplus = inputRows.select(columns).withColumn("oracle_side", lit(1L))
                .union(readRows.select(columns).withColumn("oracle_side", lit(-1L)))
                .groupBy(columns)
                .agg(sum("oracle_side").as("surplus"))
                .agg(sum(when(col("surplus").gt(0), col("surplus"))), sum(when(col("surplus").lt(0), negate(col("surplus")))))
                .first();
        long unreadRows = surplus.isNullAt(0) ? 0 : surplus.getLong(0);
        long readRowsNotInInput = surplus.isNullAt(1) ? 0 : surplus.getLong(1);
        Dataset<Row> read = readRows
                .withColumn("file", substring_index(input_file_name(), marker, -1))
                .join(files, JavaConverters.asScalaBuffer(List.of("file")).toSeq(), "inner");

        List<Column> grouping = new ArrayList<>(List.of(col("window")));
        List<String> joinColumns = new ArrayList<>(Arrays.asList(key));
        joinColumns.add("window_start");
        Arrays.stream(key).map(functions::col).forEach(grouping::add);
        Column late = col("window.end").leq(timestamp_millis(col("late_at_or_before_ms")));
        Dataset<Row> expected = read.withColumn("window", window(col("timestamp"), WindowedAggregates.interval(window)))
                .groupBy(grouping.toArray(Column[]::new))
                .agg(count(when(not(late), true)).as("expected"), count(when(late, true)).as("late"))
                .where(col("window.end").leq(timestamp_millis(lit(finalWatermark))))
                .withColumn("window_start", col("window.start"))
                .drop("window")
                .cache();
        try {
            Row totals = expected.agg(count(when(col("expected").gt(0), true)), sum("expected"), sum("late")).first();

            Dataset<Row> written = spark.read().parquet(table).select(Stream.concat(joinColumns.stream(), Stream.of("readings")).map(functions::col).toArray(Column[]::new));
            Dataset<Row> wrong = expected.where(col("expected").gt(0))
                    .join(written, JavaConverters.asScalaBuffer(joinColumns).toSeq(), "full_outer")
                    .where(col("expected").isNull().or(col("readings").isNull()).or(col("readings").notEqual(col("expected"))))
                    .cache();
            List<String> shown = new ArrayList<>();
            for (Row row : wrong.orderBy("window_start").limit(20).collectAsList()) {
                StringBuilder line = new StringBuilder();
                for (String column : joinColumns) {
                    line.append(column).append('=').append(row.<Object>getAs(column)).append(' ');
                }
                shown.add(line + "expected=" + row.getAs("expected") + " late=" + row.getAs("late") + " written=" + row.getAs("readings"));
            }
            long wrongCount = wrong.count();
            wrong.unpersist();
            return new Result(totals.getLong(0), totals.isNullAt(1) ? 0 : totals.getLong(1), totals.isNullAt(2) ? 0 : totals.getLong(2),
                    new Timestamp(finalWatermark), unreadRows, readRowsNotInInput, wrongCount, shown);
        }
        finally {
            expected.unpersist();
        }
    }

    /** Each file the query read must still be there (a compaction's clean-up deletes the files it replaced). */
    private static void requireOnStorage(SparkSession spark, List<String> files)
    {
        Configuration hadoop = spark.sessionState().newHadoopConf();
        List<String> gone = files.stream().filter(file -> {
            Path path = new Path(URI.create(file));
            try {
                return !path.getFileSystem(hadoop).exists(path);
            }
            catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).limit(5).toList();
        if (!gone.isEmpty()) {
            throw new AssertionError("files the query read are no longer on storage, so the oracle cannot read them (a compaction's retention shorter "
                    + "than the test?): " + gone);
        }
    }

    /**
     * A streaming query's micro-batches, from its offset log: each one's watermark, and the offset in its (one) file
     * source's log up to which it read. The last batch must be committed.
     */
    private record QueryBatches(long[] watermarks, long[] logOffsets)
    {
        static QueryBatches read(SparkSession spark, String checkpoint)
        {
            OffsetSeqLog offsets = new OffsetSeqLog(spark, checkpoint + "/offsets");
            long latest = (Long) offsets.getLatest().get()._1();
            long committed = (Long) new CommitLog(spark, checkpoint + "/commits").getLatest().get()._1();
            if (committed != latest) {
                throw new AssertionError("the last batch of " + checkpoint + " is not committed: offsets up to " + latest + ", commits up to " + committed);
            }
            long[] watermarks = new long[Math.toIntExact(latest + 1)];
            long[] logOffsets = new long[watermarks.length];
            for (int batch = 0; batch <= latest; batch++) {
                scala.Option<OffsetSeq> offset = offsets.get(batch);
                if (offset.isEmpty()) {
                    throw new AssertionError("no offsets of batch " + batch + " in " + checkpoint + " (Spark keeps the last 100)");
                }
                watermarks[batch] = offset.get().metadata().get().batchWatermarkMs();
                scala.Option<org.apache.spark.sql.connector.read.streaming.Offset> source = offset.get().offsets().head();
                logOffsets[batch] = source.isEmpty() ? -1 : FileStreamSourceOffset.apply((Offset) source.get()).logOffset();
            }
            return new QueryBatches(watermarks, logOffsets);
        }

        /** The batch that read the source log's entry {@code entry}: the first whose offset reaches it. */
        int readingEntry(long entry)
        {
            for (int batch = 0; batch < logOffsets.length; batch++) {
                if (logOffsets[batch] >= entry) {
                    return batch;
                }
            }
            throw new AssertionError("no batch read entry " + entry + " of the source log; the batches read up to " + Arrays.toString(logOffsets));
        }
    }
}
