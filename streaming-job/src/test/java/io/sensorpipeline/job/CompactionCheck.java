package io.sensorpipeline.job;

import io.sensorpipeline.job.io.SinkLog;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.xxhash64;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compacts one day of a table while another thread queries it over and over, and checks the promise: every query,
 * before, during and after, sees the same rows (count and a checksum over eventId, or over all columns for tables
 * without one); the log lists fewer files; the new files keep the old physical schema; and once the retention has
 * passed, the old files are gone from storage and the table still reads the same.
 */
final class CompactionCheck
{
    private CompactionCheck() {}

    /** What a reader of the day sees: its row count and an order-free checksum of its rows. */
    record Snapshot(long rows, long checksum) {}

    static Snapshot snapshot(SparkSession spark, String table, LocalDate date)
    {
        Row row = spark.read().parquet(table)
                .where(col("event_date").equalTo(lit(date.toString())))
                .agg(count(lit(1)), sum(xxhash64(col("*"))))
                .first();
        return new Snapshot(row.getLong(0), row.isNullAt(1) ? 0 : row.getLong(1));
    }

    /** The day of the table that the log lists the most files for. */
    static LocalDate busiestDay(SparkSession spark, JobSettings settings, String table)
            throws Exception
    {
        return new TableCompaction(spark, settings, System.out).busiestDay(table).orElseThrow();
    }

    static List<SinkLog.Entry> filesOf(Configuration hadoop, String table, LocalDate date)
            throws Exception
    {
        return SinkLog.of(hadoop, new Path(table)).committedFiles().stream()
                .filter(entry -> entry.partition().equals(TableCompaction.partition(date)))
                .toList();
    }

    static TableCompaction.Result compactWhileReading(SparkSession spark, JobSettings settings, String tableName, LocalDate date)
            throws Exception
    {
        Configuration hadoop = spark.sessionState().newHadoopConf();
        String table = settings.tablePath(tableName);
        Snapshot before = snapshot(spark, table, date);
        List<SinkLog.Entry> filesBefore = filesOf(hadoop, table, date);
        List<String> schemaBefore = TableCompaction.columns(schema(hadoop, filesBefore.get(0).path()));
        assertThat(before.rows()).isPositive();

        AtomicBoolean compacting = new AtomicBoolean(true);
        List<Snapshot> seen = Collections.synchronizedList(new ArrayList<>());
        ExecutorService reader = Executors.newSingleThreadExecutor();
        TableCompaction.Result result;
        try {
            Future<Integer> readsAfter = reader.submit(() -> {
                int after = 0;
                // Reads on until two queries have started after the compaction ended.
                while (after < 2) {
                    boolean ended = !compacting.get();
                    seen.add(snapshot(spark, table, date));
                    after += ended ? 1 : 0;
                }
                return after;
            });
            result = new TableCompaction(spark, settings, System.out).compact(tableName, date, TableCompaction.DEFAULT_TARGET_FILE_SIZE, Duration.ZERO);
            compacting.set(false);
            readsAfter.get();
        }
        finally {
            compacting.set(false);
            reader.shutdown();
        }

        assertThat(result.committed()).as(result.message()).isTrue();
        assertThat(seen).as("what queries saw before, during and after the compaction").hasSizeGreaterThanOrEqualTo(3).containsOnly(before);
        // Files committed after the log's latest .compact file stay as they are until a later run.
        List<SinkLog.Entry> filesAfter = filesOf(hadoop, table, date);
        List<SinkLog.Entry> replaced = filesBefore.stream().filter(file -> !filesAfter.contains(file)).toList();
        assertThat(replaced).hasSize(result.filesBefore());
        assertThat(filesAfter).hasSize(filesBefore.size() - result.filesBefore() + result.filesAfter()).hasSizeLessThan(filesBefore.size());
        assertThat(result.rows()).isEqualTo(replaced.stream().mapToLong(file -> rows(hadoop, file.path())).sum());
        assertThat(snapshot(spark, table, date)).isEqualTo(before);
        for (SinkLog.Entry file : filesAfter) {
            assertThat(TableCompaction.columns(schema(hadoop, file.path()))).as("the columns and physical types of %s", file.path()).isEqualTo(schemaBefore);
        }

        // The old files are still on storage (a query planned before the swap may read them) until the retention ends.
        org.apache.hadoop.fs.FileSystem fileSystem = new Path(table).getFileSystem(hadoop);
        assertThat(replaced).allMatch(file -> exists(fileSystem, file.path()));
        int deleted = new TableCompaction(spark, settings, System.out).cleanup(tableName, Duration.ZERO);
        assertThat(deleted).isEqualTo(replaced.size());
        assertThat(replaced).noneMatch(file -> exists(fileSystem, file.path()));
        assertThat(filesAfter).allMatch(file -> exists(fileSystem, file.path()));
        assertThat(snapshot(spark, table, date)).isEqualTo(before);
        return result;
    }

    static MessageType schema(Configuration hadoop, Path file)
            throws Exception
    {
        try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(file, hadoop))) {
            return reader.getFooter().getFileMetaData().getSchema();
        }
    }

    private static long rows(Configuration hadoop, Path file)
    {
        try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(file, hadoop))) {
            return reader.getRecordCount();
        }
        catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean exists(org.apache.hadoop.fs.FileSystem fileSystem, Path file)
    {
        try {
            return fileSystem.exists(file);
        }
        catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
