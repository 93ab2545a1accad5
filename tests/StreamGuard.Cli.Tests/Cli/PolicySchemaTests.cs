using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using StreamGuard.Policy;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// docs/policy.schema.json, the policy file's JSON Schema for editors, against the loader: it accepts every policy of
/// the repository, and refuses what the loader refuses for reasons a schema can see. Policies are turned into JSON as
/// an editor's YAML extension does (YAML 1.2 core schema: plain <c>1</c> is a number, <c>true</c> a boolean).
/// </summary>
public sealed partial class PolicySchemaTests
{
    private static readonly string s_root = RepositoryRoot();
    private static readonly JsonSchema s_schema =
        JsonSchema.FromText(File.ReadAllText(Path.Combine(s_root, "docs", "policy.schema.json")));
    private static readonly string s_keys = Path.Combine(s_root, "samples");

    /// <summary>Every policy file of the repository: YAML with top-level <c>version</c> and <c>agencies</c>.</summary>
    public static TheoryData<string> RepositoryPolicies() => [.. PolicyFiles()];

    private static List<string> PolicyFiles()
    {
        var files = new List<string>();
        foreach (string file in YamlFiles(s_root).Order(StringComparer.Ordinal))
        {
            if (Root(File.ReadAllText(file)) is { } root
                && root.Children.ContainsKey(new YamlScalarNode("version"))
                && root.Children.ContainsKey(new YamlScalarNode("agencies")))
            {
                files.Add(Path.GetRelativePath(s_root, file));
            }
        }
        return files;
    }

    /// <summary>The repository's YAML files, outside build output, Git's folder and installed packages.</summary>
    private static IEnumerable<string> YamlFiles(string dir)
    {
        foreach (string file in Directory.EnumerateFiles(dir))
        {
            if (file.EndsWith(".yaml", StringComparison.Ordinal) || file.EndsWith(".yml", StringComparison.Ordinal))
            {
                yield return file;
            }
        }
        foreach (string sub in Directory.EnumerateDirectories(dir))
        {
            if (Path.GetFileName(sub) is "bin" or "obj" or "node_modules" || Path.GetFileName(sub).StartsWith('.'))
            {
                continue;
            }
            foreach (string file in YamlFiles(sub)) yield return file;
        }
    }

    [Fact]
    public void TheSamplesAndEveryExampleAreAmongThePoliciesChecked()
    {
        List<string> files = PolicyFiles();
        Assert.Contains(Path.Combine("samples", "policy.yaml"), files);
        foreach (string example in Directory.GetFiles(Path.Combine(s_root, "docs", "examples"), "*.yaml"))
        {
            if (example.EndsWith(".cases.yaml", StringComparison.Ordinal)) continue;
            Assert.Contains(Path.GetRelativePath(s_root, example), files);
        }
        Assert.DoesNotContain(files, f => f.EndsWith(".cases.yaml", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RepositoryPolicies))]
    public void TheSchemaAcceptsEveryPolicyOfTheRepository(string file)
    {
        string text = File.ReadAllText(Path.Combine(s_root, file));
        AssertValid(text, file);
        // What the loader refuses in these files is beyond a schema: virginia-too-long.yaml's window exceeds the
        // statute cap, which policy check judges. Every other one loads.
        if (Path.GetFileName(file) == "virginia-too-long.yaml")
        {
            var e = Assert.Throws<PolicyException>(() => PolicyLoader.LoadFile(Path.Combine(s_root, file)));
            Assert.Contains("statute cap", e.Message, StringComparison.Ordinal);
        }
        else if (file.StartsWith("deploy", StringComparison.Ordinal))
        {
            // A deployment's policy names keys its pod mounts from Secrets beside it (deploy/kubernetes lays them
            // out as samples/ does), which the repository does not hold: loaded against the samples' keys.
            PolicyLoader.Load(File.ReadAllBytes(Path.Combine(s_root, file)), file, s_keys);
        }
        else
        {
            PolicyLoader.LoadFile(Path.Combine(s_root, file));
        }
    }

