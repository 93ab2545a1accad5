using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// The transparency report (<c>audit report</c>) rendered by a real browser: every chart is drawn, its bars are
/// visible, to scale and in the right colours, and no label falls outside its chart.
/// </summary>
[Collection("Console")]
public sealed class ReportBrowserTests : IDisposable
{
    private const string LongAgreementId = "la-county-stolen-vehicle-and-missing-person-mou-2025-14";

    private const string PolicyYaml = $$"""
        version: 1
        default_retention: 30d
        agencies:
          - {id: ca-lapd, state: CA, level: local, retention: 730d, key: file:keys/ca-lapd.key}
          - {id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}
          - {id: wa-spd, state: WA, level: local, retention: 21d, key: file:keys/wa-spd.key}
          - {id: us-ice-ero, level: federal, key: file:keys/us-ice-ero.key}
        agreements:
          - id: {{LongAgreementId}}
            owners: [ca-lapd]
            recipients: [ca-lasd, us-ice-ero]
            access: [push, search]
            purposes: [stolen_vehicle]
            expires: 2027-06-30
        search:
          require_case_number: true
          require_reason: true
          max_window: 90d
          max_clock_skew: 5m
        """;

    // Runs in the page after the report: what the browser laid out, per chart, written into the DOM. Two long lines
    // are split between raw-string pieces: a piece ends mid-line and the next one goes on from there.
    private const string Measure = """
        <pre id="sg-measure"></pre>
        <script>
        document.getElementById('sg-measure').textContent = JSON.stringify(
        """ + """
        [...document.querySelectorAll('svg.chart')].map(svg => {
          const box = svg.getBoundingClientRect();
          return {
            id: svg.id, width: box.width, height: box.height,
            bars: [...svg.querySelectorAll('rect.bar')].map(r => {
              const b = r.getBBox(), c = r.getBoundingClientRect(), s = getComputedStyle(r);
              return { y: b.y, width: b.width, height: b.height, screenWidth: c.width, fill: s.fill,
                       visible: s.display !== 'none' && s.visibility === 'visible' && s.opacity !== '0',
                       title: r.querySelector('title').textContent };
            }),
            texts: [...svg.querySelectorAll('text')]
        """ + """
        .map(t => { const b = t.getBBox(); return { x: b.x, width: b.width, height: b.height }; }),
          };
        }));
        </script>
        """;

    // The policy with its key files, in a temporary folder that also takes the replay's files and the reports.
    private readonly TestPolicy _policy = new(PolicyYaml);

    private string Dir => _policy.Directory;

    public void Dispose() => _policy.Dispose();

    [BrowserFact]
    public void EveryChartOfTheTransparencyReportIsDrawnToScaleInsideItsBox()
    {
        string audit = ReplayAudit();
        var drawn = new HashSet<string>(StringComparer.Ordinal);
        // ca-lapd: searches of its data, denials by statute and agreement, shares, its own searches;
        // wa-spd (21-day window, reads over six weeks): purges by day.
        foreach (string agency in (string[])["ca-lapd", "wa-spd"])
        {
            string outDir = Path.Combine(Dir, "report-" + agency);
            var r = Run("audit", "report", "--agency", agency, "--audit", audit, "--policy", _policy.PolicyPath,
                "--out", outDir);
            Assert.True(r.Code == 0, r.Err);
            string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
            string[] charts = Regex.Matches(html, "<svg class=\"chart\" id=\"([^\"]+)\"")
                .Select(m => m.Groups[1].Value).ToArray();
            Assert.NotEmpty(charts);

            string page = Path.Combine(outDir, "measure.html");
            Assert.Contains("</html>", html, StringComparison.Ordinal);
            File.WriteAllText(page, html.Replace("</html>", Measure + "</html>", StringComparison.Ordinal));
            string dom = Chromium.DumpDom(page, TimeSpan.FromSeconds(90));
            Match json = Regex.Match(dom, "<pre id=\"sg-measure\">(.+?)</pre>", RegexOptions.Singleline);
            Assert.True(json.Success,
                $"the measuring script did not run; the browser returned:\n{dom[..Math.Min(dom.Length, 2000)]}");
            using JsonDocument measured = JsonDocument.Parse(WebUtility.HtmlDecode(json.Groups[1].Value));

            Assert.Equal(charts,
                measured.RootElement.EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToArray());
            foreach (JsonElement chart in measured.RootElement.EnumerateArray())
            {
                AssertDrawn(agency, chart);
                drawn.Add(chart.GetProperty("id").GetString()!);
            }
        }
        Assert.Equal(
            [
                "denials-by-rule", "own-searches-by-purpose", "purges-by-day", "searches-by-requester",
                "shares-by-recipient",
            ],
            drawn.Order(StringComparer.Ordinal));
    }

