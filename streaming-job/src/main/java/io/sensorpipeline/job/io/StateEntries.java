package io.sensorpipeline.job.io;

import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.execution.streaming.state.UnsafeRowPair;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.array.ByteArrayMethods;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The entries of one state version, kept as bytes: each key and value is copied into large pages, and an open-addressing
 * index of {@code long}s points into them. At the de-duplication's steady size (millions of eventIds) a map of
 * {@code UnsafeRow} objects holds five objects per entry, which the garbage collector marks again and again; here the
 * live state is a few hundred arrays. A removed or replaced entry's bytes are not reused: a page is dropped once none of
 * its entries is live, which for entries that expire in the order they came (the de-duplication) happens without
 * copying; pages that stay mostly garbage (updated aggregates) are cleaned by copying their live entries to the end.
 * <p>
 * Page bytes, once written, never change, so a row that {@link #get}, {@link #put} or {@link #remove} returns stays valid
 * as long as it is held (the undo log holds such rows), and a {@link #view} can be read on another thread while this
 * map goes on changing. Otherwise not thread-safe: one thread changes and reads it at a time. An iterator sees the
 * removals and the new values of keys made while it runs (the de-duplication removes expired entries as it iterates,
 * a stream-stream join and {@code flatMapGroupsWithState} update the entry they are at); a key added while it runs
 * may rebuild the index, and the iterator then fails with a {@link ConcurrentModificationException}.
 */
final class StateEntries
{
    static final int PAGE_BYTES = 1 << 20;
    /** Per entry in a page: the key's and the value's size. */
    private static final int HEADER_BYTES = 8;
    private static final long EMPTY = 0;
    private static final long REMOVED = -1;
    private static final int MIN_CAPACITY = 1 << 10;
    /** Garbage that is never worth a clean-up pass. */
    private static final long MIN_GARBAGE_TO_CLEAN = 8L * PAGE_BYTES;

    private final int keyFields;
    private final int valueFields;

    /** Pages by number; null once none of its entries is live. Replaced, never mutated in place, when renumbered. */
    private List<byte[]> pages = new ArrayList<>();
    private int[] pageLive = new int[16];
    private int[] pageEnd = new int[16];
    private int droppedPages;
    private int tail = -1;

    /** (page number + 1) << 32 | offset of the entry in the page; EMPTY or REMOVED. */
    private long[] slots = new long[MIN_CAPACITY];
    private int[] hashes = new int[MIN_CAPACITY];
    private int size;
    private int removed;

    private long liveBytes;
    private long pageBytes;
    /** The garbage that the last clean-up left: the next one waits until there is twice as much. */
    private long garbageAfterClean;

    StateEntries(int keyFields, int valueFields)
    {
        this.keyFields = keyFields;
        this.valueFields = valueFields;
    }

    long size()
    {
        return size;
    }

    /** The memory this map holds: its pages, garbage included, and its index. */
    long memoryBytes()
    {
        return pageBytes + (long) slots.length * (Long.BYTES + Integer.BYTES);
    }

    UnsafeRow get(UnsafeRow key)
    {
        int slot = find(key, key.hashCode());
        return slot < 0 ? null : value(slots[slot]);
    }

    /** Stores a copy of {@code key} and {@code value}; returns the value it replaced, or null. */
    UnsafeRow put(UnsafeRow key, UnsafeRow value)
    {
        int hash = key.hashCode();
        int slot = find(key, hash);
        if (slot >= 0) {
            long old = slots[slot];
            UnsafeRow previous = value(old);
            slots[slot] = append(key, value);
            release(old);
            afterAppend();
            return previous;
        }
        int free = -slot - 1;
        if (slots[free] == REMOVED) {
            removed--;
        }
        slots[free] = append(key, value);
        hashes[free] = hash;
        size++;
        if ((size + removed) * 4L > slots.length * 3L) {
            rehash(size * 2L > slots.length ? slots.length * 2 : slots.length);
        }
        afterAppend();
        return null;
    }

    /** Removes {@code key}; returns its value, or null if it had none. */
    UnsafeRow remove(UnsafeRow key)
    {
        int slot = find(key, key.hashCode());
        if (slot < 0) {
            return null;
        }
        long old = slots[slot];
        UnsafeRow previous = value(old);
        slots[slot] = REMOVED;
        size--;
        removed++;
        release(old);
        return previous;
    }

    void clear()
    {
        pages = new ArrayList<>();
        pageLive = new int[16];
        pageEnd = new int[16];
        droppedPages = 0;
        tail = -1;
        slots = new long[MIN_CAPACITY];
        hashes = new int[MIN_CAPACITY];
        size = 0;
        removed = 0;
        liveBytes = 0;
        pageBytes = 0;
        garbageAfterClean = 0;
    }

    /** The live entries; the pair and its two rows are reused from one entry to the next. */
    Iterator<UnsafeRowPair> iterator()
    {
        return new Entries(slots, null);
    }

    /** The entries as they are now, to read on another thread while this map changes. */
    Iterable<UnsafeRowPair> view()
    {
        long[] frozenSlots = slots.clone();
        List<byte[]> frozenPages = new ArrayList<>(pages);
        return () -> new Entries(frozenSlots, frozenPages);
    }

    private int find(UnsafeRow key, int hash)
    {
        int mask = slots.length - 1;
        int index = spread(hash) & mask;
        int firstRemoved = -1;
        while (true) {
            long slot = slots[index];
            if (slot == EMPTY) {
                return -(firstRemoved >= 0 ? firstRemoved : index) - 1;
            }
            if (slot == REMOVED) {
                if (firstRemoved < 0) {
                    firstRemoved = index;
                }
            }
            else if (hashes[index] == hash && keyEquals(slot, key)) {
                return index;
            }
            index = (index + 1) & mask;
        }
    }

    private static int spread(int hash)
    {
        return (hash ^ (hash >>> 16)) * 0x9E3779B9;
    }

    private boolean keyEquals(long slot, UnsafeRow key)
    {
        byte[] page = bytes(slot);
        long at = Platform.BYTE_ARRAY_OFFSET + offset(slot);
        int keySize = Platform.getInt(page, at);
        return keySize == key.getSizeInBytes()
                && ByteArrayMethods.arrayEquals(page, at + HEADER_BYTES, key.getBaseObject(), key.getBaseOffset(), keySize);
    }

    private UnsafeRow value(long slot)
    {
        UnsafeRow row = new UnsafeRow(valueFields);
        pointToValue(row, bytes(slot), offset(slot));
        return row;
    }

    /** The page of a live slot; a dropped one is a bug here, which must not become a read of memory at address 0. */
    private byte[] bytes(long slot)
    {
        byte[] page = pages.get(page(slot));
        if (page == null) {
            throw new IllegalStateException("state page " + page(slot) + " was dropped while an entry still points into it");
        }
        return page;
    }

    private static void pointToKey(UnsafeRow row, byte[] page, int offset)
    {
        long at = Platform.BYTE_ARRAY_OFFSET + offset;
        row.pointTo(page, at + HEADER_BYTES, Platform.getInt(page, at));
    }

    private static void pointToValue(UnsafeRow row, byte[] page, int offset)
    {
        long at = Platform.BYTE_ARRAY_OFFSET + offset;
        row.pointTo(page, at + HEADER_BYTES + words(Platform.getInt(page, at)), Platform.getInt(page, at + 4));
    }

    /** Rows are whole 8-byte words (a legacy value may not be): every key and value starts word-aligned. */
    private static int words(int bytes)
    {
        return (bytes + 7) & ~7;
    }

    private static int page(long slot)
    {
        return (int) (slot >>> 32) - 1;
    }

    private static int offset(long slot)
    {
        return (int) slot;
    }

    /** The bytes an entry takes in its page. */
    private static int entryBytes(byte[] page, int offset)
    {
        long at = Platform.BYTE_ARRAY_OFFSET + offset;
        return HEADER_BYTES + words(Platform.getInt(page, at)) + words(Platform.getInt(page, at + 4));
    }

    private long append(UnsafeRow key, UnsafeRow value)
    {
        int keySize = key.getSizeInBytes();
        int valueSize = value.getSizeInBytes();
        int bytes = HEADER_BYTES + words(keySize) + words(valueSize);
        if (tail < 0 || pageEnd[tail] + bytes > pages.get(tail).length) {
            newPage(Math.max(PAGE_BYTES, bytes));
        }
        byte[] page = pages.get(tail);
        int offset = pageEnd[tail];
        long at = Platform.BYTE_ARRAY_OFFSET + offset;
        Platform.putInt(page, at, keySize);
        Platform.putInt(page, at + 4, valueSize);
        key.writeToMemory(page, at + HEADER_BYTES);
        value.writeToMemory(page, at + HEADER_BYTES + words(keySize));
        pageEnd[tail] = offset + bytes;
        pageLive[tail] += bytes;
        liveBytes += bytes;
        return ((long) (tail + 1) << 32) | offset;
    }

    private void newPage(int bytes)
    {
        if (tail >= 0 && pageLive[tail] == 0) {
            // Every entry of the last page died while it was the last one.
            drop(tail);
        }
        pages.add(new byte[bytes]);
        tail = pages.size() - 1;
        if (tail == pageLive.length) {
            pageLive = Arrays.copyOf(pageLive, tail * 2);
            pageEnd = Arrays.copyOf(pageEnd, tail * 2);
        }
        pageLive[tail] = 0;
        pageEnd[tail] = 0;
        pageBytes += bytes;
    }

    /** The entry at {@code slot} is no longer live; its page goes once it holds no live entry. */
    private void release(long slot)
    {
        int page = page(slot);
        int bytes = entryBytes(bytes(slot), offset(slot));
        liveBytes -= bytes;
        pageLive[page] -= bytes;
        if (pageLive[page] == 0 && page != tail) {
            drop(page);
        }
    }

    private void drop(int page)
    {
        pageBytes -= pages.get(page).length;
        pages.set(page, null);
        droppedPages++;
    }

    /** Keeps the garbage in proportion to the live bytes, and the page numbers dense. */
    private void afterAppend()
    {
        long garbage = pageBytes - liveBytes;
        if (garbage > MIN_GARBAGE_TO_CLEAN && garbage * 2 > liveBytes && garbage > garbageAfterClean * 2) {
            clean();
            garbageAfterClean = pageBytes - liveBytes;
        }
        if (droppedPages > 16 && droppedPages > pages.size() / 2) {
            renumber();
        }
    }

    /** Copies the live entries of every page that is more garbage than live to the end, and drops those pages. */
    private void clean()
    {
        int lastFull = tail;
        for (int page = 0; page < lastFull; page++) {
            byte[] bytes = pages.get(page);
            if (bytes == null || pageLive[page] * 2L > pageEnd[page]) {
                continue;
            }
            for (int offset = 0; offset < pageEnd[page]; offset += entryBytes(bytes, offset)) {
                UnsafeRow key = new UnsafeRow(keyFields);
                pointToKey(key, bytes, offset);
                int slot = find(key, key.hashCode());
                if (slot >= 0 && slots[slot] == (((long) (page + 1) << 32) | offset)) {
                    UnsafeRow value = new UnsafeRow(valueFields);
                    pointToValue(value, bytes, offset);
                    slots[slot] = append(key, value);
                    int entry = entryBytes(bytes, offset);
                    liveBytes -= entry;
                    pageLive[page] -= entry;
                }
            }
            if (pageLive[page] != 0) {
                throw new IllegalStateException("state page " + page + " still counts " + pageLive[page] + " live bytes after its live entries moved");
            }
            drop(page);
        }
    }

    /** Numbers the pages that are left 0, 1, 2, ... and points the index at the new numbers. */
    private void renumber()
    {
        int[] renumbered = new int[pages.size()];
        List<byte[]> kept = new ArrayList<>(pages.size() - droppedPages);
        int[] live = new int[Math.max(16, pages.size() - droppedPages)];
        int[] end = new int[live.length];
        for (int page = 0; page < pages.size(); page++) {
            if (pages.get(page) != null) {
                renumbered[page] = kept.size();
                live[kept.size()] = pageLive[page];
                end[kept.size()] = pageEnd[page];
                kept.add(pages.get(page));
            }
        }
        for (int i = 0; i < slots.length; i++) {
            long slot = slots[i];
            if (slot != EMPTY && slot != REMOVED) {
                slots[i] = ((long) (renumbered[page(slot)] + 1) << 32) | offset(slot);
            }
        }
        tail = renumbered[tail];
        pages = kept;
        pageLive = live;
        pageEnd = end;
        droppedPages = 0;
    }

    private void rehash(int capacity)
    {
        long[] oldSlots = slots;
        int[] oldHashes = hashes;
        slots = new long[capacity];
        hashes = new int[capacity];
        removed = 0;
        int mask = capacity - 1;
        for (int i = 0; i < oldSlots.length; i++) {
            long slot = oldSlots[i];
            if (slot != EMPTY && slot != REMOVED) {
                int index = spread(oldHashes[i]) & mask;
                while (slots[index] != EMPTY) {
                    index = (index + 1) & mask;
                }
                slots[index] = slot;
                hashes[index] = oldHashes[i];
            }
        }
    }

    /** Walks an index; sees a slot removed or replaced after the walk began as it is now. */
    private final class Entries
            implements Iterator<UnsafeRowPair>
    {
        private final long[] walked;
        /** The pages of a view; null for this map's own, which cleaning and renumbering change as it is walked. */
        private final List<byte[]> frozenPages;
        private final UnsafeRow key = new UnsafeRow(keyFields);
        private final UnsafeRow value = new UnsafeRow(valueFields);
        private final UnsafeRowPair pair = new UnsafeRowPair(key, value);
        private int next;

        Entries(long[] walked, List<byte[]> frozenPages)
        {
            this.walked = walked;
            this.frozenPages = frozenPages;
        }

        @Override
        public boolean hasNext()
        {
            while (next < walked.length && (walked[next] == EMPTY || walked[next] == REMOVED)) {
                next++;
            }
            return next < walked.length;
        }

        @Override
        public UnsafeRowPair next()
        {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            long slot = walked[next];
            List<byte[]> from = frozenPages;
            if (from == null) {
                if (walked != slots) {
                    throw new ConcurrentModificationException("a key was added to the state while it was iterated, and its index was rebuilt");
                }
                from = pages;
            }
            byte[] page = from.get(page(slot));
            if (page == null) {
                throw new IllegalStateException("state page " + page(slot) + " was dropped while an entry still points into it");
            }
            pointToKey(key, page, offset(slot));
            pointToValue(value, page, offset(slot));
            next++;
            return pair.withRows(key, value);
        }
    }
}
