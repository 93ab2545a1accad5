using System.Text.Json;
using StreamGuard.Cli.Commands;
using StreamGuard.Engine;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>policy test</c>: the sample policy's cases pass and cover it; a changed expectation fails with a readable
/// diff (exit 1); a bad cases file is refused naming file, line and field (exit 2), never passed silently.
/// </summary>
[Collection("Console")]
public sealed class PolicyTestCommandTests : IDisposable
{
    private static readonly string s_samples = Path.Combine(AppContext.BaseDirectory, "samples");
    private static readonly string s_cases = Path.Combine(s_samples, "policy.cases.yaml");
    private static readonly string s_policy = Path.Combine(s_samples, "policy.yaml");

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-policy-test-" + Guid.NewGuid().ToString("N"));

    public PolicyTestCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static (int Code, string Out, string Err) Test(string? policy, string cases,
        PolicyFormat format = PolicyFormat.Text)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = PolicyTestCommand.Run(policy, cases, format, o, e);
        return (code, o.ToString().ReplaceLineEndings("\n"), e.ToString().ReplaceLineEndings("\n"));
    }

    /// <summary>The sample cases with a text replaced, in a folder without the policy (--policy gives it).</summary>
    private string Mutated(string from, string to, string name = "mutated.cases.yaml")
    {
        string text = File.ReadAllText(s_cases);
        Assert.Contains(from, text, StringComparison.Ordinal);
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text.Replace(from, to, StringComparison.Ordinal));
        return path;
    }

    [Fact]
    public void TheSampleCasesPassOneLineEach()
    {
        PolicyCaseFile file = PolicyCases.LoadFile(s_cases);
        var (code, output, error) = Test(null, s_cases);
        Assert.True(code == 0, output + error);
        Assert.Equal("", error);
        string[] lines = output.Split('\n');
        Assert.Equal(file.Cases.Count, lines.Count(l => l.StartsWith("pass  ", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL", StringComparison.Ordinal));
        foreach (PolicyCase c in file.Cases) Assert.Contains($"pass  {c.Name}: ", output, StringComparison.Ordinal);
        Assert.Contains($"summary: {file.Cases.Count} cases, {file.Cases.Count} passed, 0 failed", output,
            StringComparison.Ordinal);
    }

    [Fact]
    public void TheSampleCasesCoverEveryOwnerStateAndEveryKindOfDecision()
    {
        var policy = new CompiledPolicy(PolicyLoader.LoadFile(s_policy));
        PolicyCaseFile file = PolicyCases.LoadFile(s_cases);
        Assert.Equal(Path.Combine(s_samples, "policy.yaml"), file.PolicyPath);
        // Every state (and the federal level, no state) with an agency in the policy owns reads in some case.
        var ownerStates = file.Cases.Select(c => policy.Agency(policy.Agencies.Find(c.Owner)).State ?? "federal")
            .ToHashSet(StringComparer.Ordinal);
        foreach (AgencyConfig a in policy.Document.Agencies)
        {
            Assert.True(ownerStates.Contains(a.State ?? "federal"), $"no case has an owner in {a.State ?? "federal"}");
        }
        // Every level owns reads in some case, and every agreement decides one.
        var ownerLevels = file.Cases.Select(c => policy.Agency(policy.Agencies.Find(c.Owner)).Level).ToHashSet();
        Assert.Equal(Enum.GetValues<AgencyLevel>().Length, ownerLevels.Count);
        foreach (AgreementConfig a in policy.Document.Agreements)
        {
            Assert.Contains(file.Cases, c => c.ExpectedRule == a.Id);
        }
        // Every code a policy evaluation can give, except the local rule's (California's statute decides first).
        foreach (DecisionCode code in PolicyCases.EvaluationCodes.Where(c => c != DecisionCode.DenyLocal))
        {
            Assert.Contains(file.Cases, c => c.ExpectedCode == code);
        }
        // A statute rule of every state that has one, and Maryland's fusion center as the one recipient it allows.
        foreach (string state in policy.Document.Agencies.Select(a => a.State).OfType<string>().Distinct())
        {
            if (StatuteRules.ForState(state).Length == 0) continue;
            Assert.Contains(file.Cases, c => c.ExpectedCode == DecisionCode.DenyStatute
                && c.ExpectedRule.StartsWith(state + ".", StringComparison.Ordinal));
        }
        Assert.Contains(file.Cases, c => c.Recipient == "md-mcac" && c.ExpectedCode == DecisionCode.AllowAgreement);
        // An agreement both before and after it expires.
        Assert.Contains(file.Cases,
            c => c.ExpectedRule == "texas-repo-feed" && c.ExpectedCode == DecisionCode.AllowAgreement);
        Assert.Contains(file.Cases,
            c => c.ExpectedRule == "texas-repo-feed" && c.ExpectedCode == DecisionCode.DenyAgreementExpired);
    }

    [Fact]
    public void AChangedExpectationFailsWithExpectedAgainstActualAndTheCitation()
    {
        string cases = Mutated("expect: {code: deny.statute, rule: CA.VALUES_ACT}",
            "expect: {code: deny.local, rule: la-values}");
        int total = PolicyCases.LoadFile(cases).Cases.Count;
        var (code, output, error) = Test(s_policy, cases);
        Assert.Equal(1, code);
        int line = File.ReadAllLines(cases).ToList().FindIndex(l => l.Contains("lapd-no-immigration-enforcement",
            StringComparison.Ordinal)) + 1;
        Assert.Contains("FAIL  lapd-no-immigration-enforcement-even-in-state: expected deny.local (la-values), " +
            $"""
            got deny.statute (CA.VALUES_ACT)
                    case      {cases}:{line}
                    request   ca-lapd → ca-lasd: search for immigration_enforcement, documented, at 2026-12-01T00:00:00Z
                  - expected  deny.local — rule la-values
                  + actual    deny.statute — rule CA.VALUES_ACT
                    citation  Cal. Gov. Code §7284.6 (SB 54)
                    decided   step 2 (statute) CA.VALUES_ACT: purpose immigration_enforcement is forbidden
            """, output, StringComparison.Ordinal);
        Assert.Equal(total - 1, output.Split('\n').Count(l => l.StartsWith("pass  ", StringComparison.Ordinal)));
        Assert.Contains($"summary: {total} cases, {total - 1} passed, 1 failed", output, StringComparison.Ordinal);
        Assert.Equal($"policy test: 1 of {total} cases failed (exit 1)\n", error);
    }

    [Fact]
    public void TheRuleIsPartOfTheExpectation()
    {
        // Same code, another agreement: a different agreement deciding is a change a reviewer must see.
        string cases = Mutated("expect: {code: allow.agreement, rule: md-fusion}",
            "expect: {code: allow.agreement, rule: national-network}");
        var (code, output, _) = Test(s_policy, cases);
        Assert.Equal(1, code);
        Assert.Contains("FAIL  baltimore-to-the-fusion-center: expected allow.agreement (national-network), " +
            "got allow.agreement (md-fusion)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void TheInstantDecidesExpiry()
    {
        // The same request before the regional MOU expires: the expired expectation no longer holds.
        string cases = Mutated("    at: 2027-07-01T00:00:00Z\n", "    at: 2027-06-30T23:59:59Z\n");
        var (code, output, _) = Test(s_policy, cases);
        Assert.Equal(1, code);
        Assert.Contains("FAIL  lapd-regional-mou-after-it-expires: expected deny.agreement_expired " +
            "(socal-stolen-vehicles), got allow.agreement (socal-stolen-vehicles)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void PolicyOverridesTheCasesFilesPolicy()
    {
        // The copy's `policy: policy.yaml` resolves next to it, where there is none: --policy is used instead.
        string cases = Mutated("policy: policy.yaml", "policy: policy.yaml");
        Assert.Equal(0, Test(s_policy, cases).Code);
        var (code, _, error) = Test(null, cases);
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(_dir, "policy.yaml") + ":0: file:", error, StringComparison.Ordinal);

        // The California example's cases against its v2, which adds the Highway Patrol to the regional MOU.
        string examples = Path.Combine(RepositoryRoot(), "docs", "examples");
        var v2 = Test(Path.Combine(examples, "california-v2.yaml"), Path.Combine(examples, "california.cases.yaml"));
        Assert.Equal(1, v2.Code);
        Assert.Contains("FAIL  highway-patrol-gets-nothing-of-lapd: expected deny.no_agreement (DEFAULT.DENY), " +
            "got allow.agreement (socal-stolen-vehicles)", v2.Out, StringComparison.Ordinal);
        Assert.Equal(0, Test(null, Path.Combine(examples, "california.cases.yaml")).Code);
    }

    [Theory]
    [InlineData("access: push\n    purpose: stolen_vehicle\n    expect: {code: allow.agreement, rule: socal",
        "access: pull\n    purpose: stolen_vehicle\n    expect: {code: allow.agreement, rule: socal",
        "cases[lapd-pushes-stolen-vehicles-to-pasadena].access: unknown access 'pull' (push, search, alert)")]
    [InlineData("purpose: warrant", "purpose: warrants",
        "cases[lapd-warrants-not-in-the-mou].purpose: unknown purpose 'warrants'")]
    [InlineData("recipient: ca-pasadena-pd\n    access: push", "recipient: ca-pasadena\n    access: push",
        "cases[lapd-pushes-stolen-vehicles-to-pasadena].recipient: 'ca-pasadena' is not an agency of")]
    [InlineData("owner: us-fbi", "owner: us-fbl",
        "cases[fbi-shares-nothing-with-ice].owner: 'us-fbl' is not an agency")]
    [InlineData("code: allow.own, rule: OWNER}", "code: allow.owner, rule: OWNER}",
        "cases[lapd-own-reads].expect.code: 'allow.owner' is not a code a policy evaluation gives")]
    [InlineData("code: allow.own, rule: OWNER}", "code: deny.replayed, rule: OWNER}",
        "cases[lapd-own-reads].expect.code: 'deny.replayed' is not a code a policy evaluation gives")]
    [InlineData("expect: {code: allow.own, rule: OWNER}", "expect: {code: allow.own}",
        "cases[lapd-own-reads].expect.rule: required")]
    [InlineData("    expect: {code: allow.own, rule: OWNER}", "    expected: {code: allow.own, rule: OWNER}",
        "cases[lapd-own-reads].expected: unknown member")]
    [InlineData("at: 2027-07-01T00:00:00Z", "at: July 2027", "cases[lapd-regional-mou-after-it-expires].at: " +
        "'July 2027' is not an RFC 3339 timestamp")]
    [InlineData("at: 2026-12-01T00:00:00Z ", "on: 2026-12-01T00:00:00Z ", "on: unknown section")]
    [InlineData("documented: false ", "documented: no ",
        "cases[houston-to-ice-under-the-national-network].documented: 'no' is not true or false")]
    [InlineData("name: navajo-shares-nothing", "name: navajo-own-reads",
        "cases[navajo-own-reads].name: duplicate name (first used on line")]
    public void ABadCasesFileExitsTwoNamingFileLineAndField(string from, string to, string message)
    {
        string cases = Mutated(from, to);
        var (code, output, error) = Test(s_policy, cases);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        string prefix = $"streamguard policy test: {cases}:";
        Assert.StartsWith(prefix, error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
        // The line named holds the replaced text, or starts the case or mapping it is missing from.
        int line = int.Parse(error[prefix.Length..error.IndexOf(':', prefix.Length)], provider: null);
        string[] lines = File.ReadAllLines(cases);
        string changed = to.Split('\n')[0].Trim();
        Assert.Contains(lines.Skip(line - 1).Take(7), l => l.Contains(changed, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("cases: []\n", "cases: no cases")]
    [InlineData("policy: policy.yaml\n", "cases: a list of cases is required")]
    [InlineData("cases:\n  - owner: ca-lapd\n", "cases[#1].recipient: required")]
    [InlineData("[1, 2]\n", "document: expected one YAML mapping")]
    [InlineData("cases:\n  - {owner: ca-lapd, recipient: ca-lasd, access: push, purpose: warrant,\n" +
        "     expect: {code: allow.own, rule: OWNER}}\n", "cases[#1].at: required")]
    public void AnIncompleteCasesFileExitsTwo(string yaml, string message)
    {
        string cases = Path.Combine(_dir, "c.yaml");
        File.WriteAllText(cases, yaml);
        var (code, _, error) = Test(s_policy, cases);
        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void ACasesFileNamingNoPolicyNeedsPolicy()
    {
        string cases = Mutated("policy: policy.yaml          # relative to this file; --policy overrides it\n", "");
        var (code, _, error) = Test(null, cases);
        Assert.Equal(2, code);
        Assert.Contains($"{cases}:1: policy: the file names no policy", error, StringComparison.Ordinal);
        Assert.Equal(0, Test(s_policy, cases).Code);
    }

    [Fact]
    public void JsonSaysWhatTheTextSays()
    {
        string cases = Mutated("expect: {code: deny.statute, rule: CA.VALUES_ACT}",
            "expect: {code: deny.local, rule: la-values}");
        var (code, output, _) = Test(s_policy, cases, PolicyFormat.Json);
        Assert.Equal(1, code);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal("policy test", root.GetProperty("command").GetString());
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal(1, root.GetProperty("exit_code").GetInt32());
        Assert.Equal(cases, root.GetProperty("cases_file").GetString());
        Assert.Equal(s_policy, root.GetProperty("policy_file").GetString());
        int total = PolicyCases.LoadFile(cases).Cases.Count;
        Assert.Equal(total, root.GetProperty("total").GetInt32());
        Assert.Equal(total - 1, root.GetProperty("passed").GetInt32());
        Assert.Equal(1, root.GetProperty("failed").GetInt32());
        JsonElement failed = Assert.Single(root.GetProperty("cases").EnumerateArray(),
            c => !c.GetProperty("pass").GetBoolean());
        Assert.Equal("lapd-no-immigration-enforcement-even-in-state", failed.GetProperty("name").GetString());
        Assert.Equal("deny.local", failed.GetProperty("expected").GetProperty("code").GetString());
        Assert.Equal("la-values", failed.GetProperty("expected").GetProperty("rule").GetString());
        JsonElement actual = failed.GetProperty("actual");
        Assert.Equal("deny.statute", actual.GetProperty("code").GetString());
        Assert.Equal("CA.VALUES_ACT", actual.GetProperty("rule").GetString());
        Assert.Equal("Cal. Gov. Code §7284.6 (SB 54)", actual.GetProperty("citation").GetString());
        Assert.False(actual.GetProperty("allowed").GetBoolean());
        Assert.Equal("CA.VALUES_ACT", failed.GetProperty("deciding_step").GetProperty("rule").GetString());
        Assert.Equal("2026-12-01T00:00:00.000Z", failed.GetProperty("request").GetProperty("at").GetString());

        var passing = Test(null, s_cases, PolicyFormat.Json);
        Assert.Equal(0, passing.Code);
        using var ok = JsonDocument.Parse(passing.Out);
        Assert.True(ok.RootElement.GetProperty("ok").GetBoolean());
        Assert.All(ok.RootElement.GetProperty("cases").EnumerateArray(),
            c => Assert.True(c.GetProperty("pass").GetBoolean()));

        string bad = Mutated("purpose: warrant", "purpose: warrants");
        var refused = Test(s_policy, bad, PolicyFormat.Json);
        Assert.Equal(2, refused.Code);
        using var error = JsonDocument.Parse(refused.Out);
        JsonElement e = Assert.Single(error.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(bad, e.GetProperty("file").GetString());
        Assert.Equal("cases[lapd-warrants-not-in-the-mou].purpose", e.GetProperty("field").GetString());
        Assert.StartsWith("unknown purpose 'warrants'", e.GetProperty("message").GetString(), StringComparison.Ordinal);
        int line = Array.FindIndex(File.ReadAllLines(bad),
            l => l.Contains("purpose: warrants", StringComparison.Ordinal)) + 1;
        Assert.Equal(line, e.GetProperty("line").GetInt32());
    }

    [Fact]
    public void TheCommandLineRunsItAndRefusesTsv()
    {
        var (code, output, error) = CliRunner.Run("policy", "test", s_cases);
        Assert.True(code == 0, output + error);
        Assert.Contains("summary: ", output, StringComparison.Ordinal);

        string cases = Mutated("rule: WA.OUT_OF_STATE}", "rule: WA.IMMIGRATION}");
        var failed = CliRunner.Run("policy", "test", cases, "--policy", s_policy);
        Assert.Equal(1, failed.Code);
        Assert.Contains("FAIL  seattle-stays-in-washington: expected deny.statute (WA.IMMIGRATION), " +
            "got deny.statute (WA.OUT_OF_STATE)", failed.Out, StringComparison.Ordinal);

        var tsv = CliRunner.Run("policy", "test", s_cases, "--format", "tsv");
        Assert.Equal(2, tsv.Code);
        Assert.Contains("--format: 'tsv' is not text or json", tsv.Err, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("policy", "test").Code);
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