    private static void AssertDrawn(string agency, JsonElement chart)
    {
        string where = $"{agency} {chart.GetProperty("id").GetString()}";
        double width = chart.GetProperty("width").GetDouble();
        Assert.True(width > 0 && chart.GetProperty("height").GetDouble() > 0, $"{where}: the chart has no size");

        var bars = chart.GetProperty("bars").EnumerateArray().ToList();
        Assert.True(bars.Count > 0, $"{where}: no bars");
        var rows = new Dictionary<double, double>();
        double? pixelsPerDecision = null;
        foreach (JsonElement bar in bars)
        {
            double w = bar.GetProperty("width").GetDouble(), h = bar.GetProperty("height").GetDouble();
            Assert.True(w > 0 && h > 0 && bar.GetProperty("screenWidth").GetDouble() > 0,
                $"{where}: a bar with no area ({w} x {h})");
            Assert.True(bar.GetProperty("visible").GetBoolean(), $"{where}: a hidden bar");
            // "label: N allowed" / "label: N denied": green for allowed, red for denied, width proportional to N.
            Match title = Regex.Match(bar.GetProperty("title").GetString()!, @": (\d+) (allowed|denied)$");
            Assert.True(title.Success, $"{where}: bar title '{bar.GetProperty("title").GetString()}'");
            Assert.Equal(title.Groups[2].Value == "allowed" ? "rgb(46, 125, 50)" : "rgb(198, 40, 40)",
                bar.GetProperty("fill").GetString());
            double perDecision =
                w / int.Parse(title.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            pixelsPerDecision ??= perDecision;
            Assert.True(Math.Abs(perDecision - pixelsPerDecision.Value) * 460 / pixelsPerDecision.Value < 0.5,
                $"{where}: bars not to one scale");
            double y = bar.GetProperty("y").GetDouble();
            rows[y] = rows.GetValueOrDefault(y) + w;
        }
        // The longest row spans the whole bar area (460 px); the others are shorter.
        Assert.InRange(rows.Values.Max(), 459.5, 460.5);

        foreach (JsonElement text in chart.GetProperty("texts").EnumerateArray())
        {
            double x = text.GetProperty("x").GetDouble(), w = text.GetProperty("width").GetDouble();
            Assert.True(w > 0 && text.GetProperty("height").GetDouble() > 0,
                $"{where}: a label drew nothing (no font?)");
            Assert.True(x >= 0 && x + w <= width,
                $"{where}: a label at {x:F1}..{x + w:F1} px falls outside the chart (0..{width} px)");
        }
    }

    /// <summary>Replays reads and queries that give both agencies' reports every kind of chart.</summary>
    private string ReplayAudit()
    {
        string policy = _policy.PolicyPath;
        var end = new DateTimeOffset(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
        var reads = new List<string>();
        // wa-spd every 8 hours over six weeks: those past 21 days are purged as event time moves on, on many days.
        for (int i = 0; i < 126; i++)
        {
            reads.Add(TestPolicy.Read($"w{i}", "wa-spd", $"WA{i % 7}", end.AddHours(-8 * (126 - i))));
        }
        for (int i = 0; i < 20; i++) reads.Add(TestPolicy.Read($"l{i}", "ca-lapd", $"PL{i % 5}", end.AddMinutes(i)));
        string readsFile = Path.Combine(Dir, "reads.ndjson");
        File.WriteAllLines(readsFile, reads);

        var queries = new List<string>();
        DateTimeOffset t = end.AddMinutes(30);
        for (int i = 0; i < 12; i++)
        {
            (string requester, string purpose, string plate) = (i % 4) switch
            {
                // allowed by the agreement
                0 => ("ca-lasd", "stolen_vehicle", $"PL{i % 5}"),
                // purpose not granted: rule = the agreement's long id
                1 => ("ca-lasd", "criminal_investigation", $"PL{i % 5}"),
                // CA.PUBLIC_AGENCY_ONLY
                2 => ("us-ice-ero", "stolen_vehicle", $"PL{i % 5}"),
                // ca-lapd's own searches, of wa-spd's reads
                _ => ("ca-lapd", i % 8 == 3 ? "missing_person" : "warrant", $"WA{i % 7}"),
            };
            queries.Add(TestPolicy.Query($"q{i}", requester, plate, t.AddSeconds(i), purpose: purpose));
        }
        string queriesFile = Path.Combine(Dir, "queries.ndjson");
        File.WriteAllLines(queriesFile, queries);

        string key = Path.Combine(Dir, "audit.key");
        File.WriteAllText(key, "browser-audit-key");
        string outDir = Path.Combine(Dir, "replay");
        var r = Run("replay", "--policy", policy, "--reads", readsFile, "--queries", queriesFile,
            "--audit-key", "file:" + key, "--now", "2026-03-03T18:00:00Z", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        return Path.Combine(outDir, "audit.ndjson");
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);
}
