package io.sensorpipeline.job.io;

import io.sensorpipeline.common.SensorCatalog;
import io.sensorpipeline.common.settings.SettingsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Reads the sensor metadata ({@code data/sensors.csv} format) from any Hadoop URI, with an explicit schema. */
public final class SensorMetadata
{
    /** The columns of sensors.csv, in file order. */
    public static final StructType SCHEMA = new StructType()
            .add("sensorId", DataTypes.StringType, false)
            .add("type", DataTypes.StringType, false)
            .add("siteId", DataTypes.StringType, false)
            .add("building", DataTypes.StringType, false)
            .add("floor", DataTypes.IntegerType, false)
            .add("latitude", DataTypes.DoubleType, false)
            .add("longitude", DataTypes.DoubleType, false)
            .add("unit", DataTypes.StringType, false)
            .add("validMin", DataTypes.DoubleType, false)
            .add("validMax", DataTypes.DoubleType, false)
            .add("alertLow", DataTypes.DoubleType, false)
            .add("alertHigh", DataTypes.DoubleType, false)
            .add("calibrationOffset", DataTypes.DoubleType, false)
            .add("installedDate", DataTypes.DateType, false);

    private SensorMetadata() {}

    /**
     * Reads the whole file once, so that a bad one stops the job at start-up, and returns its rows as a local table:
     * the file is not read again, and the rows need no cache.
     *
     * @throws SettingsException when the file is missing, cannot be listed, or has a malformed row: the setting
     *         sensors-file is wrong
     */
    public static Dataset<Row> read(SparkSession spark, String path)
    {
        Path file = new Path(path);
        List<String> lines;
        // Read here, on the driver, and parsed from memory: on a cluster the executors need no access to the file.
        try {
            FileSystem fileSystem = file.getFileSystem(spark.sessionState().newHadoopConf());
            if (!fileSystem.isFile(file)) {
                throw new SettingsException("invalid setting sensors-file='" + path + "': no such file (" + fileSystem.makeQualified(file) + ")");
            }
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(fileSystem.open(file), StandardCharsets.UTF_8))) {
                lines = reader.lines().toList();
            }
        }
        catch (IOException | UncheckedIOException e) {
            throw new SettingsException("invalid setting sensors-file='" + path + "': cannot read it (" + e.getMessage() + ")");
        }
        Dataset<Row> sensors = spark.read()
                .option("header", "true")
                // A malformed metadata row is a deployment error, not data to skip: fail loudly at start-up.
                .option("mode", "FAILFAST")
                .schema(SCHEMA)
                .csv(spark.createDataset(lines, Encoders.STRING()));
        List<Row> rows;
        try {
            // Every column of every row: a narrower read would let Spark skip parsing the columns it does not need.
            rows = sensors.collectAsList();
        }
        catch (Exception e) {
            // FAILFAST: Spark's message names the row; the trace of its parser says nothing more.
            String message = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            int malformed = message.indexOf("[MALFORMED_RECORD");
            throw new SettingsException("invalid setting sensors-file='" + path + "': it cannot be read as sensor metadata: "
                    + (malformed >= 0 ? message.substring(malformed) : message));
        }
        String header = String.join(",", SCHEMA.fieldNames());
        if (!header.equals(SensorCatalog.HEADER)) {
            throw new IllegalStateException("SensorMetadata.SCHEMA and SensorCatalog.HEADER disagree: " + header);
        }
        // The schema as the CSV source gives it (Spark's file sources make every column nullable), as before.
        return spark.createDataFrame(rows, sensors.schema());
    }
}
