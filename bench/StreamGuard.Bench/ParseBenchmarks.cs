using System.Buffers;
using BenchmarkDotNet.Attributes;
using StreamGuard.Parsing;

namespace StreamGuard.Bench;

// Each benchmark parses a batch of 1,000 distinct events; OperationsPerInvoke makes every figure per event.
// Benchmark classes cannot be sealed: BenchmarkDotNet derives its runner from them.

/// <summary>
/// One event type: System.Text.Json POCO + validation (the baseline) vs EventParser over spans and over
/// three-segment sequences. Each derived class supplies the payloads and the three calls (one virtual call per
/// event in every variant, so the comparison stays like for like).
/// </summary>
[MemoryDiagnoser]
[GcServer(false)]
[GcConcurrent(false)]
[Config(typeof(ParseBenchConfig))]
public abstract class ParseBenchmarks
{
    public const int Batch = 1_000;

    private byte[][] _events = [];
    private ReadOnlySequence<byte>[] _split = [];

    private protected EventParser Parser { get; private set; } = null!;
    private EventParser _readerOnly = null!;
    protected SystemTextJsonBaseline Baseline { get; private set; } = null!;

    protected abstract byte[][] Payloads(int count);
    protected abstract long ParseWithBaseline(byte[] utf8);
    private protected abstract bool ParseSpan(EventParser parser, ReadOnlySpan<byte> utf8);
    protected abstract bool ParseSequence(in ReadOnlySequence<byte> utf8);

    [GlobalSetup]
    public void Setup()
    {
        _events = Payloads(Batch);
        _split = ThreeSegments.Split(_events);
        Parser = new EventParser(new AgencyDirectory(BenchPayloads.AgencyIds));
        _readerOnly = new EventParser(Parser.Agencies) { ScannerEnabled = false };
        Baseline = new SystemTextJsonBaseline(BenchPayloads.AgencyIds);
        // Every event must be accepted by both, or the comparison is not like for like.
        if (EventParserSpan() != Batch || EventParserUtf8JsonReader() != Batch || SystemTextJsonPoco() <= 0)
        {
            throw new InvalidOperationException("a benchmark event was rejected");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public long SystemTextJsonPoco()
    {
        long sum = 0;
        foreach (byte[] e in _events)
        {
            long r = ParseWithBaseline(e);
            if (r < 0) return r;
            sum += r;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long EventParserSpan() => ParseAll(Parser);

    /// <summary>
    /// The same parser with its one-pass scanner off: every event through Utf8JsonReader (its fallback path).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long EventParserUtf8JsonReader() => ParseAll(_readerOnly);

    private long ParseAll(EventParser parser)
    {
        long accepted = 0;
        foreach (byte[] e in _events)
        {
            if (ParseSpan(parser, e)) accepted++;
        }
        return accepted;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long EventParserThreeSegments()
    {
        long accepted = 0;
        foreach (ReadOnlySequence<byte> e in _split)
        {
            if (ParseSequence(e)) accepted++;
        }
        return accepted;
    }
}

/// <summary>Plate reads (SPEC §2 shape, ~350 B).</summary>
public class ReadParseBenchmarks : ParseBenchmarks
{
    protected override byte[][] Payloads(int count) => BenchPayloads.Reads(count);
    protected override long ParseWithBaseline(byte[] utf8) => Baseline.ParseRead(utf8);
    private protected override bool ParseSpan(EventParser parser, ReadOnlySpan<byte> utf8) =>
        parser.ParseRead(utf8, out _).IsOk;
    protected override bool ParseSequence(in ReadOnlySequence<byte> utf8) => Parser.ParseRead(utf8, out _).IsOk;
}

/// <summary>Queries (SPEC §2 shape, ~350 B).</summary>
public class QueryParseBenchmarks : ParseBenchmarks
{
    protected override byte[][] Payloads(int count) => BenchPayloads.Queries(count);
    protected override long ParseWithBaseline(byte[] utf8) => Baseline.ParseQuery(utf8);
    private protected override bool ParseSpan(EventParser parser, ReadOnlySpan<byte> utf8) =>
        parser.ParseQuery(utf8, out _).IsOk;
    protected override bool ParseSequence(in ReadOnlySequence<byte> utf8) => Parser.ParseQuery(utf8, out _).IsOk;
}
