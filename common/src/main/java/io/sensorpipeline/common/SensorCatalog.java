package io.sensorpipeline.common;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import static java.util.Objects.requireNonNull;

/**
 * The fleet's metadata: read from and written to {@code data/sensors.csv}, and generated deterministically from a seed
 * (the committed file is {@code generate(1000, DEFAULT_SEED)}; a test keeps the two equal).
 */
public final class SensorCatalog
{
    public static final long DEFAULT_SEED = 20261124L;
    public static final int DEFAULT_SIZE = 1000;
    public static final String HEADER = "sensorId,type,siteId,building,floor,latitude,longitude,unit,validMin,validMax,"
            + "alertLow,alertHigh,calibrationOffset,installedDate";
    /** Ids at or above this are never issued, so a fault can name a sensor that cannot exist. */
    public static final int MAX_SENSORS = 90_000;

    private static final int SITES = 20;
    // Site centres: (latitude, longitude) of twenty cities, so maps of the lake look like a real estate.
    private static final double[][] SITE_CENTRES = {
            {52.5200, 13.4050}, {48.8566, 2.3522}, {51.5074, -0.1278}, {40.4168, -3.7038}, {41.9028, 12.4964},
            {52.3676, 4.9041}, {59.3293, 18.0686}, {55.6761, 12.5683}, {60.1699, 24.9384}, {48.2082, 16.3738},
            {50.0755, 14.4378}, {47.3769, 8.5417}, {53.3498, -6.2603}, {38.7223, -9.1393}, {45.4642, 9.1900},
            {50.8503, 4.3517}, {52.2297, 21.0122}, {59.9139, 10.7522}, {40.7128, -74.0060}, {43.6532, -79.3832}};
    private static final String[] FIRMWARE = {"1.4.2", "1.4.3", "1.5.0", "2.0.1"};

    private final List<Sensor> sensors;
    private final Map<String, Sensor> byId;

    public SensorCatalog(List<Sensor> sensors)
    {
        this.sensors = List.copyOf(requireNonNull(sensors, "sensors is null"));
        Map<String, Sensor> index = new LinkedHashMap<>();
        for (Sensor sensor : this.sensors) {
            if (index.put(sensor.sensorId(), sensor) != null) {
                throw new IllegalArgumentException("duplicate sensorId " + sensor.sensorId());
            }
        }
        this.byId = index;
    }

    public List<Sensor> sensors()
    {
        return sensors;
    }

    public int size()
    {
        return sensors.size();
    }

    public Optional<Sensor> find(String sensorId)
    {
        return Optional.ofNullable(byId.get(sensorId));
    }

    /** The first {@code count} sensors, the fleet a producer with {@code --sensors count} simulates. */
    public SensorCatalog first(int count)
    {
        if (count < 1 || count > sensors.size()) {
            throw new IllegalArgumentException("a fleet of " + count + " sensors is not possible: the catalog has " + sensors.size());
        }
        return new SensorCatalog(sensors.subList(0, count));
    }

    /** The firmware version a sensor runs; derived from its id so it needs no column. */
    public static String firmwareOf(int sensorIndex)
    {
        return FIRMWARE[Math.floorMod(sensorIndex * 31 + 7, FIRMWARE.length)];
    }

    public static String sensorId(int index)
    {
        return String.format(Locale.ROOT, "sensor-%05d", index);
    }

    public static SensorCatalog load(Path csv)
    {
        try (Reader reader = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
            return parse(reader, csv.toString());
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot read sensor metadata " + csv + ": " + e.getMessage(), e);
        }
    }

