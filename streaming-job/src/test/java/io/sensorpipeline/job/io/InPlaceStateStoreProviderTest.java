package io.sensorpipeline.job.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider;
import org.apache.spark.sql.execution.streaming.state.ReadStateStore;
import org.apache.spark.sql.execution.streaming.state.StateStore;
import org.apache.spark.sql.execution.streaming.state.StateStoreConf;
import org.apache.spark.sql.execution.streaming.state.StateStoreId;
import org.apache.spark.sql.execution.streaming.state.StateStoreProvider;
import org.apache.spark.sql.execution.streaming.state.UnsafeRowPair;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The in-place state store against its contract: versions, abort, reloading from its files, reads while a batch
 * updates, and files that Spark's default store reads back the same (and the other way round).
 */
class InPlaceStateStoreProviderTest
{
    private static final StructType KEY = new StructType().add("eventId", DataTypes.StringType, false);
    private static final StructType VALUE = new StructType().add("expiresAtMicros", DataTypes.LongType, false);

    @TempDir
    Path checkpoint;

    @Test
    void committedVersionsReloadFromTheFilesAndAnAbortLeavesTheVersionAsItWas()
    {
        StateStoreProvider provider = inPlace(10);
        StateStore first = provider.getStore(0);
        put(first, "a", 1);
        put(first, "b", 2);
        assertThat(first.commit()).isEqualTo(1);

        StateStore second = provider.getStore(1);
        put(second, "b", 20);
        second.remove(key("a"));
        put(second, "c", 3);
        assertThat(second.commit()).isEqualTo(2);

        StateStore aborted = provider.getStore(2);
        put(aborted, "b", 200);
        aborted.remove(key("c"));
        put(aborted, "d", 4);
        assertThat(contents(aborted)).isEqualTo(Map.of("b", 200L, "d", 4L));
        aborted.abort();
        assertThat(aborted.hasCommitted()).isFalse();

        StateStore again = provider.getStore(2);
        assertThat(contents(again)).as("the abort undid every change").isEqualTo(Map.of("b", 20L, "c", 3L));
        assertThat(value(again, "d")).isNull();
        again.remove(key("b"));
        assertThat(again.commit()).isEqualTo(3);
        provider.close();

        // A new JVM's provider, as after a crash: every version comes back from the deltas.
        StateStoreProvider reopened = inPlace(10);
        assertThat(contents(reopened.getStore(3))).isEqualTo(Map.of("c", 3L));
        assertThat(contents(reopened.getStore(1))).as("an older version").isEqualTo(Map.of("a", 1L, "b", 2L));
        assertThat(contents(reopened.getStore(2))).isEqualTo(Map.of("b", 20L, "c", 3L));
        assertThat(contents(reopened.getStore(0))).isEmpty();
    }

    @Test
    void theDefaultStoreReadsWhatThisOneWroteSnapshotsIncluded()
    {
        InPlaceStateStoreProvider provider = inPlace(2);
        Map<String, Long> expected = new TreeMap<>();
        long version = 0;
        for (int batch = 0; batch < 7; batch++) {
            StateStore store = provider.getStore(version);
            for (int i = 0; i < 50; i++) {
                String key = "k" + (batch * 37 + i * 11) % 120;
                if ((batch + i) % 5 == 0) {
                    store.remove(key(key));
                    expected.remove(key);
                }
                else {
                    put(store, key, batch * 1000L + i);
                    expected.put(key, batch * 1000L + i);
                }
            }
            version = store.commit();
            if (batch == 3) {
                provider.doMaintenance();
            }
            assertThat(contents(hdfsBacked(2).getStore(version))).as("version %s read by Spark's store", version).isEqualTo(expected);
        }
        assertThat(new File(checkpoint.toFile(), "0/0/4.snapshot")).as("the maintenance wrote a snapshot").exists();
        assertThat(contents(inPlace(2).getStore(version))).as("reloaded from the snapshot and the deltas after it").isEqualTo(expected);
    }

