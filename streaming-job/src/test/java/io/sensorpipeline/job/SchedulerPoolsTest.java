package io.sensorpipeline.job;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class SchedulerPoolsTest
{
    @Test
    void fairSchedulingWithTheIngestPoolFirstByDefault()
            throws Exception
    {
        SparkConf conf = SchedulerPools.configure(new SparkConf(false));
        assertThat(conf.get("spark.scheduler.mode")).isEqualTo("FAIR");
        String pools = Files.readString(Path.of(URI.create(conf.get("spark.scheduler.allocation.file"))));
        assertThat(pools).containsIgnoringWhitespaces(
                "<pool name=\"ingest\"><schedulingMode>FIFO</schedulingMode><weight>4</weight><minShare>2</minShare></pool>");
        assertThat(pools).containsIgnoringWhitespaces(
                "<pool name=\"derived\"><schedulingMode>FAIR</schedulingMode><weight>1</weight><minShare>0</minShare></pool>");
    }

    @Test
    void theUsersModeAndPoolsWin()
    {
        SparkConf conf = SchedulerPools.configure(new SparkConf(false)
                .set("spark.scheduler.mode", "FIFO")
                .set("spark.scheduler.allocation.file", "hdfs://nn/pools.xml"));
        assertThat(conf.get("spark.scheduler.mode")).isEqualTo("FIFO");
        assertThat(conf.get("spark.scheduler.allocation.file")).isEqualTo("hdfs://nn/pools.xml");
    }
}
