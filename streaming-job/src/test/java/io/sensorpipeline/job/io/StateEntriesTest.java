package io.sensorpipeline.job.io;

import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.execution.streaming.state.UnsafeRowPair;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

import java.util.ConcurrentModificationException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StateEntriesTest
{
    private static final StructType KEY = new StructType().add("eventId", DataTypes.StringType, false);
    private static final StructType VALUE = new StructType().add("expiresAt", DataTypes.LongType, false).add("note", DataTypes.StringType, true);
    private static final UnsafeProjection KEYS = UnsafeProjection.create(KEY);
    private static final UnsafeProjection VALUES = UnsafeProjection.create(VALUE);

    @Test
    void aRandomMixOfPutsAndRemovesReadsBackAsAHashMapDoes()
    {
        // Enough bytes to fill, drop, clean and renumber many pages, with values of changing sizes.
        StateEntries entries = new StateEntries(1, 2);
        Map<String, String> expected = new HashMap<>();
        Random random = new Random(7);
        for (int step = 0; step < 400_000; step++) {
            String id = "event-" + random.nextInt(40_000);
            if (random.nextInt(3) == 0) {
                UnsafeRow previous = entries.remove(key(id));
                String before = expected.remove(id);
                assertThat(previous == null ? null : note(previous)).isEqualTo(before);
            }
            else {
                String note = "n".repeat(random.nextInt(200)) + step;
                UnsafeRow previous = entries.put(key(id), value(step, note));
                String before = expected.put(id, note);
                assertThat(previous == null ? null : note(previous)).isEqualTo(before);
            }
        }
        assertThat(entries.size()).isEqualTo(expected.size());
        Map<String, String> read = new HashMap<>();
        for (Iterator<UnsafeRowPair> it = entries.iterator(); it.hasNext(); ) {
            UnsafeRowPair pair = it.next();
            assertThat(read.put(pair.key().getUTF8String(0).toString(), note(pair.value()))).isNull();
        }
        assertThat(read).isEqualTo(expected);
        for (Map.Entry<String, String> entry : expected.entrySet()) {
            assertThat(note(entries.get(key(entry.getKey())))).isEqualTo(entry.getValue());
        }
        assertThat(entries.get(key("never-stored"))).isNull();
        // Garbage stays in proportion: a few times the live bytes at most, plus a few pages.
        assertThat(entries.memoryBytes()).isLessThan(4 * rowBytes(entries) + 16L * StateEntries.PAGE_BYTES);
    }

    @Test
    void entriesThatExpireInTheOrderTheyCameFreeTheirPagesWithoutCopying()
    {
        StateEntries entries = new StateEntries(1, 2);
        long window = 100_000;
        for (long time = 0; time < 1_000_000; time++) {
            entries.put(key("event-" + time), value(time + window, null));
            if (time % 10_000 == 9_999) {
                // As the de-duplication evicts: remove what expired while iterating.
                long watermark = time;
                int kept = 0;
                for (Iterator<UnsafeRowPair> it = entries.iterator(); it.hasNext(); ) {
                    UnsafeRowPair pair = it.next();
                    if (pair.value().getLong(0) <= watermark) {
                        // As Spark does: with the iterator's own row.
                        entries.remove(pair.key());
                    }
                    else {
                        kept++;
                    }
                }
                assertThat(kept).isEqualTo((int) Math.min(window, time + 1));
                assertThat(entries.size()).isEqualTo(kept);
            }
        }
        // 100,000 live entries of 48 bytes each: under 5 MB of rows; the pages hold little more than that.
        assertThat(entries.memoryBytes()).isLessThan(rowBytes(entries) * 2 + 4L * StateEntries.PAGE_BYTES);
    }

    @Test
    void valuesReplacedWhileTheStateIsIteratedAreEachSeenOnceAndANewKeyFailsTheIterator()
    {
        // Large values replaced by small ones: as the iteration goes, whole pages die, the cleaning moves what is left
        // of half-dead ones, and the pages are renumbered, all while the iterator walks the index.
        StateEntries entries = new StateEntries(1, 2);
        int keys = 40_000;
        for (int i = 0; i < keys; i++) {
            entries.put(key("k-" + i), value(i, "v0-" + "x".repeat(1000)));
        }
        Set<String> seen = new HashSet<>();
        for (Iterator<UnsafeRowPair> it = entries.iterator(); it.hasNext(); ) {
            UnsafeRowPair pair = it.next();
            String id = pair.key().getUTF8String(0).toString();
            assertThat(seen.add(id)).as("seen twice: %s", id).isTrue();
            assertThat(note(pair.value())).startsWith("v0-");
            entries.put(pair.key(), value(pair.value().getLong(0), "v1"));
        }
        assertThat(seen).hasSize(keys);
        for (int i = 0; i < keys; i++) {
            UnsafeRow value = entries.get(key("k-" + i));
            assertThat(value.getLong(0)).isEqualTo(i);
            assertThat(note(value)).isEqualTo("v1");
        }
        assertThat(entries.memoryBytes()).isLessThan(rowBytes(entries) * 4 + 16L * StateEntries.PAGE_BYTES);

        Iterator<UnsafeRowPair> iterator = entries.iterator();
        iterator.next();
        for (int i = 0; i < 100_000; i++) {
            entries.put(key("new-" + i), value(i, null));
        }
        assertThatThrownBy(() -> {
            while (iterator.hasNext()) {
                iterator.next();
            }
        }).isInstanceOf(ConcurrentModificationException.class);
    }

    @Test
    void aValueReturnedStaysAsItWasAndAViewKeepsItsVersion()
    {
        StateEntries entries = new StateEntries(1, 2);
        entries.put(key("a"), value(1, "first"));
        entries.put(key("b"), value(2, "kept"));
        Iterable<UnsafeRowPair> view = entries.view();
        UnsafeRow first = entries.put(key("a"), value(3, "second"));
        UnsafeRow removed = entries.remove(key("b"));
        for (int i = 0; i < 100_000; i++) {
            entries.put(key("filler-" + i), value(i, "x".repeat(64)));
            entries.remove(key("filler-" + i));
        }
        assertThat(note(first)).isEqualTo("first");
        assertThat(note(removed)).isEqualTo("kept");
        assertThat(note(entries.get(key("a")))).isEqualTo("second");
        Map<String, String> seen = new HashMap<>();
        for (UnsafeRowPair pair : view) {
            seen.put(pair.key().getUTF8String(0).toString(), note(pair.value()));
        }
        assertThat(seen).isEqualTo(Map.of("a", "first", "b", "kept"));
        entries.clear();
        assertThat(entries.size()).isZero();
        assertThat(entries.iterator().hasNext()).isFalse();
    }

    private static UnsafeRow key(String id)
    {
        return KEYS.apply(new GenericInternalRow(new Object[] {UTF8String.fromString(id)})).copy();
    }

    private static UnsafeRow value(long expiresAt, String note)
    {
        return VALUES.apply(new GenericInternalRow(new Object[] {expiresAt, note == null ? null : UTF8String.fromString(note)})).copy();
    }

    private static String note(UnsafeRow value)
    {
        return value.isNullAt(1) ? null : value.getUTF8String(1).toString();
    }

    /** The bytes of the live keys and values, as Spark's default store counts them. */
    private static long rowBytes(StateEntries entries)
    {
        long bytes = 0;
        for (Iterator<UnsafeRowPair> iterator = entries.iterator(); iterator.hasNext(); ) {
            UnsafeRowPair pair = iterator.next();
            bytes += pair.key().getSizeInBytes() + pair.value().getSizeInBytes();
        }
        return bytes;
    }
}
