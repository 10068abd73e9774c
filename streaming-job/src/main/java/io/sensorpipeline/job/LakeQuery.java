package io.sensorpipeline.job;

import io.sensorpipeline.job.io.SinkLog;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalog.Table;
import org.apache.spark.sql.catalyst.parser.ParseException;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * SQL over the lake: every table under the lake root is a view named after it, read through its {@code _spark_metadata}
 * log, so a query sees committed rows only.
 *
 * <p>Usage: {@code ./pipeline query [--tables] [--sql "SELECT ..."] [--rows N] [the job's flags]}
 */
public final class LakeQuery
{
    public static final List<String> TABLES = List.of(IngestQuery.PROCESSED_DATA, IngestQuery.DEAD_LETTERS, AlertsQuery.NAME,
            StreamingJob.SENSOR_AGGREGATES, StreamingJob.SITE_AGGREGATES);

    private static final String USAGE = "Usage: ./pipeline query [--tables] [--sql \"SELECT ...\"] [--rows N] [the streaming job's flags]\n"
            + "  --tables     rows per table, dead letters by reason, alerts by rule\n"
            + "  --sql SQL    a Spark SQL query over the tables, each a view of its name; prints the row count and the first rows\n"
            + "  --rows N     how many rows of --sql to print (default: 10)\n"
            + "  The job's flags (./pipeline stream --help) say where the lake is: --lake-root, --spark.*, --config FILE; the\n"
            + "  others it takes too (--checkpoint-root, say), so that one command line serves the job and its tools.";

    private final SparkSession spark;
    private final JobSettings settings;

    public LakeQuery(SparkSession spark, JobSettings settings)
    {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    public static void main(String[] arguments)
            throws IOException
    {
        List<String> rest = new ArrayList<>();
        String sql = null;
        boolean tables = false;
        int rows = 10;
        for (int index = 0; index < arguments.length; index++) {
            switch (arguments[index]) {
                case "--sql" -> sql = value(arguments, ++index, "--sql");
                case "--rows" -> rows = rowCount(value(arguments, ++index, "--rows"));
                case "--tables" -> tables = true;
                case "--help", "-h" -> {
                    System.out.println(USAGE + "\nTables: " + String.join(", ", TABLES));
                    return;
                }
                default -> rest.add(arguments[index]);
            }
        }
        if (!tables && sql == null) {
            System.err.println("query: nothing to do: give --tables, --sql \"SELECT ...\" or both\n" + USAGE);
            System.exit(2);
        }
        JobSettings settings = JobSettings.loadOrExit("query", rest);
        SparkSession spark = SparkSession.builder().config(settings.sparkConf("sensor-pipeline-query")).getOrCreate();
        int exitCode = 0;
        try {
            LakeQuery query = new LakeQuery(spark, settings);
            query.registerViews();
            if (tables) {
                query.printTableCounts(System.out);
            }
            if (sql != null) {
                query.printQuery(sql, rows, System.out);
            }
        }
        catch (Exception e) {
            if (!(e instanceof AnalysisException analysis)) {
                throw e;
            }
            // Bad SQL, or a table that has no files yet: Spark's message says which, without the stack (and, for a
            // query that parsed, without the plan).
            String message = analysis instanceof ParseException ? analysis.getMessage() : analysis.getSimpleMessage();
            System.err.println("query: " + message + "\nviews: " + spark.catalog().listTables().collectAsList().stream().map(Table::name).sorted().collect(Collectors.joining(", ")));
            exitCode = 2;
        }
        finally {
            spark.stop();
        }
        System.exit(exitCode);
    }

    private static String value(String[] arguments, int index, String flag)
    {
        if (index >= arguments.length) {
            System.err.println("query: " + flag + " needs a value");
            System.exit(2);
        }
        return arguments[index];
    }

    private static int rowCount(String value)
    {
        if (!value.matches("[0-9]{1,9}")) {
            System.err.println("query: --rows must be a whole number from 0, got '" + value + "'");
            System.exit(2);
        }
        return Integer.parseInt(value);
    }

    /** Registers a view per table that has committed files. */
    public void registerViews()
            throws IOException
    {
        for (String table : TABLES) {
            if (exists(settings.tablePath(table))) {
                spark.read().parquet(settings.tablePath(table)).createOrReplaceTempView(table);
            }
        }
    }

    public void printTableCounts(PrintStream out)
            throws IOException
    {
        out.println("rows per table (" + settings.lakeRoot() + "):");
        for (String table : TABLES) {
            if (!exists(settings.tablePath(table))) {
                out.printf(Locale.ROOT, "  %-20s %12s%n", table, "(none yet)");
                continue;
            }
            out.printf(Locale.ROOT, "  %-20s %,12d%n", table, spark.table(table).count());
        }
        if (exists(settings.tablePath(IngestQuery.DEAD_LETTERS))) {
            out.println("dead letters by reason:");
            for (Row row : spark.sql("SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY reason").collectAsList()) {
                out.printf(Locale.ROOT, "  %-20s %,12d%n", row.getString(0), row.getLong(1));
            }
        }
        if (exists(settings.tablePath(AlertsQuery.NAME))) {
            for (Row row : spark.sql("SELECT rule, count(*) FROM alerts GROUP BY rule ORDER BY rule").collectAsList()) {
                out.printf(Locale.ROOT, "alerts %-13s %,12d%n", row.getString(0), row.getLong(1));
            }
        }
    }

    public void printQuery(String sql, int rows, PrintStream out)
    {
        Dataset<Row> result = spark.sql(sql);
        out.println(sql);
        out.printf(Locale.ROOT, "%,d rows; the first %d:%n", result.count(), rows);
        out.print(result.showString(rows, 40, false));
    }

    /** Whether a table has committed files: Spark cannot read a table whose log lists none (no schema to infer). */
    private boolean exists(String location)
            throws IOException
    {
        Path path = new Path(location);
        FileSystem fileSystem = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
        if (!fileSystem.exists(path)) {
            return false;
        }
        return !fileSystem.exists(new Path(path, SinkLog.DIRECTORY))
                || !SinkLog.of(spark.sparkContext().hadoopConfiguration(), path).committedFiles().isEmpty();
    }
}
