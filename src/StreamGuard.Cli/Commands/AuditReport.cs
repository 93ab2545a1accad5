using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Policy;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary><c>audit why</c> and <c>audit report</c>: reading decisions back for investigators, auditors and the public.</summary>
internal static class AuditReport
{
    private static IEnumerable<string> Records(CliArgs args)
    {
        string? file = args.Get(AuditCommand.Audit);
        string? topic = args.Get(AuditCommand.Topic);
        if ((file is null) == (topic is null)) throw new UsageException("give the audit log as --audit FILE or --topic T --bootstrap B");
        if (topic is not null) return AuditCommand.TopicRecords(args.Require(AuditCommand.Bootstrap), topic);
        if (!File.Exists(file)) throw new UsageException($"{file}: no such file");
        return File.ReadLines(file!, Encoding.UTF8).Where(l => !string.IsNullOrWhiteSpace(l));
    }

    private static JsonElement? Parse(string line)
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

    private static string Str(JsonElement r, string name) => r.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    // ---- why -------------------------------------------------------------------------------

    public static int Why(CliArgs args)
    {
        if (args.Positional.Count != 2) throw new UsageException("expected: audit why ID --audit FILE | --topic T --bootstrap B");
        string id = args.Positional[1];
        IEnumerable<string> records = Records(args);
        _ = args.Get(AuditCommand.Policy); // accepted for symmetry with report; the record carries the policy hash
        args.RejectUnknown();

        // Keep each chain's records until the one asked for, to check its links and find the policy_load before it.
        var chains = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string line in records)
        {
            if (Parse(line) is not { } r) continue;
            string chain = Str(r, "chain");
            if (!chains.TryGetValue(chain, out List<string>? list)) chains.Add(chain, list = []);
            list.Add(line);
            if (Str(r, "id") != id) continue;

            AuditVerifier.Result check = AuditVerifier.Verify(list);
            JsonElement? load = list.Select(Parse).LastOrDefault(x => x is { } e && Str(e, "event") == "policy_load");
            Print(r, load, check);
            return 0;
        }
        Console.Error.WriteLine($"audit why: no record with id {id}");
        return 1;
    }

    private static void Print(JsonElement r, JsonElement? load, AuditVerifier.Result check)
    {
        var o = Console.Out;
        string rule = Str(r, "rule");
        StatuteRule? statute = StatuteRules.All.FirstOrDefault(s => s.Id == rule);
        RetentionCap? cap = StatuteRules.RetentionCaps.FirstOrDefault(c => c.Id == rule);
        string status = statute is not null ? (statute.Confirmed ? $" [{statute.Status}]" : $" [⚠ {statute.Status}: not confirmed enacted]")
            : cap is not null ? (cap.Confirmed ? $" [{cap.Status}]" : $" [⚠ {cap.Status}]") : "";
        o.WriteLine($"decision    {Str(r, "id")}  (chain {Str(r, "chain")}, seq {r.GetProperty("seq").GetInt64()}, at {Str(r, "at")})");
        o.WriteLine($"event       {Str(r, "event")}");
        o.WriteLine($"outcome     {Str(r, "decision").ToUpperInvariant()} {Str(r, "code")}");
        o.WriteLine($"rule        {rule}{status}");
        o.WriteLine($"citation    {Str(r, "citation")}");
        o.WriteLine($"policy      {Str(r, "policy")}" + (load is { } l ? $"  (loaded from {Str(l, "file")}; its policy_load is seq {l.GetProperty("seq").GetInt64()} at {Str(l, "at")})" : ""));
        foreach (string field in (string[])["owner", "recipient", "purpose", "purposes", "query_id", "user", "case_number", "hotlist_id", "reads", "retain_until", "source", "plate_ref"])
        {
            if (!r.TryGetProperty(field, out JsonElement v)) continue;
            string text = v.ValueKind == JsonValueKind.Array ? string.Join(", ", v.EnumerateArray().Select(x => x.ToString())) : v.ToString();
            string label = field switch
            {
                "source" => "input",
                "plate_ref" => "plate_ref",
                _ => field,
            };
            o.WriteLine($"{label,-11} {text}{(field == "source" ? "  (the event that was decided)" : "")}");
        }
        o.WriteLine(check.Error is null
            ? $"integrity   chain {Str(r, "chain")} verified from its genesis to this record ({check.Records:N0} records)"
            : $"integrity   BROKEN before this record: {check.Error}");
    }

    // ---- report ----------------------------------------------------------------------------

    public static int Report(CliArgs args)
    {
        if (args.Positional.Count != 1) throw new UsageException("expected: audit report --agency A --audit FILE | --topic T --bootstrap B --out DIR");
        string agency = args.Require(AuditCommand.Agency);
        string outDir = args.Require(AuditCommand.Out);
        long from = Time(args, AuditCommand.From, long.MinValue), to = Time(args, AuditCommand.To, long.MaxValue);
        string policyPath = args.Text(AuditCommand.Policy)!;
        IEnumerable<string> records = Records(args);
        args.RejectUnknown();
        var agencies = PolicyLoader.LoadFile(policyPath).Agencies.ToDictionary(a => a.Id, StringComparer.Ordinal);

        var rows = new List<JsonElement>();
        // The agency's own searches, one per query: denied at the query checks, or answered (whatever owners withheld).
        var ownSearches = new Dictionary<string, (string Purpose, bool Denied)>(StringComparer.Ordinal);
        foreach (string line in records)
        {
            if (Parse(line) is not { } r) continue;
            if (Str(r, "owner") != agency && Str(r, "recipient") != agency) continue;
            if (!Rfc3339.TryParse(Encoding.UTF8.GetBytes(Str(r, "at")), out long at) || at < from || at > to) continue;
            if (Str(r, "event") == "search" && Str(r, "recipient") == agency && Str(r, "owner") != agency)
            {
                bool precheckDenied = Str(r, "owner").Length == 0 && Str(r, "decision") == "deny";
                ownSearches[Str(r, "query_id")] = (Str(r, "purpose"), precheckDenied);
            }
            // A denial of another owner's data to this agency names what was withheld (owner, time, number of reads):
            // the agency must learn nothing of it (SPEC §6), so its report leaves such records out.
            if (Str(r, "owner") != agency && Str(r, "owner").Length > 0 && Str(r, "decision") != "allow") continue;
            rows.Add(r);
        }
        Directory.CreateDirectory(outDir);
        WriteCsv(Path.Combine(outDir, "records.csv"), rows);
        string html = Html(agency, agencies, rows, ownSearches, from, to);
        File.WriteAllText(Path.Combine(outDir, "report.html"), html);
        Console.WriteLine($"{rows.Count:N0} decisions involving {agency}: {Path.GetFullPath(Path.Combine(outDir, "report.html"))}, {Path.GetFullPath(Path.Combine(outDir, "records.csv"))}");
        return 0;
    }

    private static long Time(CliArgs args, TextOption option, long fallback)
    {
        string name = option.Name;
        string? text = args.Get(option);
        if (text is null) return fallback;
        if (Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out long ms)) return ms;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateOnly d))
        {
            return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds() + (name == "to" ? 86_400_000 - 1 : 0);
        }
        throw new UsageException($"--{name}: '{text}' is not a date (2026-03-01) or an RFC 3339 timestamp");
    }

    private static readonly string[] s_csvColumns = ["at", "event", "decision", "code", "rule", "owner", "recipient", "purpose", "query_id", "user", "case_number", "hotlist_id", "reads", "id", "chain", "seq", "policy"];

    private static void WriteCsv(string path, List<JsonElement> rows)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        w.WriteLine(string.Join(',', s_csvColumns));
        foreach (JsonElement r in rows)
        {
            w.WriteLine(string.Join(',', s_csvColumns.Select(c => Csv(c switch
            {
                "reads" => r.TryGetProperty("reads", out JsonElement a) ? a.GetArrayLength().ToString(CultureInfo.InvariantCulture) : "",
                "seq" => r.GetProperty("seq").GetInt64().ToString(CultureInfo.InvariantCulture),
                "purpose" => Str(r, "purpose") is { Length: > 0 } p ? p : r.TryGetProperty("purposes", out JsonElement ps) ? string.Join(' ', ps.EnumerateArray().Select(x => x.GetString())) : "",
                _ => Str(r, c),
            }))));
        }
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Html(string agency, Dictionary<string, AgencyConfig> agencies, List<JsonElement> rows,
        Dictionary<string, (string Purpose, bool Denied)> ownSearches, long from, long to)
    {
        string Who(string id) => agencies.TryGetValue(id, out AgencyConfig? a)
            ? (a.Level == AgencyLevel.Federal ? "federal" : $"{a.State} {a.Level.ToString().ToLowerInvariant()}")
            : "unknown";
        bool Of(JsonElement r, string ev) => Str(r, "event") == ev && Str(r, "owner") == agency;
        var searchesOfData = rows.Where(r => Of(r, "search") && Str(r, "recipient") != agency).ToList();
        var shares = rows.Where(r => Of(r, "push")).ToList();
        var alerts = rows.Where(r => Of(r, "alert") && Str(r, "recipient") != agency).ToList();
        var purges = rows.Where(r => Of(r, "purge")).ToList();
        var ingests = rows.Where(r => Of(r, "ingest")).ToList();
        var denials = rows.Where(r => Str(r, "owner") == agency && Str(r, "decision") == "deny" && Str(r, "event") is "search" or "push" or "alert").ToList();
        string name = agencies.TryGetValue(agency, out AgencyConfig? me) ? $"{me.Name ?? agency} ({agency})" : agency;
        string period = (from == long.MinValue ? "the beginning of the log" : Rfc3339.ToText(from)) + " to " + (to == long.MaxValue ? "its end" : Rfc3339.ToText(to));

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $$"""
            <!doctype html>
            <html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>ALPR transparency report — {{Enc(name)}}</title>
            <style>
            body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
            h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:right}
            td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:.9rem}svg text{font-size:12px;fill:#222}
            </style>
            <h1>ALPR transparency report: {{Enc(name)}}</h1>
            <p class="note">From StreamGuard's hash-chained audit log, {{Enc(period)}}. Every decision about this agency's
            plate-reader data — allowed or denied — is counted. No plates or plate references appear in this report.</p>
            <h2>Summary</h2>
            <table>
            <tr><th>What</th><th>Allowed</th><th>Denied</th></tr>
            <tr><td>Reads stored</td><td>{{ingests.Count(r => Str(r, "decision") == "allow")}}</td><td>{{ingests.Count(r => Str(r, "decision") == "deny")}} (expired on arrival)</td></tr>
            <tr><td>Searches of its data by other agencies</td><td>{{searchesOfData.Count(r => Str(r, "decision") == "allow")}}</td><td>{{searchesOfData.Count(r => Str(r, "decision") == "deny")}}</td></tr>
            <tr><td>Reads shared (push) with other agencies</td><td>{{shares.Count(r => Str(r, "decision") == "allow")}}</td><td>{{shares.Count(r => Str(r, "decision") == "deny")}}</td></tr>
            <tr><td>Hotlist alerts to other agencies</td><td>{{alerts.Count(r => Str(r, "decision") == "allow")}}</td><td>{{alerts.Count(r => Str(r, "decision") == "deny")}}</td></tr>
            <tr><td>Reads purged at the end of their retention window</td><td colspan="2">{{purges.Count}}</td></tr>
            <tr><td>Searches by its own users (of other agencies' data; denied = refused at the query checks)</td><td>{{ownSearches.Values.Count(q => !q.Denied)}}</td><td>{{ownSearches.Values.Count(q => q.Denied)}}</td></tr>
            </table>
            """);
        sb.Append(Chart("searches-by-requester", "Searches of its data by requester state and level",
            searchesOfData.GroupBy(r => Who(Str(r, "recipient"))).Select(g => (g.Key, g.Count(r => Str(r, "decision") == "allow"), g.Count(r => Str(r, "decision") == "deny")))));
        sb.Append(Chart("denials-by-rule", "Denials of access to its data, by rule",
            denials.GroupBy(r => Str(r, "rule")).Select(g => (g.Key, 0, g.Count()))));
        sb.Append(Chart("shares-by-recipient", "Shares (push) by recipient",
            shares.GroupBy(r => Str(r, "recipient")).Select(g => (g.Key, g.Count(r => Str(r, "decision") == "allow"), g.Count(r => Str(r, "decision") == "deny")))));
        sb.Append(Chart("purges-by-day", "Retention purges by day",
            purges.GroupBy(r => Str(r, "at")[..Math.Min(10, Str(r, "at").Length)]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count(), 0))));
        sb.Append(Chart("own-searches-by-purpose", "Searches by its own users, by purpose",
            ownSearches.Values.GroupBy(q => q.Purpose).Select(g => (g.Key, g.Count(q => !q.Denied), g.Count(q => q.Denied)))));
        sb.Append("""
            <p class="note">Green: allowed; red: denied. Rules are the statute, local-rule or agreement identifiers of
            StreamGuard's policy (for example CA.PUBLIC_AGENCY_ONLY, Cal. Civ. Code §1798.90.55(b)). The rows behind
            every chart are in records.csv; any decision can be explained with <code>streamguard audit why ID</code>.</p>
            </html>
            """);
        return sb.ToString();
    }

    /// <summary>A horizontal stacked bar chart as inline SVG (no script, renders anywhere).</summary>
    private static string Chart(string id, string title, IEnumerable<(string Label, int Allowed, int Denied)> data)
    {
        var bars = data.Where(d => d.Allowed + d.Denied > 0).OrderByDescending(d => d.Allowed + d.Denied).ThenBy(d => d.Label, StringComparer.Ordinal).Take(30).ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<h2>{Enc(title)}</h2>\n");
        if (bars.Count == 0)
        {
            sb.Append("<p class=\"note\">None in this period.</p>\n");
            return sb.ToString();
        }
        // SVG text cannot be measured without a script: the label column is sized for the longest label at 8 px a
        // character (12 px sans-serif averages under 7.5), so a 64-character agreement id is not cut off at the left.
        const int barWidth = 460, row = 22;
        int labelWidth = Math.Clamp(bars.Max(b => b.Label.Length) * 8 + 12, 120, 64 * 8 + 12);
        int max = bars.Max(b => b.Allowed + b.Denied);
        sb.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-label=\"{Enc(title)}\" width=\"{labelWidth + barWidth + 80}\" height=\"{bars.Count * row + 4}\">\n");
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, allowed, denied) = bars[i];
            int y = i * row + 2;
            double wa = (double)allowed / max * barWidth, wd = (double)denied / max * barWidth;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + 15}\" text-anchor=\"end\">{Enc(label)}</text>");
            if (allowed > 0) sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar allowed\" x=\"{labelWidth}\" y=\"{y}\" width=\"{wa:F1}\" height=\"{row - 6}\" fill=\"#2e7d32\"><title>{Enc(label)}: {allowed} allowed</title></rect>");
            if (denied > 0) sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar denied\" x=\"{labelWidth + wa:F1}\" y=\"{y}\" width=\"{wd:F1}\" height=\"{row - 6}\" fill=\"#c62828\"><title>{Enc(label)}: {denied} denied</title></rect>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth + wa + wd + 6:F1}\" y=\"{y + 15}\">{allowed + denied}</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
