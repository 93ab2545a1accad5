using System.Text.Json;
using System.Text.RegularExpressions;
using StreamGuard.Cli.Commands;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>policy check | explain | diff --format json</c>: one JSON document on standard output saying what the text
/// says, field for field; text stays the default and unchanged.
/// </summary>
[Collection("Console")]
public sealed class PolicyJsonTests
{
    private const string At = "2026-12-01T00:00:00Z";
    private static readonly string s_examples = Path.Combine(RepositoryRoot(), "docs", "examples");

    private static string Example(string name) => Path.Combine(s_examples, name);

    private static long AtMs => DateTimeOffset.Parse(At, System.Globalization.CultureInfo.InvariantCulture)
        .ToUnixTimeMilliseconds();

    [Fact]
    public void CheckListsEveryWarningWithItsLocation()
    {
        string path = Example("washington.yaml");
        var text = CliRunner.Run("policy", "check", path, "--at", At, "--names", "0");
        Assert.Equal(0, text.Code);
        string[] warnings = text.Out.Split('\n').Where(l => l.StartsWith("warning: ", StringComparison.Ordinal))
            .Select(l => l["warning: ".Length..]).ToArray();
        Assert.NotEmpty(warnings);

        // Direct call (the entry point a parser wires) and through the command line: the same document.
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(0, PolicyJson.Check(path, AtMs, o, e));
        Assert.Equal("", e.ToString());
        var json = CliRunner.Run("policy", "check", path, "--at", At, "--format", "json");
        Assert.Equal(0, json.Code);
        Assert.Equal(o.ToString(), json.Out);

        using var doc = JsonDocument.Parse(json.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal("policy check", root.GetProperty("command").GetString());
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(0, root.GetProperty("exit_code").GetInt32());
        Assert.Empty(root.GetProperty("errors").EnumerateArray());
        var policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
        Assert.Equal(policy.Hash, root.GetProperty("policy_hash").GetString());
        Assert.Equal(policy.Document.Agencies.Count, root.GetProperty("agencies").GetInt32());
        Assert.Equal(policy.AgreementCount, root.GetProperty("agreements").GetInt32());
        // Each warning is the text's, split into file, line, field and message.
        string[] fromJson = root.GetProperty("warnings").EnumerateArray().Select(w =>
            $"{w.GetProperty("file").GetString()}:{w.GetProperty("line").GetInt32()}: " +
            $"{w.GetProperty("field").GetString()}: {w.GetProperty("message").GetString()}").ToArray();
        Assert.Equal(warnings, fromJson);
        Assert.Contains(root.GetProperty("warnings").EnumerateArray(),
            w => w.GetProperty("field").GetString() == "agreements[federal-pilot-2025].expires");
    }

    [Fact]
    public void CheckOfAnInvalidFileGivesItsErrorAndExitsTwo()
    {
        string path = Example("virginia-too-long.yaml");
        var (code, output, error) = CliRunner.Run("policy", "check", path, "--at", At, "--format", "json");
        Assert.Equal(2, code);
        Assert.Contains("agencies[va-vsp].retention", error, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(output);
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(2, doc.RootElement.GetProperty("exit_code").GetInt32());
        JsonElement e = Assert.Single(doc.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(path, e.GetProperty("file").GetString());
        Assert.Equal(6, e.GetProperty("line").GetInt32());
        Assert.Equal("agencies[va-vsp].retention", e.GetProperty("field").GetString());
        Assert.StartsWith("30d is longer than the statute cap of 21d", e.GetProperty("message").GetString(),
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("california.yaml", "ca-lasd", "us-ice-ero", "search", "criminal_investigation")]
    [InlineData("washington.yaml", "or-ppb", "wa-spd", "search", "criminal_investigation")]
    [InlineData("virginia.yaml", "va-rpd", "va-vsp", "push", "civil_enforcement")]
    public void ExplainGivesEveryStepAndTheDecision(string file, string owner, string recipient, string access,
        string purpose)
    {
        string path = Example(file);
        string[] request = ["policy", "explain", path, "--owner", owner, "--recipient", recipient, "--access", access,
            "--purpose", purpose, "--at", At];
        var text = CliRunner.Run(request);
        var json = CliRunner.Run([.. request, "--format", "json"]);
        Assert.Equal(0, text.Code);
        Assert.Equal(0, json.Code);
        Assert.Equal(text.Out, CliRunner.Run([.. request, "--format", "text"]).Out);

        var policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
        Assert.True(Purposes.TryParse(System.Text.Encoding.UTF8.GetBytes(purpose), out Purpose p));
        Access a = access switch { "push" => Access.Push, "search" => Access.Search, _ => Access.Alert };
        Explanation x = PolicyExplainer.Explain(policy, policy.Agencies.Find(owner), policy.Agencies.Find(recipient),
            a, p, true, AtMs);

        using var doc = JsonDocument.Parse(json.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal("policy explain", root.GetProperty("command").GetString());
        Assert.Equal(policy.Hash, root.GetProperty("policy_hash").GetString());
        Assert.Equal(owner, root.GetProperty("request").GetProperty("owner").GetProperty("id").GetString());
        Assert.Equal(recipient, root.GetProperty("request").GetProperty("recipient").GetProperty("id").GetString());
        Assert.Equal("2026-12-01T00:00:00.000Z", root.GetProperty("request").GetProperty("at").GetString());
        JsonElement[] steps = [.. root.GetProperty("steps").EnumerateArray()];
        Assert.Equal(x.Steps.Count, steps.Length);
        for (int i = 0; i < steps.Length; i++)
        {
            Assert.Equal(x.Steps[i].Rule, steps[i].GetProperty("rule").GetString());
            Assert.Equal(x.Steps[i].Detail, steps[i].GetProperty("detail").GetString());
            Assert.Equal(x.Steps[i].Decides, steps[i].GetProperty("decides").GetBoolean());
            Assert.Equal(x.Steps[i].Reached, steps[i].GetProperty("reached").GetBoolean());
            // The text prints each step's rule and detail on its row.
            Assert.Matches($@"\n{x.Steps[i].Step} +{Regex.Escape(x.Steps[i].Kind)} +" +
                $"{Regex.Escape(x.Steps[i].Rule)} .*{Regex.Escape(x.Steps[i].Detail)}", text.Out);
        }
        Assert.Single(steps, s => s.GetProperty("decides").GetBoolean());
        JsonElement decision = root.GetProperty("decision");
        Assert.Equal(DecisionCodes.Text(x.Decision.Code), decision.GetProperty("code").GetString());
        Assert.Equal(x.Decision.Rule, decision.GetProperty("rule").GetString());
        Assert.Equal(x.Decision.Citation, decision.GetProperty("citation").GetString());
        Assert.Equal(x.Decision.Allowed, decision.GetProperty("allowed").GetBoolean());
        Assert.Contains($"decision   {(x.Decision.Allowed ? "ALLOW" : "DENY")} {DecisionCodes.Text(x.Decision.Code)} " +
            $"— rule {x.Decision.Rule}", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void DiffListsEveryChangedOutcomeAndExitsThreeOnAGrant()
    {
        string before = Example("california.yaml"), after = Example("california-v2.yaml");
        var tsv = CliRunner.Run("policy", "diff", before, after, "--at", At, "--format", "tsv");
        var (code, output, error) = CliRunner.Run("policy", "diff", before, after, "--at", At, "--format", "json");
        Assert.Equal(3, code);
        Assert.Equal(3, tsv.Code);
        Assert.Contains("newly grant access (exit 3)", error, StringComparison.Ordinal);

        using var doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("exit_code").GetInt32());
        Assert.Contains("newly granted", root.GetProperty("exit_meaning").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, root.GetProperty("old").GetProperty("file").GetString());
        Assert.Equal(after, root.GetProperty("new").GetProperty("file").GetString());
        JsonElement[] changes = [.. root.GetProperty("changes").EnumerateArray()];
        // Every change, as the tab-separated form lists them (the same rows, the same order).
        string[] rows = tsv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        Assert.Equal(rows.Length, changes.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            JsonElement c = changes[i];
            string kind = c.GetProperty("change").GetString() is "reason_changed" ? "reason"
                : c.GetProperty("change").GetString()!;
            Assert.Equal(rows[i], string.Join('\t', kind, c.GetProperty("owner").GetString(),
                c.GetProperty("recipient").GetString(), c.GetProperty("access").GetString(),
                c.GetProperty("purpose").GetString(), c.GetProperty("before").GetProperty("code").GetString(),
                c.GetProperty("before").GetProperty("rule").GetString(),
                c.GetProperty("after").GetProperty("code").GetString(),
                c.GetProperty("after").GetProperty("rule").GetString()));
            Assert.Equal(kind == "granted", c.GetProperty("newly_granted").GetBoolean());
            Assert.Equal(kind == "granted", !c.GetProperty("before").GetProperty("allowed").GetBoolean()
                && c.GetProperty("after").GetProperty("allowed").GetBoolean());
        }
        JsonElement summary = root.GetProperty("summary");
        Assert.Equal(23, summary.GetProperty("granted").GetInt32());
        Assert.Equal(0, summary.GetProperty("revoked").GetInt32());
        Assert.Equal(37, summary.GetProperty("reason_changed").GetInt32());
        Assert.Equal(23, changes.Count(c => c.GetProperty("newly_granted").GetBoolean()));
    }

    [Fact]
    public void DiffWithoutAGrantExitsZeroAndListsRetentionChanges()
    {
        var (code, output, _) = CliRunner.Run("policy", "diff", Example("virginia.yaml"), Example("virginia-v2.yaml"),
            "--at", At, "--format", "json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(0, doc.RootElement.GetProperty("exit_code").GetInt32());
        Assert.Empty(doc.RootElement.GetProperty("changes").EnumerateArray());
        JsonElement r = Assert.Single(doc.RootElement.GetProperty("retention_changes").EnumerateArray());
        Assert.Equal("va-rpd", r.GetProperty("agency").GetString());
        Assert.Equal("7d", r.GetProperty("before").GetProperty("retention").GetString());
        Assert.Equal("14d", r.GetProperty("after").GetProperty("retention").GetString());
        Assert.Equal(14L * 86_400_000, r.GetProperty("after").GetProperty("retention_ms").GetInt64());
    }

    [Fact]
    public void TextIsTheDefaultAndTsvIsForDiffOnly()
    {
        string path = Example("illinois.yaml");
        var byDefault = CliRunner.Run("policy", "check", path, "--at", At);
        var text = CliRunner.Run("policy", "check", path, "--at", At, "--format", "text");
        Assert.Equal(0, byDefault.Code);
        Assert.Equal(byDefault.Out, text.Out);
        string verdict = byDefault.Out.Split('\n').First(l => !l.StartsWith("warning", StringComparison.Ordinal));
        Assert.StartsWith(path + ": ok", verdict, StringComparison.Ordinal);
        var tsv = CliRunner.Run("policy", "check", path, "--format", "tsv");
        Assert.Equal(2, tsv.Code);
        Assert.Contains("--format: 'tsv' is not text or json", tsv.Err,
            StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("policy", "check", path, "--format", "yaml").Code);
    }

    private static string RepositoryRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "StreamGuard.sln")) && Directory.Exists(Path.Combine(dir, "docs")))
            {
                return dir;
            }
        }
        throw new InvalidOperationException($"no repository root above {AppContext.BaseDirectory}");
    }
}
