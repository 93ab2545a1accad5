using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Policy;
using StreamGuard.Text;
using static StreamGuard.Cli.Commands.AuditRecords;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>audit report</c>: an agency's decisions in a period, for auditors and the public: every record as a row of
/// records.csv and the counts and charts of report.html (<see cref="AuditReportHtml"/>).
/// </summary>
internal static class AuditReport
{
    public static int Report(CommandArgs args)
    {
        string agency = args.Require(AuditCommand.Agency);
        string outDir = args.Require(AuditCommand.Out);
        long from = Time(args, AuditCommand.From, long.MinValue), to = Time(args, AuditCommand.To, long.MaxValue);
        if (from > to) throw new UsageException("--from is after --to: the report's period would be empty");
        string policyPath = args.Text(AuditCommand.Policy)!;
        var agencies = PolicyLoader.LoadFile(policyPath).Agencies.ToDictionary(a => a.Id, StringComparer.Ordinal);
        if (!agencies.ContainsKey(agency))
        {
            // Not refused: an agency deleted from the file since still has its decisions in the log.
            Console.Error.WriteLine($"audit report: warning: {policyPath} names no agency '{agency}': the report " +
                "covers the decisions the log names it in, under that id");
        }
        if (AuditRecords.Load(args) is not { } log) return 1;
        // report.html says its figures come from the hash-chained log: only a log whose every chain verifies gets one.
        if (log.Broken is { } broken)
        {
            Console.Error.WriteLine(broken);
            return 1;
        }
        IEnumerable<string> records = log.Decisions();

        var rows = new List<JsonElement>();
        // Per row, the build of StreamGuard and the statute table its policy version was enforced under: stated by the
        // policy_load entry that put the version in force on the row's chain, which comes before the entries under it.
        var provenance = new List<PolicyBuild>();
        var loads = new Dictionary<(string Chain, string Policy), PolicyBuild>();
        // The agency's own searches, one per query: denied at the query checks, or answered. Counted from the
        // decisions the agency may see only, so the figures are the same whether or not other owners' reads were
        // withheld from it.
        var ownSearches = new Dictionary<string, (string Purpose, bool Denied)>(StringComparer.Ordinal);
        foreach (string line in records)
        {
            if (AuditRecords.Parse(line) is not { } r) continue;
            if (Str(r, "event") == "policy_load")
            {
                loads[(Str(r, "chain"), Str(r, "policy"))] = new PolicyBuild(Str(r, "policy"), Str(r, "build"),
                    Str(r, "statutes"));
                continue;
            }
            if (Str(r, "owner") != agency && Str(r, "recipient") != agency) continue;
            if (!Rfc3339.TryParse(Encoding.UTF8.GetBytes(Str(r, "at")), out long at) || at < from || at > to) continue;
            // A denial of another owner's data to this agency names what was withheld (owner, time, number of
            // reads): the agency must learn nothing of it (SPEC §6), so its report leaves such records out. Its
            // answer stands on a decision of its own (the empty answer's, or an allowed owner's), which stays.
            if (Str(r, "owner") != agency && Str(r, "owner").Length > 0 && Str(r, "decision") != "allow") continue;
            if (Str(r, "event") == "search" && Str(r, "recipient") == agency)
            {
                bool precheckDenied = Str(r, "owner").Length == 0 && Str(r, "decision") == "deny";
                ownSearches[Str(r, "query_id")] = (Str(r, "purpose"), precheckDenied);
            }
            rows.Add(r);
            provenance.Add(loads.GetValueOrDefault((Str(r, "chain"), Str(r, "policy")), new PolicyBuild(
                Str(r, "policy"), "", "")));
        }
        if (log.Unreadable is { } unreadable)
        {
            Console.Error.WriteLine(unreadable);
            return 1;
        }
        Directory.CreateDirectory(outDir);
        WriteCsv(Path.Combine(outDir, "records.csv"), rows, provenance);
        string html = AuditReportHtml.Build(agency, agencies, rows, ownSearches, from, to, provenance);
        File.WriteAllText(Path.Combine(outDir, "report.html"), html);
        Console.WriteLine($"{rows.Count:N0} decisions involving {agency}: " +
            $"{Path.GetFullPath(Path.Combine(outDir, "report.html"))}, " +
            $"{Path.GetFullPath(Path.Combine(outDir, "records.csv"))}");
        return 0;
    }

    private static long Time(CommandArgs args, TextOption option, long fallback)
    {
        string? text = args.Get(option);
        if (text is null) return fallback;
        if (Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out long ms)) return ms;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None,
            out DateOnly d))
        {
            return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds()
                + (option == AuditCommand.To ? 86_400_000 - 1 : 0);
        }
        throw new UsageException($"{option.Name}: '{text}' is not a date (2026-03-01) or an RFC 3339 timestamp");
    }

    private static readonly string[] s_csvColumns =
    [
        "at", "event", "decision", "code", "rule", "owner", "recipient", "purpose", "query_id", "user", "case_number",
        "hotlist_id", "reads", "id", "chain", "seq", "policy", "build", "statutes",
    ];

    private static void WriteCsv(string path, List<JsonElement> rows, List<PolicyBuild> provenance)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        w.WriteLine(string.Join(',', s_csvColumns));
        for (int i = 0; i < rows.Count; i++)
        {
            JsonElement r = rows[i];
            w.WriteLine(string.Join(',', s_csvColumns.Select(c => Csv(c switch
            {
                "build" => provenance[i].Build,
                "statutes" => provenance[i].Statutes,
                "reads" => r.TryGetProperty("reads", out JsonElement a) && a.ValueKind == JsonValueKind.Array
                    ? a.GetArrayLength().ToString(CultureInfo.InvariantCulture)
                    : "",
                "seq" => r.GetProperty("seq").GetInt64().ToString(CultureInfo.InvariantCulture),
                "purpose" => Str(r, "purpose") is { Length: > 0 } p ? p
                    : r.TryGetProperty("purposes", out JsonElement ps) && ps.ValueKind == JsonValueKind.Array
                        ? string.Join(' ', ps.EnumerateArray().Select(x => x.ToString()))
                        : "",
                _ => Str(r, c),
            }))));
        }
    }

    /// <summary>
    /// A cell as RFC 4180 writes it (quoted when it holds a comma, quote or line break). A cell that begins with =, +,
    /// -, @, a tab or a carriage return is a formula to a spreadsheet: its text (a searcher's user name, a case number)
    /// would run, so it is prefixed with ' and quoted (OWASP's rule), and shows as the text it is. No figure is
    /// changed by it: counts are never negative and timestamps begin with a digit.
    /// </summary>
    private static string Csv(string value)
    {
        bool formula = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r';
        if (formula) value = "'" + value;
        return !formula && value.IndexOfAny([',', '"', '\n', '\r']) < 0
            ? value
            : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}

/// <summary>
/// A policy version as its <c>policy_load</c> audit entry states it: the policy's hash, the build of StreamGuard that
/// enforced it and the hash of that build's statute-rule table (empty when the entry is not in the log read, or a log
/// older than these fields).
/// </summary>
internal readonly record struct PolicyBuild(string Policy, string Build, string Statutes);