    public static SensorCatalog parse(Reader input, String source)
            throws IOException
    {
        BufferedReader reader = new BufferedReader(input);
        String header = reader.readLine();
        if (!HEADER.equals(header)) {
            throw new IllegalArgumentException(source + ": expected the header '" + HEADER + "' but found '" + header + "'");
        }
        List<Sensor> sensors = new ArrayList<>();
        int lineNumber = 1;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            try {
                sensors.add(parseLine(line));
            }
            catch (RuntimeException e) {
                throw new IllegalArgumentException(source + " line " + lineNumber + ": " + e.getMessage() + " in '" + line + "'", e);
            }
        }
        return new SensorCatalog(sensors);
    }

    private static Sensor parseLine(String line)
    {
        String[] fields = line.split(",", -1);
        if (fields.length != 14) {
            throw new IllegalArgumentException("expected 14 fields but found " + fields.length);
        }
        SensorType type = SensorType.fromWireName(fields[1])
                .orElseThrow(() -> new IllegalArgumentException("unknown sensor type '" + fields[1] + "'"));
        try {
            return new Sensor(
                    fields[0],
                    type,
                    fields[2],
                    fields[3],
                    Integer.parseInt(fields[4]),
                    Double.parseDouble(fields[5]),
                    Double.parseDouble(fields[6]),
                    fields[7],
                    Double.parseDouble(fields[8]),
                    Double.parseDouble(fields[9]),
                    Double.parseDouble(fields[10]),
                    Double.parseDouble(fields[11]),
                    Double.parseDouble(fields[12]),
                    LocalDate.parse(fields[13]));
        }
        catch (NumberFormatException | DateTimeParseException e) {
            throw new IllegalArgumentException("bad number or date: " + e.getMessage(), e);
        }
    }

    public void writeCsv(Writer writer)
            throws IOException
    {
        writer.write(HEADER);
        writer.write('\n');
        for (Sensor sensor : sensors) {
            writer.write(String.join(",",
                    sensor.sensorId(),
                    sensor.type().wireName(),
                    sensor.siteId(),
                    sensor.building(),
                    Integer.toString(sensor.floor()),
                    format(sensor.latitude(), 5),
                    format(sensor.longitude(), 5),
                    sensor.unit(),
                    format(sensor.validMin(), 1),
                    format(sensor.validMax(), 1),
                    format(sensor.alertLow(), 1),
                    format(sensor.alertHigh(), 1),
                    format(sensor.calibrationOffset(), 2),
                    sensor.installedDate().toString()));
            writer.write('\n');
        }
    }

    /** A plausible fleet of {@code count} sensors on twenty sites; the same seed gives the same fleet. */
    public static SensorCatalog generate(int count, long seed)
    {
        if (count < 1 || count > MAX_SENSORS) {
            throw new IllegalArgumentException("sensor count must be between 1 and " + MAX_SENSORS + " but was " + count);
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<Sensor> sensors = new ArrayList<>(count);
        for (int index = 0; index < count; index++) {
            int site = random.nextInt(SITES);
            SensorType type = pickType(random.nextDouble());
            String unit = type == SensorType.TEMPERATURE && random.nextDouble() < 0.08 ? "F" : type.unit();
            double[] centre = SITE_CENTRES[site];
            double[] band = alertBand(type);
            double[] rated = ratedRange(type);
            sensors.add(new Sensor(
                    sensorId(index),
                    type,
                    String.format(Locale.ROOT, "site-%02d", site + 1),
                    "B" + (1 + random.nextInt(3)),
                    random.nextInt(12),
                    round(centre[0] + (random.nextDouble() - 0.5) * 0.02, 5),
                    round(centre[1] + (random.nextDouble() - 0.5) * 0.02, 5),
                    unit,
                    rated[0],
                    rated[1],
                    band[0],
                    band[1],
                    round((random.nextDouble() - 0.5) * 2 * type.noise() * 2, 2),
                    LocalDate.of(2021, 1, 1).plusDays(random.nextInt(1800))));
        }
        return new SensorCatalog(sensors);
    }

    private static SensorType pickType(double draw)
    {
        if (draw < 0.35) {
            return SensorType.TEMPERATURE;
        }
        if (draw < 0.60) {
            return SensorType.HUMIDITY;
        }
        if (draw < 0.70) {
            return SensorType.PRESSURE;
        }
        if (draw < 0.90) {
            return SensorType.CO2;
        }
        return SensorType.VIBRATION;
    }

    private static double[] alertBand(SensorType type)
    {
        return switch (type) {
            case TEMPERATURE -> new double[] {15.0, 28.0};
            case HUMIDITY -> new double[] {25.0, 70.0};
            case PRESSURE -> new double[] {980.0, 1045.0};
            case CO2 -> new double[] {300.0, 1200.0};
            case VIBRATION -> new double[] {0.0, 8.0};
        };
    }

    private static double[] ratedRange(SensorType type)
    {
        return switch (type) {
            case TEMPERATURE -> new double[] {-30.0, 70.0};
            case HUMIDITY -> new double[] {0.0, 100.0};
            case PRESSURE -> new double[] {900.0, 1080.0};
            case CO2 -> new double[] {250.0, 5000.0};
            case VIBRATION -> new double[] {0.0, 50.0};
        };
    }

    private static double round(double value, int decimals)
    {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }

    private static String format(double value, int decimals)
    {
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
