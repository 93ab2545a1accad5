using System.Text.Json;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>audit report</c> for a searcher whose queries touched data withheld from it: its report must read as if that
/// data did not exist — the same rows, counts and ids as for a query that found nothing.
/// </summary>
[Collection("Console")]
public sealed class TransparencyReportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-report-" + Guid.NewGuid().ToString("N"));
    private readonly TestPolicy _policy = new();

    public TransparencyReportTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _policy.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>
    /// ca-lapd's reads of PL1; us-ice-ero searches PL1 (withheld from it by statute) and PL2 (no read at all).
    /// </summary>
    private (string Audit, List<JsonElement> Results) Replay()
    {
        var t = new DateTimeOffset(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
        string reads = Path.Combine(_dir, "r.ndjson"), queries = Path.Combine(_dir, "q.ndjson");
        File.WriteAllLines(reads, Enumerable.Range(0, 3).Select(i =>
            TestPolicy.Read($"r{i}", "ca-lapd", "PL1", t.AddMinutes(i))));
        File.WriteAllLines(queries,
        [
            TestPolicy.Query("q-withheld", "us-ice-ero", "PL1", t.AddMinutes(10), purpose: "immigration_enforcement"),
            TestPolicy.Query("q-nothing", "us-ice-ero", "PL2", t.AddMinutes(10), purpose: "immigration_enforcement"),
        ]);
        string key = Path.Combine(_dir, "audit.key");
        File.WriteAllText(key, "report-audit-key");
        string outDir = Path.Combine(_dir, "replay");
        var r = CliRunner.Run(["replay", "--policy", _policy.PolicyPath, "--reads", reads, "--queries", queries,
            "--audit-key", "file:" + key, "--now", "2026-03-03T18:00:00Z", "--out", outDir]);
        Assert.Equal(0, r.Code);
        List<JsonElement> results = File.ReadLines(Path.Combine(outDir, "results.ndjson"))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        return (Path.Combine(outDir, "audit.ndjson"), results);
    }

    private (string Html, string[] Csv) Report(string audit, string agency)
    {
        string outDir = Path.Combine(_dir, "report-" + agency);
        var r = CliRunner.Run(["audit", "report", "--agency", agency, "--audit", audit, "--policy",
            _policy.PolicyPath, "--out", outDir]);
        Assert.Equal(0, r.Code);
        return (File.ReadAllText(Path.Combine(outDir, "report.html")),
            File.ReadAllLines(Path.Combine(outDir, "records.csv")));
    }

    [Fact]
    public void AQueryThatTouchedOnlyWithheldDataReportsLikeAQueryThatFoundNothing()
    {
        (string audit, _) = Replay();
        (string html, string[] csv) = Report(audit, "us-ice-ero");

        string[] header = csv[0].Split(',');
        int queryColumn = Array.IndexOf(header, "query_id");
        string[] Row(string queryId) => Assert.Single(csv.Skip(1), l => l.Split(',')[queryColumn] == queryId)
            .Split(',');
        string[] withheld = Row("q-withheld"), nothing = Row("q-nothing");
        // Alike but for the query's id, the decision's id and its place in the chain.
        for (int c = 0; c < header.Length; c++)
        {
            if (header[c] is "query_id" or "id" or "seq") continue;
            Assert.True(withheld[c] == nothing[c], $"column {header[c]}: '{withheld[c]}' vs '{nothing[c]}'");
        }
        Assert.Equal(3, csv.Length); // the header and the two searches
        Assert.Contains("<tr><td>Searches by its own users " +
            "(denied = refused at the query checks)</td><td>2</td><td>0</td></tr>", html, StringComparison.Ordinal);
        foreach (string text in (string[])[html, string.Join('\n', csv)])
        {
            Assert.DoesNotContain("ca-lapd", text, StringComparison.Ordinal);
            Assert.DoesNotContain(">CA.PUBLIC_AGENCY_ONLY<", text, StringComparison.Ordinal); // no denial chart entry
            Assert.DoesNotContain(",CA.PUBLIC_AGENCY_ONLY,", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EveryResultsDecisionIdIsARowOfTheRequestersOwnReport()
    {
        (string audit, List<JsonElement> results) = Replay();
        (_, string[] csv) = Report(audit, "us-ice-ero");
        int idColumn = Array.IndexOf(csv[0].Split(','), "id");
        var ids = csv.Skip(1).Select(l => l.Split(',')[idColumn]).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(2, results.Count);
        foreach (JsonElement result in results)
        {
            Assert.Contains(result.GetProperty("decision_id").GetString()!, ids);
        }
    }

    [Fact]
    public void TheReportStatesTheBuildAndStatuteTableOfThePolicyVersionsItCovers()
    {
        (string audit, _) = Replay();
        // As the log's policy_load entries state them (one per chain the replay opened).
        JsonElement[] loads = [.. File.ReadLines(audit).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(e => e.TryGetProperty("policy_load", out _)).Select(e => e.GetProperty("policy_load"))];
        Assert.NotEmpty(loads);
        string build = loads[0].GetProperty("build").GetString()!;
        string statutes = loads[0].GetProperty("statutes").GetString()!;
        Assert.All(loads, l => Assert.Equal(build, l.GetProperty("build").GetString()));
        Assert.Equal(StreamGuard.Policy.StatuteRules.TableHash, statutes);
        Assert.StartsWith(StreamGuard.Kafka.BuildInfo.Version, build, StringComparison.Ordinal);

        (string html, string[] csv) = Report(audit, "us-ice-ero");
        string[] header = csv[0].Split(',');
        int buildColumn = Array.IndexOf(header, "build"), statutesColumn = Array.IndexOf(header, "statutes");
        Assert.True(buildColumn >= 0 && statutesColumn >= 0, csv[0]);
        Assert.All(csv.Skip(1), l =>
        {
            Assert.Equal(build, l.Split(',')[buildColumn]);
            Assert.Equal(statutes, l.Split(',')[statutesColumn]);
        });
        string policy = loads[0].GetProperty("policy").GetString()!;
        Assert.Contains($"<tr><td><code>{policy}</code></td><td><code>{build}</code></td>" +
            $"<td><code>{statutes}</code></td><td>{csv.Length - 1}</td></tr>", html, StringComparison.Ordinal);
    }
}