    private const string Agencies = """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: md-mcac, state: MD, level: state, fusion_center: true}
          - {id: us-fbi, level: federal}
        """;

    private const string Agreement = """
        agreements:
          - id: share
            owners: [ca-lapd]
            recipients: [md-mcac]
            access: [search]
            purposes: [warrant]
        """;

    /// <summary>Valid variants the loader takes: the schema must not flag them in an editor.</summary>
    [Theory]
    [InlineData("the minimal file", "version: 1\nagencies: []\n")]
    [InlineData("a quoted version", "version: \"1\"\nagencies: []\n")]
    [InlineData("agencies and an agreement", Agencies + "\n" + Agreement)]
    [InlineData("an empty agreements section", Agencies + "\nagreements:\n")]
    [InlineData("an expiry as an RFC 3339 instant",
        Agencies + "\n" + Agreement + "\n    expires: 2027-06-30T12:00:00Z\n    citation: MOU 7\n")]
    [InlineData("a rule denying one recipient", Agencies + """

        rules:
          - {id: no-fbi, owners: [ca-lapd], deny_recipients: [us-fbi], citation: "Council resolution 12"}
        """)]
    [InlineData("every search setting, a quoted boolean", Agencies + """

        default_retention: 12h
        search: {require_case_number: "false", require_reason: true, max_window: 2w, max_clock_skew: 90s}
        """)]
    [InlineData("a key being rotated", """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local, key: [file:keys/ca-lapd.key, file:keys/ca-lasd.key]}
        """)]
    [InlineData("an agency kept as retired", """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local, retention: 30d, retired: true}
        """)]
    public void TheSchemaAcceptsWhatTheLoaderAccepts(string what, string yaml)
    {
        PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "policy.yaml", s_keys);
        AssertValid(yaml, what);
    }

    /// <summary>Invalid policies: the loader refuses each (exit 2 in policy check), and so does the schema.</summary>
    [Theory]
    [InlineData("an unknown section", "retention_days: 30\n" + Agencies, "retention_days")]
    [InlineData("an unknown member of an agency", """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local, jurisdiction: city}
        """, "jurisdiction")]
    [InlineData("agencies that are not a list", "version: 1\nagencies: {id: ca-lapd, state: CA, level: local}\n",
        "agencies")]
    [InlineData("access that is not a list", Agencies + """

        agreements:
          - {id: share, owners: [ca-lapd], recipients: [md-mcac], access: search, purposes: [warrant]}
        """, "access")]
    [InlineData("a boolean that is not true or false", """
        version: 1
        agencies:
          - {id: md-mcac, state: MD, level: state, fusion_center: yes}
        """, "fusion_center")]
    [InlineData("a missing version", "agencies: []\n", "version")]
    [InlineData("a missing agencies section", "version: 1\n", "agencies")]
    [InlineData("an agency without a level", "version: 1\nagencies:\n  - {id: ca-lapd, state: CA}\n", "level")]
    [InlineData("an agreement without purposes", Agencies + """

        agreements:
          - {id: share, owners: [ca-lapd], recipients: [md-mcac], access: [search]}
        """, "purposes")]
    [InlineData("a rule without a citation", Agencies + """

        rules:
          - {id: no-fbi, owners: [ca-lapd], deny_recipients: [us-fbi]}
        """, "citation")]
    [InlineData("a rule that denies nothing", Agencies + """

        rules:
          - {id: nothing, owners: [ca-lapd], citation: "Resolution 1"}
        """, "rules")]
    [InlineData("an unknown purpose", Agencies + """

        agreements:
          - {id: share, owners: [ca-lapd], recipients: [md-mcac], access: [search], purposes: [curiosity]}
        """, "purpose")]
    [InlineData("an unknown level", "version: 1\nagencies:\n  - {id: ca-lapd, state: CA, level: city}\n", "level")]
    [InlineData("an id with capitals", "version: 1\nagencies:\n  - {id: CA-LAPD, state: CA, level: local}\n", "id")]
    [InlineData("a state agency without a state", "version: 1\nagencies:\n  - {id: ca-chp, level: state}\n",
        "state")]
    [InlineData("a federal agency with a state", "version: 1\nagencies:\n  - {id: us-fbi, state: DC, level: federal}\n",
        "state")]
    [InlineData("a fusion center outside Maryland", """
        version: 1
        agencies:
          - {id: va-vsp, state: VA, level: state, fusion_center: true}
        """, "fusion_center")]
    [InlineData("a duration without a unit", "version: 1\ndefault_retention: 30\nagencies: []\n", "default_retention")]
    [InlineData("a zero duration", "version: 1\ndefault_retention: 0d\nagencies: []\n", "default_retention")]
    [InlineData("an expiry that is no date", Agencies + "\n" + Agreement + "\n    expires: next June\n", "expires")]
    [InlineData("a key that is no reference", """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local, key: s3cret}
        """, "key")]
    [InlineData("an unknown search setting", Agencies + "\nsearch: {max_results: 10}\n", "max_results")]
    [InlineData("a retired agency with a key", """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local, retired: true, key: file:keys/ca-lapd.key}
        """, "key")]
    [InlineData("version 2", "version: 2\nagencies: []\n", "version")]
    public void TheSchemaRefusesWhatTheLoaderRefuses(string what, string yaml, string field)
    {
        var e = Assert.Throws<PolicyException>(() => PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "p.yaml", s_keys));
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        EvaluationResults result = Evaluate(yaml);
        Assert.False(result.IsValid, $"{what}: the loader refuses it ({e.Message}), the schema accepts it");
    }

    [Fact]
    public void ThePolicyGuideTellsEditorsWhereTheSchemaIs()
    {
        string guide = File.ReadAllText(Path.Combine(s_root, "docs", "policy-guide.md"));
        Match comment = SchemaComment().Match(guide);
        Assert.True(comment.Success, "docs/policy-guide.md shows no `# yaml-language-server: $schema=` comment");
        Assert.Contains("policy.schema.json", comment.Value, StringComparison.Ordinal);
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_root, "docs", "policy.schema.json")));
        Assert.Equal("https://json-schema.org/draft/2020-12/schema",
            schema.RootElement.GetProperty("$schema").GetString());
    }

    [GeneratedRegex(@"# yaml-language-server: \$schema=\S+")]
    private static partial Regex SchemaComment();

    private static void AssertValid(string yaml, string what)
    {
        EvaluationResults result = Evaluate(yaml);
        Assert.True(result.IsValid, $"{what}: the schema refuses it:\n{Describe(result)}");
    }

    private static EvaluationResults Evaluate(string yaml)
    {
        JsonNode? json = ToJson(Root(yaml) ?? throw new InvalidOperationException("not one YAML mapping"));
        using var document = JsonDocument.Parse(json?.ToJsonString() ?? "null");
        return s_schema.Evaluate(document.RootElement.Clone(),
            new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static string Describe(EvaluationResults result) => string.Join('\n',
        (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"  {d.InstanceLocation} ({d.EvaluationPath}): {e.Value}")));

    private static YamlMappingNode? Root(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException)
        {
            return null;
        }
        return stream.Documents.Count == 1 ? stream.Documents[0].RootNode as YamlMappingNode : null;
    }

    /// <summary>YAML to JSON, plain scalars resolved by YAML 1.2's core schema (as editors' YAML tools do).</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode s => new JsonArray([.. s.Children.Select(ToJson)]),
        YamlScalarNode x => Scalar(x),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };

    private static JsonValue? Scalar(YamlScalarNode x)
    {
        string v = x.Value ?? "";
        if (x.Style != ScalarStyle.Plain) return JsonValue.Create(v);
        if (v is "" or "~" or "null" or "Null" or "NULL") return null;
        if (v is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (v is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (YamlInteger().IsMatch(v)
            && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
        {
            return JsonValue.Create(n);
        }
        if (YamlFloat().IsMatch(v)
            && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
        {
            return JsonValue.Create(d);
        }
        return JsonValue.Create(v);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex YamlInteger();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex YamlFloat();

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
