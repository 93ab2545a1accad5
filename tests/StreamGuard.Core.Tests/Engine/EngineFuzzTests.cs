using System.Text;
using StreamGuard.Engine;
using StreamGuard.Generation;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// The engine never throws on data, and every event it is given leaves a trace: an audit record or a dead letter.
/// </summary>
public sealed class EngineFuzzTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void MutatedTrafficNeverThrowsAndNothingIsLost(int seed)
    {
        using var policy = new TestPolicy();
        var sink = new MemorySink();
        long now = new DateTimeOffset(2026, 3, 3, 18, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var engine = TestEngine.Create(policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = now, MaxEventBytes = 4096 });
        var traffic = new SyntheticTraffic(policy.Document,
            TrafficOptions.Default with { Seed = seed, MalformedShare = 0.05, Vehicles = 200 });
        var random = new Random(seed);
        const int events = 20_000;
        for (int i = 0; i < events; i++)
        {
            long t = now - (events - i) * 100L;
            bool query = random.Next(10) == 0;
            byte[] line = (query ? traffic.NextQuery(t) : traffic.NextRead(t)).ToArray();
            Mutate(line, random);
            long auditBefore = engine.AuditEntryCount;
            int dlqBefore = sink.DeadLetters.Count;
            int resultsBefore = sink.Results.Count;
            long unauthenticatedBefore = engine.Stats.Decisions(DecisionCode.DenyUnauthenticated);
            if (query) engine.ProcessQuery(line, EventSource.File("fuzz", i));
            else engine.ProcessRead(line, EventSource.File("fuzz", i));

            bool dead = sink.DeadLetters.Count > dlqBefore;
            bool audited = engine.AuditEntryCount > auditBefore;
            Assert.True(dead ^ audited,
                $"event {i} left {(dead ? "both a dead letter and an audit entry" : "no trace")}: " +
                $"{Encoding.UTF8.GetString(line)}");
            // every accepted query is answered, but for an unauthenticated one (answered nowhere, audited only)
            bool unauthenticated = engine.Stats.Decisions(DecisionCode.DenyUnauthenticated) > unauthenticatedBefore;
            if (query && audited) Assert.Equal(resultsBefore + (unauthenticated ? 0 : 1), sink.Results.Count);
        }
        Assert.Null(StreamGuard.Audit.AuditVerifier.Verify(sink.AuditLines).Error);
        Assert.All(sink.AuditLines, r => Assert.DoesNotContain("\"plate\"", r, StringComparison.Ordinal));
    }

    private const string Structural = "{}[]\":,\\0";

    private static void Mutate(byte[] line, Random random)
    {
        switch (random.Next(6))
        {
            case 0: line[random.Next(line.Length)] = (byte)random.Next(256); break;
            case 1: line[random.Next(line.Length)] = (byte)Structural[random.Next(Structural.Length)]; break;
            default: break; // most events stay as generated (valid, or deliberately bad)
        }
    }
}
