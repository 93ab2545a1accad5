using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using StreamGuard.Policy;
using StreamGuard.Text;
using static StreamGuard.Cli.Commands.AuditRecords;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The transparency report of <c>audit report</c> as one self-contained HTML page: a summary table and inline SVG
/// bar charts, no plates or plate references.
/// </summary>
internal static class AuditReportHtml
{
    public static string Build(string agency, Dictionary<string, AgencyConfig> agencies, List<JsonElement> rows,
        Dictionary<string, (string Purpose, bool Denied)> ownSearches, long from, long to,
        List<PolicyBuild> provenance)
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
        var denials = rows.Where(r => Str(r, "owner") == agency && Str(r, "decision") == "deny"
            && Str(r, "event") is "search" or "push" or "alert").ToList();
        string name = agencies.TryGetValue(agency, out AgencyConfig? me) ? $"{me.Name ?? agency} ({agency})" : agency;
        string period = (from == long.MinValue ? "the beginning of the log" : Rfc3339.ToText(from)) + " to "
            + (to == long.MaxValue ? "its end" : Rfc3339.ToText(to));

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $$"""
            <!doctype html>
            <html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>ALPR transparency report — {{Enc(name)}}</title>
            <style>
            body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}

            """ + $$"""h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse}""" +
            $$"""td,th{padding:.2rem .6rem;text-align:right}""" + $$"""

            td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:.9rem}
            """ + $$"""svg text{font-size:12px;fill:#222}""" + $$"""

            </style>
            <h1>ALPR transparency report: {{Enc(name)}}</h1>
            <p class="note">From StreamGuard's hash-chained audit log, {{Enc(period)}}. Every decision about this
            """ + $$""" agency's""" + $$"""

            plate-reader data — allowed or denied — is counted. No plates or plate references appear in
            """ + $$""" this report.</p>""" + $$"""

            <h2>Summary</h2>
            <table>
            <tr><th>What</th><th>Allowed</th><th>Denied</th></tr>

            """ + $$"""<tr><td>Reads stored</td><td>{{ingests.Count(r => Str(r, "decision") == "allow")}}</td>""" +
            $$"""<td>{{ingests.Count(r => Str(r, "decision") == "deny")}} (expired on arrival)</td></tr>""" + $$"""

            <tr><td>Searches of its data by other agencies</td>
            """ + $$"""<td>{{searchesOfData.Count(r => Str(r, "decision") == "allow")}}</td>""" +
            $$"""<td>{{searchesOfData.Count(r => Str(r, "decision") == "deny")}}</td></tr>""" + $$"""

            <tr><td>Reads shared (push) with other agencies</td>
            """ + $$"""<td>{{shares.Count(r => Str(r, "decision") == "allow")}}</td>""" +
            $$"""<td>{{shares.Count(r => Str(r, "decision") == "deny")}}</td></tr>""" + $$"""

            <tr><td>Hotlist alerts to other agencies</td><td>{{alerts.Count(r => Str(r, "decision") == "allow")}}</td>
            """ + $$"""<td>{{alerts.Count(r => Str(r, "decision") == "deny")}}</td></tr>""" + $$"""

            <tr><td>Reads purged at the end of their retention window</td><td colspan="2">{{purges.Count}}</td></tr>
            <tr><td>Searches by its own users (denied = refused at the query checks)</td>
            """ + $$"""<td>{{ownSearches.Values.Count(q => !q.Denied)}}</td>""" +
            $$"""<td>{{ownSearches.Values.Count(q => q.Denied)}}</td></tr>""" + $$"""

            </table>
            """);
        sb.Append(Versions(provenance));
        sb.Append(Chart("searches-by-requester", "Searches of its data by requester state and level",
            searchesOfData.GroupBy(r => Who(Str(r, "recipient"))).Select(g =>
                (g.Key, g.Count(r => Str(r, "decision") == "allow"), g.Count(r => Str(r, "decision") == "deny")))));
        sb.Append(Chart("denials-by-rule", "Denials of access to its data, by rule",
            denials.GroupBy(r => Str(r, "rule")).Select(g => (g.Key, 0, g.Count()))));
        sb.Append(Chart("shares-by-recipient", "Shares (push) by recipient",
            shares.GroupBy(r => Str(r, "recipient")).Select(g =>
                (g.Key, g.Count(r => Str(r, "decision") == "allow"), g.Count(r => Str(r, "decision") == "deny")))));
        sb.Append(Chart("purges-by-day", "Retention purges by day",
            purges.GroupBy(r => Str(r, "at")[..Math.Min(10, Str(r, "at").Length)])
                .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count(), 0))));
        sb.Append(Chart("own-searches-by-purpose", "Searches by its own users, by purpose",
            ownSearches.Values.GroupBy(q => q.Purpose)
                .Select(g => (g.Key, g.Count(q => !q.Denied), g.Count(q => q.Denied)))));
        sb.Append("""
            <p class="note">Green: allowed; red: denied. Rules are the statute, local-rule or agreement identifiers of
            StreamGuard's policy (for example CA.PUBLIC_AGENCY_ONLY, Cal. Civ. Code §1798.90.55(b)). The rows behind
            every chart are in records.csv; any decision can be explained with
            """ + """ <code>streamguard audit why ID</code>.</p>""" + """

            </html>
            """);
        return sb.ToString();
    }

    /// <summary>
    /// The policy versions the report's decisions were made under, each with the build of StreamGuard and the hash of
    /// the statute-rule table its <c>policy_load</c> audit entry states, and how many of the decisions it covers.
    /// </summary>
    private static string Versions(List<PolicyBuild> provenance)
    {
        var sb = new StringBuilder("<h2>Policy versions, StreamGuard builds and statute rules</h2>\n");
        if (provenance.Count == 0) return sb.Append("<p class=\"note\">None in this period.</p>\n").ToString();
        sb.Append("<table id=\"policy-versions\">\n<tr><th>Policy version (hash)</th><th>StreamGuard build</th>" +
            "<th>Statute rules (hash)</th><th>Decisions</th></tr>\n");
        foreach (var g in provenance.GroupBy(p => p).OrderBy(g => g.Key.Policy, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Build, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td><code>{Enc(g.Key.Policy)}</code></td>" +
                $"<td><code>{Enc(Stated(g.Key.Build))}</code></td><td><code>{Enc(Stated(g.Key.Statutes))}</code></td>" +
                $"<td>{g.Count()}</td></tr>\n");
        }
        sb.Append("""
            </table>
            <p class="note">Each decision names the policy version in force; the audit entry that put the version in
            force states the build of StreamGuard that enforced it and a hash of the statute rules compiled into that
            """ + """ build.</p>""" + """

            """);
        return sb.ToString();

        static string Stated(string s) => s.Length > 0 ? s : "not recorded";
    }

    /// <summary>A horizontal stacked bar chart as inline SVG (no script, renders anywhere).</summary>
    private static string Chart(string id, string title, IEnumerable<(string Label, int Allowed, int Denied)> data)
    {
        var bars = data.Where(d => d.Allowed + d.Denied > 0).OrderByDescending(d => d.Allowed + d.Denied)
            .ThenBy(d => d.Label, StringComparer.Ordinal).Take(30).ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<h2>{Enc(title)}</h2>\n");
        if (bars.Count == 0)
        {
            sb.Append("<p class=\"note\">None in this period.</p>\n");
            return sb.ToString();
        }
        // SVG text cannot be measured without a script: the label column is sized for the longest label at 8 px a
        // character (12 px sans-serif averages under 7.5), so a 64-character agreement id is not cut off at the
        // left.
        const int barWidth = 460, row = 22;
        int labelWidth = Math.Clamp(bars.Max(b => b.Label.Length) * 8 + 12, 120, 64 * 8 + 12);
        int max = bars.Max(b => b.Allowed + b.Denied);
        sb.Append(CultureInfo.InvariantCulture,
            $"<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-label=\"{Enc(title)}\" " +
            $"width=\"{labelWidth + barWidth + 80}\" height=\"{bars.Count * row + 4}\">\n");
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, allowed, denied) = bars[i];
            int y = i * row + 2;
            double wa = (double)allowed / max * barWidth, wd = (double)denied / max * barWidth;
            sb.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{labelWidth - 6}\" y=\"{y + 15}\" text-anchor=\"end\">{Enc(label)}</text>");
            if (allowed > 0)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"<rect class=\"bar allowed\" x=\"{labelWidth}\" y=\"{y}\" width=\"{wa:F1}\" " +
                    $"height=\"{row - 6}\" fill=\"#2e7d32\"><title>{Enc(label)}: {allowed} allowed</title></rect>");
            }
            if (denied > 0)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"<rect class=\"bar denied\" x=\"{labelWidth + wa:F1}\" y=\"{y}\" width=\"{wd:F1}\" " +
                    $"height=\"{row - 6}\" fill=\"#c62828\"><title>{Enc(label)}: {denied} denied</title></rect>");
            }
            sb.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{labelWidth + wa + wd + 6:F1}\" y=\"{y + 15}\">{allowed + denied}</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
