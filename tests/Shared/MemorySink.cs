using System.Text;
using System.Text.Json;
using StreamGuard.Output;

namespace StreamGuard.Tests.Support;

/// <summary>Keeps every output as text for assertions.</summary>
internal sealed class MemorySink : IOutputSink
{
    public List<(string Recipient, string DecisionId, string Read)> SharedRecords { get; } = [];
    public List<string> Alerts { get; } = [];
    public List<string> Results { get; } = [];
    public List<string> Purges { get; } = [];
    public List<string> AuditRecords { get; } = [];
    public List<string> DeadLetters { get; } = [];

    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> decisionId, ReadOnlySpan<byte> read) =>
        SharedRecords.Add(
            (Encoding.UTF8.GetString(recipient), Encoding.UTF8.GetString(decisionId), Encoding.UTF8.GetString(read)));

    public void Alert(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> alert) => Alerts.Add(Encoding.UTF8.GetString(alert));

    public void Result(ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) =>
        Results.Add(Encoding.UTF8.GetString(result));

    public void Purge(ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) =>
        Purges.Add(Encoding.UTF8.GetString(notice));

    public void Audit(int partition, ReadOnlySpan<byte> record) => AuditRecords.Add(Encoding.UTF8.GetString(record));

    public void DeadLetter(ReadOnlySpan<byte> record) => DeadLetters.Add(Encoding.UTF8.GetString(record));

    public static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement.Clone();
}
