using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StreamGuard.Bench;

/// <summary>
/// The ratios file of the CI gate: <c>ci-ratios.json</c> of a run and the committed reference, whose
/// <c>ratios</c> member maps each gated method to its ratio.
/// </summary>
internal static class CiRatiosFile
{
    public static string Json(List<CiRow> rows, DateTime at, List<List<CiRow>> passes, string how)
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
            ["details"] = Details(rows),
            ["passes"] = new JsonArray(passes.Select(p => (JsonNode?)Details(p)).ToArray()),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
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
