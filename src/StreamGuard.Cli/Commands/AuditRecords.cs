using System.Text;
using System.Text.Json;
using StreamGuard.Cli.CommandLine;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The audit log as <c>audit why</c>, <c>audit report</c> and <c>audit export</c> read it: its lines from a file or a
/// topic, or its decisions one by one (<see cref="Audit.AuditExport"/>), and their string members.
/// </summary>
internal static class AuditRecords
{
    /// <summary>The log's decisions, one JSON object each, in the shape of <c>audit export</c>.</summary>
    public static IEnumerable<string> Read(CommandArgs args) => Audit.AuditExport.Decisions(ReadLines(args));

    /// <summary>The log's lines (entries, seals, v1 records), from a file or every partition of a topic.</summary>
    public static IEnumerable<string> ReadLines(CommandArgs args)
    {
        string? file = args.Get(AuditCommand.Audit);
        string? topic = args.Get(AuditCommand.Topic);
        if ((file is null) == (topic is null))
        {
            throw new UsageException("give the audit log as --audit FILE or --topic T --bootstrap B");
        }
        if (topic is not null) return AuditCommand.TopicRecords(args.Require(AuditCommand.Bootstrap), topic);
        if (!File.Exists(file)) throw new UsageException($"{file}: no such file");
        return File.ReadLines(file!, Encoding.UTF8).Where(l => !string.IsNullOrWhiteSpace(l));
    }

    public static JsonElement? Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Str(JsonElement r, string name) =>
        r.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
}