    @Test
    void thisStoreReadsWhatTheDefaultOneWrote()
    {
        HDFSBackedStateStoreProvider spark = hdfsBacked(2);
        StateStore store = spark.getStore(0);
        put(store, "a", 1);
        put(store, "b", 2);
        store.commit();
        store = spark.getStore(1);
        store.remove(key("a"));
        put(store, "c", 3);
        store.commit();
        spark.doMaintenance();

        assertThat(contents(inPlace(2).getStore(2))).isEqualTo(Map.of("b", 2L, "c", 3L));
    }

    @Test
    void aReadStoreSeesItsVersionWhileAStoreOfThatVersionUpdatesTheMap()
    {
        StateStoreProvider provider = inPlace(10);
        StateStore first = provider.getStore(0);
        put(first, "a", 1);
        put(first, "b", 2);
        first.commit();

        // As Spark's streaming aggregation does in one task: read the state, then update it.
        ReadStateStore read = provider.getReadStore(1);
        StateStore write = provider.getStore(1);
        put(write, "a", 10);
        write.remove(key("b"));
        put(write, "c", 3);
        assertThat(value(read, "a")).isEqualTo(1L);
        assertThat(value(read, "b")).isEqualTo(2L);
        assertThat(value(read, "c")).isNull();
        assertThat(contents(read)).isEqualTo(Map.of("a", 1L, "b", 2L));
        write.commit();
        assertThatThrownBy(() -> value(read, "a")).hasMessageContaining("moved from version 1 to 2");
    }

    @Test
    void aSecondStoreOfAPartitionWorksOnItsOwnCopy()
    {
        StateStoreProvider provider = inPlace(10);
        StateStore first = provider.getStore(0);
        put(first, "a", 1);
        first.commit();

        StateStore open = provider.getStore(1);
        put(open, "a", 10);
        StateStore other = provider.getStore(1);
        assertThat(value(other, "a")).as("the copy is version 1, without the open store's change").isEqualTo(1L);
        put(other, "b", 2);
        assertThat(value(open, "b")).isNull();
        open.abort();
        assertThat(other.commit()).isEqualTo(2);

        assertThat(contents(provider.getStore(2))).as("the map in memory catches up from the copy's delta").isEqualTo(Map.of("a", 1L, "b", 2L));
    }

    @Test
    void aStoreOpenWhenSparkClosesItsProviderStillCommitsItsWholeBatch()
    {
        StateStoreProvider provider = inPlace(10);
        StateStore first = provider.getStore(0);
        put(first, "a", 1);
        put(first, "b", 2);
        first.commit();

        StateStore open = provider.getStore(1);
        put(open, "c", 3);
        open.remove(key("a"));
        // Spark's maintenance unloads providers without asking whether a task still has a store open.
        provider.close();
        assertThat(value(open, "b")).as("the open store keeps the map").isEqualTo(2L);
        put(open, "d", 4);
        assertThat(open.commit()).isEqualTo(2);

        assertThat(contents(inPlace(10).getStore(2))).isEqualTo(Map.of("b", 2L, "c", 3L, "d", 4L));
    }

    @Test
    void aFailedMaintenanceIsLoggedNotThrown()
    {
        InPlaceStateStoreProvider provider = inPlace(1);
        StateStore first = provider.getStore(0);
        put(first, "a", 1);
        first.commit();
        // The state directory gone: listing it fails.
        File directory = new File(checkpoint.toFile(), "0/0");
        for (File file : directory.listFiles()) {
            assertThat(file.delete()).isTrue();
        }
        assertThat(directory.delete()).isTrue();

        provider.doMaintenance();
        assertThat(value(provider.getStore(1), "a")).as("the map in memory is untouched").isEqualTo(1L);
    }

