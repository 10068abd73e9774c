package io.sensorpipeline.common;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class EventStreamTest
{
    private static final FaultPlan FAULTY = new FaultPlan(0.10, 0.03, 0.03, 2000);
    private static final Instant NOW = TestStreams.START.plus(Duration.ofMinutes(10));

    @Test
    void sameSeedGivesTheSameBytes()
    {
        EventStream first = TestStreams.stream(1000, 7, FAULTY);
        EventStream second = TestStreams.stream(1000, 7, FAULTY);
        for (int index = 0; index < 20_000; index++) {
            StreamRecord left = first.next();
            StreamRecord right = second.next();
            assertThat(left.value()).isEqualTo(right.value());
            assertThat(left.key()).isEqualTo(right.key());
        }
    }

    @Test
    void anotherSeedGivesAnotherStream()
    {
        EventStream first = TestStreams.stream(1000, 7, FAULTY);
        EventStream second = TestStreams.stream(1000, 8, FAULTY);
        int equal = 0;
        for (int index = 0; index < 1000; index++) {
            if (new String(first.next().value(), StandardCharsets.UTF_8).equals(new String(second.next().value(), StandardCharsets.UTF_8))) {
                equal++;
            }
        }
        assertThat(equal).isZero();
    }

    @Test
    void anotherStartTimeGivesOtherEventIds()
    {
        FleetSimulator first = new FleetSimulator(TestStreams.catalog(), 3, TestStreams.START, Duration.ofSeconds(1));
        FleetSimulator later = new FleetSimulator(TestStreams.catalog(), 3, TestStreams.START.plusSeconds(60), Duration.ofSeconds(1));
        Set<String> firstIds = new HashSet<>();
        for (long index = 0; index < 5_000; index++) {
            first.reading(index).ifPresent(reading -> firstIds.add(reading.eventId()));
        }
        for (long index = 0; index < 5_000; index++) {
            later.reading(index).ifPresent(reading -> assertThat(firstIds).doesNotContain(reading.eventId()));
        }
    }

    @Test
    void readingsArePureFunctionsOfTheirIndex()
    {
        FleetSimulator simulator = new FleetSimulator(TestStreams.catalog(), 3, TestStreams.START, Duration.ofSeconds(1));
        FleetSimulator again = new FleetSimulator(TestStreams.catalog(), 3, TestStreams.START, Duration.ofSeconds(1));
        // Asked in another order, the same index gives the same reading: pacing and batching cannot change the stream.
        for (long index = 49_999; index >= 0; index -= 7) {
            assertThat(again.reading(index)).isEqualTo(simulator.reading(index));
        }
    }

    @Test
    void cleanStreamHasOnlyValidReadingsInTheirPhysicalRange()
    {
        ReferenceValidator validator = new ReferenceValidator(TestStreams.catalog());
        EventStream stream = TestStreams.stream(1000, 11, FaultPlan.NONE);
        Set<String> eventIds = new HashSet<>();
        for (int index = 0; index < 100_000; index++) {
            StreamRecord record = stream.next();
            assertThat(record.kind()).isEqualTo(StreamRecord.Kind.VALID);
            assertThat(validator.rejection(record.value(), NOW)).as(new String(record.value(), StandardCharsets.UTF_8)).isEmpty();
            assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo(record.sensorId());
            assertThat(eventIds.add(record.eventId())).isTrue();
        }
    }

    @Test
    void everyMalformedKindIsWhatItClaims()
    {
        ReferenceValidator validator = new ReferenceValidator(TestStreams.catalog());
        EventStream stream = TestStreams.stream(1000, 5, new FaultPlan(1.0, 0, 0, 0));
        Map<FaultKind, Integer> seen = new EnumMap<>(FaultKind.class);
        for (int index = 0; index < 5_000; index++) {
            StreamRecord record = stream.next();
            assertThat(record.kind()).isEqualTo(StreamRecord.Kind.MALFORMED);
            Optional<RejectReason> rejection = validator.rejection(record.value(), NOW);
            assertThat(rejection).as("%s: %s", record.fault(), new String(record.value(), StandardCharsets.UTF_8))
                    .contains(record.fault().expectedReason());
            seen.merge(record.fault(), 1, Integer::sum);
        }
        assertThat(seen.keySet()).containsExactlyInAnyOrder(FaultKind.values());
        assertThat(seen.values()).allSatisfy(count -> assertThat(count).isGreaterThan(300));
    }

    @Test
    void specificKindsLookTheirPart()
    {
        EventStream stream = TestStreams.stream(1000, 5, new FaultPlan(1.0, 0, 0, 0));
        Map<FaultKind, byte[]> examples = new EnumMap<>(FaultKind.class);
        while (examples.size() < FaultKind.values().length) {
            StreamRecord record = stream.next();
            examples.putIfAbsent(record.fault(), record.value());
        }
        assertThat(examples.get(FaultKind.EMPTY_PAYLOAD)).isEmpty();
        assertThat(isUtf8(examples.get(FaultKind.TRUNCATED_JSON))).isTrue();
        assertThat(new String(examples.get(FaultKind.TRUNCATED_JSON), StandardCharsets.UTF_8)).startsWith("{").doesNotEndWith("}");
        assertThat(isUtf8(examples.get(FaultKind.NOT_UTF8))).isFalse();
        assertThat(isUtf8(examples.get(FaultKind.NOT_JSON))).isTrue();
        assertThat(new String(examples.get(FaultKind.NON_FINITE), StandardCharsets.UTF_8)).containsPattern("\"value\":-?(NaN|Infinity),");
    }

    @Test
    void faultRatiosAreHonouredAndDuplicatesRepeatEarlierReadings()
    {
        EventStream stream = TestStreams.stream(1000, 9, FAULTY);
        Map<StreamRecord.Kind, Integer> counts = new EnumMap<>(StreamRecord.Kind.class);
        Map<String, byte[]> sent = new HashMap<>();
        int total = 100_000;
        for (int index = 0; index < total; index++) {
            StreamRecord record = stream.next();
            counts.merge(record.kind(), 1, Integer::sum);
            if (record.kind() == StreamRecord.Kind.DUPLICATE) {
                assertThat(sent.get(record.eventId())).as("a duplicate repeats a reading sent before").isEqualTo(record.value());
            }
            else if (record.kind() != StreamRecord.Kind.MALFORMED) {
                assertThat(sent.put(record.eventId(), record.value())).isNull();
            }
        }
        assertThat(counts.get(StreamRecord.Kind.MALFORMED) / (double) total).isCloseTo(0.10, within(0.005));
        assertThat(counts.get(StreamRecord.Kind.DUPLICATE) / (double) total).isCloseTo(0.03, within(0.003));
        assertThat(counts.get(StreamRecord.Kind.LATE) / (double) total).isCloseTo(0.03, within(0.003));
    }

    @Test
    void lateEventsAreMinutesOld()
    {
        EventStream stream = TestStreams.stream(100, 9, new FaultPlan(0, 0, 0.5, 0));
        FleetSimulator clean = new FleetSimulator(TestStreams.catalog().first(100), 9, TestStreams.START, Duration.ofSeconds(1));
        List<Duration> lateness = new ArrayList<>();
        long readingIndex = 0;
        for (int index = 0; index < 2_000; index++) {
            StreamRecord record = stream.next();
            Optional<SensorReading> original = clean.reading(readingIndex++);
            while (original.isEmpty()) {
                original = clean.reading(readingIndex++);
            }
            Duration behind = Duration.between(record.eventTime(), original.get().timestamp());
            if (record.kind() == StreamRecord.Kind.LATE) {
                lateness.add(behind);
            }
            else {
                assertThat(behind).isZero();
            }
        }
        assertThat(lateness).hasSizeGreaterThan(800)
                .allSatisfy(behind -> assertThat(behind).isBetween(Duration.ofMinutes(2), Duration.ofMinutes(10)));
    }

    @Test
    void fleetShowsRealWorldFaults()
    {
        FleetSimulator simulator = new FleetSimulator(TestStreams.catalog(), 21, TestStreams.START, Duration.ofSeconds(1));
        int sensors = simulator.fleetSize();
        Map<Integer, Double> lastValue = new HashMap<>();
        Map<Integer, Integer> runLength = new HashMap<>();
        int longestRun = 0;
        int dropped = 0;
        double fahrenheitSum = 0;
        int fahrenheit = 0;
        // One hour of the whole fleet at one reading per second.
        for (long index = 0; index < 3600L * sensors; index++) {
            Optional<SensorReading> reading = simulator.reading(index);
            int sensorIndex = (int) (index % sensors);
            if (reading.isEmpty()) {
                dropped++;
                continue;
            }
            SensorReading value = reading.get();
            SensorType type = SensorType.fromWireName(value.type()).orElseThrow();
            assertThat(type.inPhysicalRange(value.value(), value.unit())).isTrue();
            assertThat(value.seq()).isEqualTo(index / sensors);
            if (value.unit().equals("F")) {
                fahrenheit++;
                fahrenheitSum += value.value();
            }
            Double previous = lastValue.put(sensorIndex, value.value());
            int run = previous != null && previous == value.value() ? runLength.getOrDefault(sensorIndex, 1) + 1 : 1;
            runLength.put(sensorIndex, run);
            longestRun = Math.max(longestRun, run);
        }
        assertThat(dropped).as("readings lost to dropouts").isGreaterThan(0);
        assertThat(longestRun).as("a stuck sensor repeats its value").isGreaterThanOrEqualTo(500);
        assertThat(fahrenheit).isGreaterThan(0);
        assertThat(fahrenheitSum / fahrenheit).as("room temperature in Fahrenheit").isBetween(60.0, 80.0);
    }

    private static boolean isUtf8(byte[] bytes)
    {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes));
            return true;
        }
        catch (CharacterCodingException e) {
            return false;
        }
    }
}
