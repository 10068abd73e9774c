package io.sensorpipeline.job.io;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat;
import org.apache.spark.sql.execution.streaming.FileStreamSink;
import org.apache.spark.sql.execution.streaming.FileStreamSinkLog;
import scala.Option;
import scala.Tuple2;
import scala.collection.JavaConverters;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * One Parquet table written exactly once per micro-batch from inside {@code foreachBatch}, through the sink Spark's own
 * file sink uses: {@code FileStreamSink.addBatch} skips a batch id the table's {@code _spark_metadata} log already holds,
 * and commits a batch's files to the log atomically. So a batch that a crash makes Spark run again writes nothing twice,
 * and several tables can come out of one parse. See docs/streaming-job-design.md.
 *
 * <p>Every table of a query must be written on every batch id, even with no rows: the log assumes no gaps.
 */
public final class TableSink
{
    private final String name;
    private final String path;
    private final FileStreamSink sink;
    private final FileStreamSinkLog log;

    public TableSink(SparkSession spark, String name, String path, List<String> partitionColumns)
    {
        this(spark, name, path, partitionColumns, Map.of());
    }

    /** @param options Parquet writer settings for this table's files, such as {@link #withoutDictionary} */
    public TableSink(SparkSession spark, String name, String path, List<String> partitionColumns, Map<String, String> options)
    {
        this.name = requireNonNull(name, "name is null");
        this.path = requireNonNull(path, "path is null");
        this.sink = new FileStreamSink(
                requireNonNull(spark, "spark is null"),
                path,
                new ParquetFileFormat(),
                JavaConverters.asScalaBuffer(List.copyOf(partitionColumns)).toSeq(),
                scalaMap(options));
        // Spark's own reader of the table's log, as the sink keeps one: it tells which batch ids the table holds.
        this.log = new FileStreamSinkLog(FileStreamSinkLog.VERSION(), spark, new Path(path, FileStreamSink.metadataDir()).toString(), Option.empty());
    }

    private static scala.collection.immutable.Map<String, String> scalaMap(Map<String, String> options)
    {
        scala.collection.immutable.Map<String, String> map = scala.collection.immutable.Map$.MODULE$.empty();
        for (Map.Entry<String, String> option : options.entrySet()) {
            map = map.$plus(new Tuple2<>(option.getKey(), option.getValue()));
        }
        return map;
    }

    /**
     * Parquet writer options that turn dictionary encoding off for columns whose values are (nearly) all distinct, such
     * as ids, timestamps and measurements: Parquet would build a dictionary for each, find it too big, and fall back to
     * plain encoding after paying for the lookups.
     */
    public static Map<String, String> withoutDictionary(String... columns)
    {
        Map<String, String> options = new HashMap<>();
        for (String column : columns) {
            options.put("parquet.enable.dictionary#" + column, "false");
        }
        return Map.copyOf(options);
    }

    public String name()
    {
        return name;
    }

    public String path()
    {
        return path;
    }

    /** Whether the table has committed batch {@code batchId}, so that {@link #write} would skip it. */
    public boolean committed(long batchId)
    {
        return batchId <= (long) log.getLatestBatchId().getOrElse(() -> -1L);
    }

    /** Writes the rows of one micro-batch, unless this table already committed that batch id. */
    public void write(long batchId, Dataset<Row> rows)
    {
        sink.addBatch(batchId, rows);
    }
}