    @Test
    void theMaintenanceKeepsTheFilesOfTheLastVersionsOnly()
    {
        InPlaceStateStoreProvider provider = inPlace(2, 3);
        long version = 0;
        for (int batch = 0; batch < 12; batch++) {
            StateStore store = provider.getStore(version);
            put(store, "k" + batch, batch);
            version = store.commit();
            provider.doMaintenance();
        }
        String[] left = new File(checkpoint.toFile(), "0/0").list();
        Arrays.sort(left);
        assertThat(left).noneMatch(name -> name.matches("[1-6]\\.(delta|snapshot)"));
        assertThat(contents(inPlace(2, 3).getStore(9))).hasSize(9);
        assertThat(contents(inPlace(2, 3).getStore(12))).hasSize(12);
    }

    @Test
    void aMissingDeltaStopsTheLoadWithTheFileItNeeds()
    {
        StateStoreProvider provider = inPlace(10);
        long version = 0;
        for (int batch = 0; batch < 3; batch++) {
            StateStore store = provider.getStore(version);
            put(store, "k" + batch, batch);
            version = store.commit();
        }
        assertThat(new File(checkpoint.toFile(), "0/0/2.delta").delete()).isTrue();
        assertThatThrownBy(() -> inPlace(10).getStore(3))
                .hasMessageContaining("cannot load version 3")
                .hasMessageContaining("2.delta is missing");
    }

    @Test
    void sessionWindowsPrefixScansAreRefusedAtStart()
    {
        assertThatThrownBy(() -> new InPlaceStateStoreProvider().init(storeId(), KEY, VALUE, 1, conf(10, 100), new Configuration()))
                .hasMessageContaining("does not support prefix scans")
                .hasMessageContaining("HDFSBackedStateStoreProvider");
    }

    private InPlaceStateStoreProvider inPlace(int minDeltasForSnapshot)
    {
        return inPlace(minDeltasForSnapshot, 100);
    }

    private InPlaceStateStoreProvider inPlace(int minDeltasForSnapshot, int minVersionsToRetain)
    {
        InPlaceStateStoreProvider provider = new InPlaceStateStoreProvider();
        provider.init(storeId(), KEY, VALUE, 0, conf(minDeltasForSnapshot, minVersionsToRetain), new Configuration());
        return provider;
    }

    private HDFSBackedStateStoreProvider hdfsBacked(int minDeltasForSnapshot)
    {
        HDFSBackedStateStoreProvider provider = new HDFSBackedStateStoreProvider();
        provider.init(storeId(), KEY, VALUE, 0, conf(minDeltasForSnapshot, 100), new Configuration());
        return provider;
    }

    private StateStoreId storeId()
    {
        return new StateStoreId(checkpoint.toUri().toString(), 0, 0, StateStoreId.DEFAULT_STORE_NAME());
    }

    private static StateStoreConf conf(int minDeltasForSnapshot, int minVersionsToRetain)
    {
        SQLConf sql = new SQLConf();
        sql.setConfString("spark.sql.streaming.stateStore.minDeltasForSnapshot", String.valueOf(minDeltasForSnapshot));
        sql.setConfString("spark.sql.streaming.minBatchesToRetain", String.valueOf(minVersionsToRetain));
        return new StateStoreConf(sql, scala.collection.immutable.Map$.MODULE$.<String, String>empty());
    }

    private static UnsafeRow key(String eventId)
    {
        return UnsafeProjection.create(KEY).apply(new GenericInternalRow(new Object[] {UTF8String.fromString(eventId)})).copy();
    }

    private static void put(StateStore store, String eventId, long value)
    {
        UnsafeRow row = UnsafeProjection.create(VALUE).apply(new GenericInternalRow(new Object[] {value}));
        store.put(key(eventId), row);
    }

    private static Long value(ReadStateStore store, String eventId)
    {
        UnsafeRow row = store.get(key(eventId));
        return row == null ? null : row.getLong(0);
    }

    private static Map<String, Long> contents(ReadStateStore store)
    {
        Map<String, Long> contents = new TreeMap<>();
        scala.collection.Iterator<UnsafeRowPair> pairs = store.iterator();
        while (pairs.hasNext()) {
            UnsafeRowPair pair = pairs.next();
            contents.put(pair.key().getUTF8String(0).toString(), pair.value().getLong(0));
        }
        return contents;
    }
}
