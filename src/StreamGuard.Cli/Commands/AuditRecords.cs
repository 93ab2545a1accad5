using System.Text;
using System.Text.Json;
using StreamGuard.Cli.CommandLine;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The audit log as <c>audit why</c> and <c>audit report</c> read it: its records from a file or a topic, each
/// parsed on its own (a line that is not JSON is skipped), and their string members.
/// </summary>
internal static class AuditRecords
{
    public static IEnumerable<string> Read(CliArgs args)
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
