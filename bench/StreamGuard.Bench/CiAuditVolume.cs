using System.Globalization;
using StreamGuard.Engine;
using StreamGuard.Generation;
using StreamGuard.Output;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

/// <summary>
/// The audit volume of one fixed input: bytes and messages the engine gave <see cref="IOutputSink.Audit"/>, per
/// input event.
/// </summary>
internal sealed record CiAuditMeasure(long Events, long AuditBytes, long AuditMessages, double Seconds)
{
    public double BytesPerEvent => (double)AuditBytes / Events;

    public double MessagesPerEvent => (double)AuditMessages / Events;
}

/// <summary>
/// The CI gate's audit volume (issue 16): the engine run as <c>replay</c> runs it over <c>gen</c>'s traffic, into a
/// sink that only counts what it is given, so the figure is the audit's own size, with no file or Kafka framing.
/// </summary>
/// <remarks>
/// The input is fixed (<see cref="SyntheticTraffic"/> seed 1 over samples/policy.yaml, gen's default 1% of bad
/// lines, an event-time clock ending at a fixed instant), so the figure is exact: it moves only when the audit's
/// encoding or the engine's decisions change, never with the machine. The reads are a minute apart, 50,000 of them
/// over 35 days: longer than most of the sample's retention windows, so purges are audited as in the Seattle week ×10
/// replay, not only ingests and pushes.
/// </remarks>
internal static class CiAuditVolume
{
    public const int Reads = 50_000;

    public const int Queries = Reads / 50;

    public const int Hotlists = 100;

    private const long ReadSpacingMs = 60_000;

    /// <summary>The input, as written in the reference and in the run's ratios file.</summary>
    public static readonly string Input = string.Create(CultureInfo.InvariantCulture,
        $"samples/policy.yaml; SyntheticTraffic seed 1, 1% bad lines: {Hotlists} hotlist entries, then {Reads} " +
        $"reads a minute apart and {Queries} queries among them, one chain, event-time clock");

    private static readonly long s_endMs = DateTimeOffset.Parse("2026-03-03T18:00:00Z", CultureInfo.InvariantCulture)
        .ToUnixTimeMilliseconds();

    public static CiAuditMeasure Measure(string root)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        PolicyDocument document = PolicyLoader.LoadFile(Path.Combine(root, "samples", "policy.yaml"));
        var policy = new CompiledPolicy(document);
        byte[] auditKey = File.ReadAllBytes(Path.Combine(root, "samples", "keys", "audit.key"));
        var sink = new AuditCountingSink();
        var engine = new StreamGuardEngine(policy, sink, auditKey,
            new EngineOptions
            {
                EventTimeClock = true, ReplayNowMs = s_endMs, MaxEventBytes = EngineOptions.DefaultMaxEventBytes,
            },
            PolicyDiff.Summarise(null, PolicyDiff.Compute(null, policy, s_endMs)));
        var traffic = new SyntheticTraffic(document, TrafficOptions.Default);

        // As replay reads gen's files: the hotlist snapshot first, then reads with queries merged in by time.
        long start = s_endMs - Reads * ReadSpacingMs;
        long events = 0;
        for (int i = 0; i < Hotlists; i++)
        {
            engine.Hotlists.ApplyAndCheck(default, traffic.NextHotlist(start).Span,
                EventSource.File("hotlists.ndjson", i + 1));
            events++;
        }
        int queries = 0;
        for (int i = 0; i < Reads; i++)
        {
            long t = start + i * ReadSpacingMs;
            engine.ProcessRead(traffic.NextRead(t).Span, EventSource.File("reads.ndjson", i + 1));
            events++;
            // Where gen puts them: one query every Reads / Queries reads, the first halfway into the first stretch.
            if (queries < Queries && (long)i * Queries >= (long)queries * Reads + Reads / 2)
            {
                engine.ProcessQuery(traffic.NextQuery(t + ReadSpacingMs / 2).Span,
                    EventSource.File("queries.ndjson", ++queries));
                events++;
            }
        }
        // Every event has been given to the engine; sealing hands every audit byte it produced to the sink.
        engine.FlushAudit();
        return new CiAuditMeasure(events, sink.AuditBytes, sink.AuditMessages, started.Elapsed.TotalSeconds);
    }

    /// <summary>Counts what the engine gives <see cref="IOutputSink.Audit"/>; drops every output.</summary>
    private sealed class AuditCountingSink : IOutputSink
    {
        public long AuditBytes { get; private set; }

        public long AuditMessages { get; private set; }

        public void Audit(int partition, ReadOnlySpan<byte> record)
        {
            AuditBytes += record.Length;
            AuditMessages++;
        }

        public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
        ReadOnlySpan<byte> read) { }

        public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert) { }

        public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) { }

        public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) { }

        public void DeadLetter(ReadOnlySpan<byte> record) { }
    }
}
