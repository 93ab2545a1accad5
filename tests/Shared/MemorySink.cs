using System.Text;
using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Output;

namespace StreamGuard.Tests.Support;

/// <summary>Keeps every output as text for assertions.</summary>
internal sealed class MemorySink : IOutputSink
{
    private readonly List<string> _blocks = [];

    /// <summary>
    /// The engine writing here (set by <see cref="TestEngine.Create"/>): audit reads seal its blocks first.
    /// </summary>
    public StreamGuardEngine? Engine { get; set; }

    public List<(string Recipient, string DecisionId, string Read)> SharedRecords { get; } = [];
    public List<string> Alerts { get; } = [];
    public List<string> Results { get; } = [];
    public List<string> Purges { get; } = [];
    public List<string> DeadLetters { get; } = [];

    /// <summary>The audit blocks handed over, as written (entries and seal, one per line).</summary>
    public IReadOnlyList<string> AuditBlocks
    {
        get
        {
            Engine?.FlushAudit();
            return _blocks;
        }
    }

    /// <summary>The audit log's lines, as the replay file holds them.</summary>
    public List<string> AuditLines => AuditBlocks.SelectMany(b => b.Split('\n')).ToList();

    /// <summary>The audit log one decision per item, in the shape of <c>audit export</c>.</summary>
    public List<string> AuditRecords => AuditExport.Decisions(AuditLines).ToList();

    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
        ReadOnlySpan<byte> read) =>
        SharedRecords.Add(
            (Encoding.UTF8.GetString(recipient), Encoding.UTF8.GetString(decisionId), Encoding.UTF8.GetString(read)));

    public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert) =>
        Alerts.Add(Encoding.UTF8.GetString(alert));

    public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) =>
        Results.Add(Encoding.UTF8.GetString(result));

    public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) =>
        Purges.Add(Encoding.UTF8.GetString(notice));

    public void Audit(int partition, ReadOnlySpan<byte> block) => _blocks.Add(Encoding.UTF8.GetString(block));

    public void DeadLetter(ReadOnlySpan<byte> record) => DeadLetters.Add(Encoding.UTF8.GetString(record));

    public static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement.Clone();
}

/// <summary>
/// Engines for tests: one writing to a <see cref="MemorySink"/> seals its audit when the sink is read.
/// </summary>
internal static class TestEngine
{
    public static StreamGuardEngine Create(CompiledPolicy policy, IOutputSink sink, byte[] auditKey,
        EngineOptions? options = null, StreamGuard.Policy.PolicyChangeSummary? change = null)
    {
        var engine = new StreamGuardEngine(policy, sink, auditKey, options, change);
        if (sink is MemorySink memory) memory.Engine = engine;
        return engine;
    }
}
