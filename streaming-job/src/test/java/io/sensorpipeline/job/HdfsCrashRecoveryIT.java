package io.sensorpipeline.job;

import io.sensorpipeline.localstack.KafkaBrokerExtension;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@link CrashRecoveryScenario} with the lake and the checkpoints on a real HDFS (a MiniDFSCluster with one DataNode,
 * on 127.0.0.1), set by configuration alone: hdfs:// roots and spark.hadoop.dfs.replication=1.
 */
class HdfsCrashRecoveryIT
        extends CrashRecoveryScenario
{
    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(Map.of("sensor-readings", 2, "sensor-alerts", 1));

    // Kept when a test fails: the job's and the producer's logs are in it.
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path directory;

    private static MiniDFSCluster hdfs;

    @BeforeAll
    static void startHdfs()
            throws IOException
    {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, directory.resolve("hdfs").toString());
        // Every HDFS endpoint on loopback, on free ports.
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        conf.setInt("dfs.replication", 1);
        hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        hdfs.waitActive();
    }

    @AfterAll
    static void stopHdfs()
    {
        if (hdfs != null) {
            hdfs.shutdown();
        }
    }

    @Override
    void keepLake()
            throws IOException
    {
        // The MiniDFSCluster's blocks go with it.
        hdfs.getFileSystem().copyToLocalFile(new org.apache.hadoop.fs.Path("/sensor-pipeline"), new org.apache.hadoop.fs.Path(directory.resolve("lake-copy").toUri()));
    }

    @Override
    Path directory()
    {
        return directory;
    }

    @Override
    String bootstrapServers()
    {
        return kafka.bootstrapServers();
    }

    @Override
    List<String> storageArguments()
    {
        // As in configs/pipeline-hdfs.properties: one DataNode holds one replica.
        return List.of("--spark.hadoop.dfs.replication", "1");
    }

    @Override
    String lakeRoot()
    {
        return "hdfs://127.0.0.1:" + hdfs.getNameNodePort() + "/sensor-pipeline/lake";
    }

    @Override
    String checkpointRoot()
    {
        return "hdfs://127.0.0.1:" + hdfs.getNameNodePort() + "/sensor-pipeline/checkpoints";
    }
}
