using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StreamGuard.Bench;

/// <summary>
/// The ratios file of the CI gate: <c>ci-ratios.json</c> of a run and the committed reference, whose
/// <c>ratios</c> member maps each gated method to its ratio, and whose <c>audit</c> member holds the audit volume
/// (<see cref="CiAuditVolume"/>): <c>bytes_per_event</c>, with in a run's file its <c>ratio</c> to the reference's.
/// </summary>
internal static class CiRatiosFile
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    public static string Json(List<CiRow> rows, DateTime at, List<List<CiRow>> passes, string how,
        CiAuditMeasure audit, double? auditReference = null)
    {
        static JsonArray Details(List<CiRow> rows) => new(rows.Select(r => (JsonNode?)new JsonObject
        {
            ["benchmark"] = r.Name, ["baseline"] = r.Baseline,
            ["min_ns"] = Math.Round(r.MinNs, 3), ["median_ns"] = Math.Round(r.MedianNs, 3),
            ["ratio"] = r.Ratio, ["allocated_bytes_per_op"] = r.AllocatedBytes,
        }).ToArray());
        var o = new JsonObject
        {
            ["date"] = at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["machine"] = $"{Environment.ProcessorCount} cores, " +
                $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}",
            ["ratio"] = "fastest iteration / the baseline's fastest iteration; " + how,
            ["ratios"] = new JsonObject(
                rows.Where(r => !r.Baseline).Select(r => KeyValuePair.Create(r.Name, (JsonNode?)r.Ratio))),
            ["audit"] = Audit(audit, auditReference),
            ["details"] = Details(rows),
            ["passes"] = new JsonArray(passes.Select(p => (JsonNode?)Details(p)).ToArray()),
        };
        return o.ToJsonString(s_indented) + "\n";
    }

    private static JsonObject Audit(CiAuditMeasure m, double? reference)
    {
        var o = new JsonObject
        {
            ["bytes_per_event"] = Math.Round(m.BytesPerEvent, 3),
            ["messages_per_event"] = Math.Round(m.MessagesPerEvent, 4),
            ["events"] = m.Events, ["audit_bytes"] = m.AuditBytes, ["audit_messages"] = m.AuditMessages,
            ["input"] = CiAuditVolume.Input,
        };
        if (reference is double r) o["ratio"] = m.BytesPerEvent / r;
        return o;
    }

    /// <summary>
    /// Replaces the reference's <c>audit</c> member with <paramref name="audit"/>, leaving its ratios as they are:
    /// the audit volume is exact, one measurement, unlike the timed ratios.
    /// </summary>
    public static void UpdateAudit(string path, CiAuditMeasure audit)
    {
        JsonObject o = JsonNode.Parse(File.ReadAllText(path))?.AsObject()
            ?? throw new InvalidOperationException($"{path}: not a reference file");
        // Rebuilt in the order Json writes: the audit member right after the ratios.
        KeyValuePair<string, JsonNode?>[] members = [.. o.Where(m => m.Key != "audit")];
        o.Clear();
        var updated = new JsonObject();
        foreach (var (name, value) in members)
        {
            updated[name] = value;
            if (name == "ratios") updated["audit"] = Audit(audit, null);
        }
        if (!updated.ContainsKey("audit")) updated["audit"] = Audit(audit, null);
        File.WriteAllText(path, updated.ToJsonString(s_indented) + "\n");
    }

    /// <summary>The reference's audit bytes per event; null (with a failure) when it has none.</summary>
    public static double? ReadAudit(string path, List<string> failures)
    {
        if (!File.Exists(path)) return null; // Read reports the missing file
        try
        {
            if (JsonNode.Parse(File.ReadAllText(path))?["audit"]?["bytes_per_event"] is JsonNode v)
            {
                return v.GetValue<double>();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            failures.Add($"{path}: not a reference file ({e.Message})");
            return null;
        }
        failures.Add($"{path}: no audit.bytes_per_event " +
            "(run with --update-audit-reference, review the figure and commit the file)");
        return null;
    }

    public static Dictionary<string, double> Read(string path, List<string> failures)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            failures.Add($"no reference file {path}: run with --update-reference and commit it");
            return result;
        }
        try
        {
            JsonNode? ratios = JsonNode.Parse(File.ReadAllText(path))?["ratios"];
            foreach (var (name, value) in ratios?.AsObject() ?? [])
            {
                if (value is not null) result[name] = value.GetValue<double>();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            failures.Add($"{path}: not a reference file ({e.Message})");
        }
        return result;
    }
}
