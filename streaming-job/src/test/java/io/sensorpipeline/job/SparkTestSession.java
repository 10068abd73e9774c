package io.sensorpipeline.job;

import io.sensorpipeline.job.io.JavaLocalFileSystem;
import io.sensorpipeline.job.io.ReopeningCheckpointFileManager;
import org.apache.spark.sql.SparkSession;

/** One local Spark session for every unit test in the JVM: starting one costs seconds, so tests share it. */
public final class SparkTestSession
{
    private static SparkSession session;

    private SparkTestSession() {}

    public static synchronized SparkSession get()
    {
        if (session == null) {
            session = SparkSession.builder()
                    .master("local[2]")
                    .appName("streaming-job-tests")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.sql.session.timeZone", "UTC")
                    // As the job's session: a log file that compact replaces as a query opens it is read whole.
                    .config(ReopeningCheckpointFileManager.SPARK_KEY, ReopeningCheckpointFileManager.class.getName())
                    .config(JobSettings.LOCAL_FILE_SYSTEM_KEY, JavaLocalFileSystem.class.getName())
                    // The Kafka sink's cached producers close within 10 s of their last use instead of 10 minutes: a
                    // test's broker is gone by then, and its producer would log a reconnect warning every second.
                    .config("spark.kafka.producer.cache.timeout", "5s")
                    .config("spark.kafka.producer.cache.evictorThreadRunInterval", "5s")
                    .getOrCreate();
        }
        return session;
    }
}
