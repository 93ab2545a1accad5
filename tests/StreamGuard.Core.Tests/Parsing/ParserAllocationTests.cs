using System.Buffers;
using StreamGuard.Parsing;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Parsing;

/// <summary>
/// The allocation budget of the parse path (STYLE 12): after a warm-up, parsing allocates exactly 0 bytes per event,
/// from one span or from a sequence split over several segments.
/// </summary>
/// <remarks>
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts only this thread, so tests running in parallel do not
/// disturb it; the tests are synchronous so the measured loop cannot hop threads.
/// </remarks>
public sealed class ParserAllocationTests
{
    private const int Events = 100_000;
    // A full pass first: every camera interned and the pooled buffers of the split path rented; then batches of
    // SteadyBatch events until three in a row allocate nothing (optimised code: SteadyAllocation), so the measured
    // pass sees only the steady state.
    private const int WarmUp = Events;
    private const int SteadyBatch = 10_000;

    private static readonly (EventKind Kind, byte[] Utf8)[] s_events = RealisticTraffic.Generate(Events);

    private static int ParseAll(EventParser parser, (EventKind Kind, byte[] Utf8)[] events, int count)
    {
        int accepted = 0;
        for (int i = 0; i < count; i++)
        {
            (EventKind kind, byte[] utf8) = events[i];
            ParseResult result =
                kind == EventKind.Read ? parser.ParseRead(utf8, out _) : parser.ParseQuery(utf8, out _);
            if (result.IsOk) accepted++;
        }
        return accepted;
    }

    private static int ParseAll(EventParser parser, EventKind[] kinds, ReadOnlySequence<byte>[] events, int count)
    {
        int accepted = 0;
        for (int i = 0; i < count; i++)
        {
            ParseResult result = kinds[i] == EventKind.Read
                ? parser.ParseRead(events[i], out _)
                : parser.ParseQuery(events[i], out _);
            if (result.IsOk) accepted++;
        }
        return accepted;
    }

    [Fact]
    public void ParsingOneHundredThousandEventsFromSpansAllocatesNothing()
    {
        var parser = new EventParser(SampleEvents.Agencies());
        ParseAll(parser, s_events, WarmUp);
        SteadyAllocation.WarmUp(() => SteadyAllocation.Of(() => ParseAll(parser, s_events, SteadyBatch)), target: 0L);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int accepted = ParseAll(parser, s_events, Events);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Events, accepted);
        Assert.Equal(RealisticTraffic.Cameras, parser.Cameras.Count);
        Assert.True(allocated == 0, $"{allocated} bytes allocated parsing {Events} events from spans");
    }

    [Fact]
    public void ParsingOneHundredThousandEventsFromMultiSegmentSequencesAllocatesNothing()
    {
        var parser = new EventParser(SampleEvents.Agencies());
        var random = new Random(7);
        var kinds = new EventKind[Events];
        var sequences = new ReadOnlySequence<byte>[Events];
        for (int i = 0; i < Events; i++)
        {
            // Split points anywhere, as Kafka fetch buffers or pipe segments would cut them.
            int[] sizes = [random.Next(1, 120), random.Next(1, 120), random.Next(1, 120)];
            kinds[i] = s_events[i].Kind;
            sequences[i] = BytePerSegmentSequence.Chunked(s_events[i].Utf8, sizes);
        }
        Assert.False(sequences[0].IsSingleSegment);
        ParseAll(parser, kinds, sequences, WarmUp);
        SteadyAllocation.WarmUp(
            () => SteadyAllocation.Of(() => ParseAll(parser, kinds, sequences, SteadyBatch)), target: 0L);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int accepted = ParseAll(parser, kinds, sequences, Events);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Events, accepted);
        Assert.True(allocated == 0,
            $"{allocated} bytes allocated parsing {Events} events from multi-segment sequences");
    }

    [Fact]
    public void RejectingEventsForAnyReasonButMalformedJsonAllocatesNothing()
    {
        // malformed_json is excluded: Utf8JsonReader reports it by throwing JsonException, which allocates.
        var parser = new EventParser(SampleEvents.Agencies(), maxEventBytes: 1024);
        byte[][] rejected =
        [
            SampleEvents.Utf8(SampleEvents.With(SampleEvents.ReadMembers, "agency_id", "\"ca-nowhere\"")),
            SampleEvents.Utf8(SampleEvents.With(SampleEvents.ReadMembers, "plate", "\"7ABC*123\"")),
            SampleEvents.Utf8(SampleEvents.Without(SampleEvents.ReadMembers, "observed_at")),
            SampleEvents.Utf8(SampleEvents.With(SampleEvents.ReadMembers, "confidence", "1.5")),
            SampleEvents.Utf8(SampleEvents.With(SampleEvents.ReadMembers, "confidence", "\"high\"")),
            SampleEvents.Utf8(SampleEvents.Duplicated(SampleEvents.ReadMembers, "plate", "\"7ABC123\"")),
            SampleEvents.Utf8(SampleEvents.With(SampleEvents.ReadMembers, "observed_at", "\"2026-02-29T00:00:00Z\"")),
            SampleEvents.Inject(SampleEvents.Json(SampleEvents.With(SampleEvents.ReadMembers, "plate", "\"7AB@@C\"")),
                "@@", 0xED, 0xA0, 0x80),
            SampleEvents.Utf8(SampleEvents.With(SampleEvents.ReadMembers, "pad", $"\"{new string('p', 1024)}\"")),
        ];
        var expected = new ParseError[rejected.Length];
        for (int k = 0; k < rejected.Length; k++) expected[k] = parser.ParseRead(rejected[k], out _).Error;
        for (int i = 0; i < Events; i++) parser.ParseRead(rejected[i % rejected.Length], out _);
        SteadyAllocation.WarmUp(() => SteadyAllocation.Of(() =>
        {
            for (int i = 0; i < SteadyBatch; i++) parser.ParseRead(rejected[i % rejected.Length], out _);
        }), target: 0L);
        Assert.DoesNotContain(ParseError.None, expected);
        Assert.DoesNotContain(ParseError.MalformedJson, expected);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int mismatches = 0;
        for (int i = 0; i < Events; i++)
        {
            int k = i % rejected.Length;
            if (parser.ParseRead(rejected[k], out _).Error != expected[k]) mismatches++;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, mismatches);
        Assert.True(allocated == 0, $"{allocated} bytes allocated rejecting {Events} events");
    }
}
