using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Policy;

/// <summary>
/// One case of a <c>policy test</c> file: a request (owner, recipient, access, purpose, documented, instant) and the
/// decision expected for it (code and rule).
/// </summary>
public sealed record PolicyCase
{
    /// <summary>The name given, or one made of the request when none was.</summary>
    public required string Name { get; init; }
    /// <summary>This case as messages name it: <c>cases[NAME]</c>, or <c>cases[#N]</c> when unnamed.</summary>
    public required string Field { get; init; }
    public required int Line { get; init; }
    public required string Owner { get; init; }
    public required string Recipient { get; init; }
    public required Access Access { get; init; }
    public required Purpose Purpose { get; init; }
    /// <summary>The request has a case number and a reason (Minnesota's rule looks at it); true unless said.</summary>
    public bool Documented { get; init; } = true;
    /// <summary>The instant (Unix ms) agreements expire against.</summary>
    public required long AtMs { get; init; }
    public required string AtText { get; init; }
    public required DecisionCode ExpectedCode { get; init; }
    public required string ExpectedRule { get; init; }
    /// <summary>The lines of the case's owner and recipient values, for errors that need the policy to find.</summary>
    internal int OwnerLine { get; init; }
    internal int RecipientLine { get; init; }
}

/// <summary>A validated cases file.</summary>
public sealed record PolicyCaseFile
{
    public required string Source { get; init; }
    /// <summary>
    /// The policy file the cases name (<c>policy:</c>), resolved against the cases file's folder; null when the file
    /// names none (the command line must then give one).
    /// </summary>
    public string? PolicyPath { get; init; }
    public required IReadOnlyList<PolicyCase> Cases { get; init; }
}

/// <summary>The outcome of one case: the full explanation, and whether its decision is the expected one.</summary>
public sealed record PolicyCaseResult(PolicyCase Case, Explanation Explanation)
{
    public Decision Actual => Explanation.Decision;

    /// <summary>Code and rule both as expected (the rule names the statute, local rule or agreement).</summary>
    public bool Passed => Actual.Code == Case.ExpectedCode
        && string.Equals(Actual.Rule, Case.ExpectedRule, StringComparison.Ordinal);

    /// <summary>The step that decided (the explainer marks exactly one for every decision it reports).</summary>
    public ExplainStep? DecidingStep => Explanation.Steps.FirstOrDefault(s => s.Decides);
}

/// <summary>
/// <c>policy test</c>: reads a YAML file of cases and evaluates each with <see cref="PolicyExplainer"/>, the evaluation
/// <c>policy explain</c> shows (its decision is the compiled policy's <see cref="CompiledPolicy.Decide"/>).
/// </summary>
/// <remarks>
/// A case that names something the policy or StreamGuard does not know (an agency, an access, a purpose, a code no
/// policy evaluation can give) is an error naming file, line and field, never a silent pass or failure: a typo in an
/// expectation must not be mistaken for a policy that behaves.
/// </remarks>
public static class PolicyCases
{
    private static readonly HashSet<string> s_topLevel = ["policy", "at", "cases"];
    private static readonly HashSet<string> s_caseKeys =
        ["name", "owner", "recipient", "access", "purpose", "documented", "at", "expect"];
    private static readonly HashSet<string> s_expectKeys = ["code", "rule"];

    /// <summary>The codes a policy evaluation (SPEC §3 steps 1–4) can give; a case may expect only these.</summary>
    public static readonly IReadOnlyList<DecisionCode> EvaluationCodes =
    [
        DecisionCode.AllowOwn, DecisionCode.AllowAgreement, DecisionCode.DenyStatute, DecisionCode.DenyLocal,
        DecisionCode.DenyNoAgreement, DecisionCode.DenyAgreementExpired, DecisionCode.DenyAccessNotGranted,
        DecisionCode.DenyPurposeNotGranted,
    ];

    public static PolicyCaseFile LoadFile(string path) =>
        Load(PolicyLoader.ReadFile(path), path, Path.GetDirectoryName(path) ?? "");

    /// <param name="bytes">The file's contents.</param>
    /// <param name="source">The file as messages name it.</param>
    /// <param name="baseDirectory">The folder a relative <c>policy:</c> is resolved against (kept relative when it
    /// is, so messages name the policy as the user would).</param>
    public static PolicyCaseFile Load(byte[] bytes, string source, string baseDirectory)
    {
        YamlMappingNode root = PolicyLoader.ReadRoot(bytes, source, "expected one YAML mapping (policy, at, cases)");
        foreach (var (k, _) in root.Children)
        {
            string key = Scalar(source, k, "key");
            if (!s_topLevel.Contains(key))
            {
                throw Error(source, k, key.Length == 0 ? "(empty key)" : key, "unknown section (policy, at, cases)");
            }
        }

        string? policy = Optional(source, root, "policy", "policy");
        if (policy is { Length: 0 }) throw Error(source, root, "policy", "empty: name the policy file or leave it out");
        (long Ms, string Text)? defaultAt = null;
        if (root.Children.TryGetValue(new YamlScalarNode("at"), out YamlNode? atNode))
        {
            defaultAt = Instant(source, atNode, "at");
        }

        if (!root.Children.TryGetValue(new YamlScalarNode("cases"), out YamlNode? casesNode)
            || casesNode is not YamlSequenceNode seq)
        {
            throw new PolicyException(source, casesNode is null ? 1 : (int)casesNode.Start.Line, "cases",
                "a list of cases is required");
        }
        if (seq.Children.Count == 0) throw Error(source, seq, "cases", "no cases: a test file must test something");

        var cases = new List<PolicyCase>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < seq.Children.Count; i++)
        {
            YamlNode node = seq.Children[i];
            if (node is not YamlMappingNode m) throw Error(source, node, "cases[]", "each case must be a mapping");
            PolicyCase c = ReadCase(source, m, i + 1, defaultAt);
            if (names.TryGetValue(c.Name, out int line))
            {
                throw Error(source, m, c.Field + ".name", $"duplicate name (first used on line {line})");
            }
            names[c.Name] = c.Line;
            cases.Add(c);
        }
        return new PolicyCaseFile
        {
            Source = source,
            PolicyPath = policy is null ? null : Path.Combine(baseDirectory, policy),
            Cases = cases,
        };
    }

    /// <summary>
    /// Evaluates every case against <paramref name="policy"/>, after checking that each names agencies of it (an
    /// unknown one is a <see cref="PolicyException"/> naming the cases file, line and field).
    /// </summary>
    public static IReadOnlyList<PolicyCaseResult> Evaluate(PolicyCaseFile file, CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(policy);
        var resolved = new List<(PolicyCase Case, int Owner, int Recipient)>(file.Cases.Count);
        foreach (PolicyCase c in file.Cases)
        {
            int owner = policy.Agencies.Find(c.Owner), recipient = policy.Agencies.Find(c.Recipient);
            if (owner < 0)
            {
                throw new PolicyException(file.Source, c.OwnerLine, c.Field + ".owner",
                    $"'{c.Owner}' is {NotActive(policy, c.Owner)}");
            }
            if (recipient < 0)
            {
                throw new PolicyException(file.Source, c.RecipientLine, c.Field + ".recipient",
                    $"'{c.Recipient}' is {NotActive(policy, c.Recipient)}");
            }
            resolved.Add((c, owner, recipient));
        }
        return resolved.Select(r => new PolicyCaseResult(r.Case, PolicyExplainer.Explain(policy, r.Owner,
            r.Recipient, r.Case.Access, r.Case.Purpose, r.Case.Documented, r.Case.AtMs))).ToList();
    }

    /// <summary>Why <paramref name="id"/> cannot be a case's agency: retired in the policy, or not in it.</summary>
    public static string NotActive(CompiledPolicy policy, string id)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Agencies.FindAny(System.Text.Encoding.UTF8.GetBytes(id)) >= 0
            ? $"retired in {policy.Document.Source}: it can neither search nor receive (every access is denied)"
            : $"not an agency of {policy.Document.Source}";
    }

    private static PolicyCase ReadCase(string source, YamlMappingNode m, int index, (long Ms, string Text)? defaultAt)
    {
        string? name = Optional(source, m, "name", $"cases[#{index}].name");
        if (name is { Length: 0 })
        {
            throw Error(source, m, $"cases[#{index}].name", "empty: give a name or leave it out");
        }
        string field = name is null ? $"cases[#{index}]" : $"cases[{name}]";
        foreach (var (k, _) in m.Children)
        {
            string key = Scalar(source, k, field);
            if (!s_caseKeys.Contains(key))
            {
                throw Error(source, k, $"{field}.{(key.Length == 0 ? "(empty key)" : key)}",
                    "unknown member (name, owner, recipient, access, purpose, documented, at, expect)");
            }
        }
        string owner = Required(source, m, "owner", field + ".owner", out YamlNode ownerNode);
        string recipient = Required(source, m, "recipient", field + ".recipient", out YamlNode recipientNode);
        string accessText = Required(source, m, "access", field + ".access", out YamlNode accessNode);
        Access access = accessText switch
        {
            "push" => Access.Push,
            "search" => Access.Search,
            "alert" => Access.Alert,
            _ => throw Error(source, accessNode, field + ".access",
                $"unknown access '{accessText}' (push, search, alert)"),
        };
        string purposeText = Required(source, m, "purpose", field + ".purpose", out YamlNode purposeNode);
        if (!Purposes.TryParse(Encoding.UTF8.GetBytes(purposeText), out Purpose purpose))
        {
            string all = string.Join(", ", Enumerable.Range(0, Purposes.Count).Select(p => Purposes.Name((Purpose)p)));
            throw Error(source, purposeNode, field + ".purpose", $"unknown purpose '{purposeText}' ({all})");
        }
        bool documented = true;
        if (m.Children.TryGetValue(new YamlScalarNode("documented"), out YamlNode? d))
        {
            documented = Scalar(source, d, field + ".documented") switch
            {
                "true" => true,
                "false" => false,
                var v => throw Error(source, d, field + ".documented", $"'{v}' is not true or false"),
            };
        }
        (long Ms, string Text) at;
        if (m.Children.TryGetValue(new YamlScalarNode("at"), out YamlNode? atNode))
        {
            at = Instant(source, atNode, field + ".at");
        }
        else
        {
            at = defaultAt ?? throw Error(source, m, field + ".at",
                "required (or a top-level at: for every case): the instant agreements expire against");
        }

        if (!m.Children.TryGetValue(new YamlScalarNode("expect"), out YamlNode? e))
        {
            throw Error(source, m, field + ".expect", "required: {code: …, rule: …}");
        }
        if (e is not YamlMappingNode expect)
        {
            throw Error(source, e, field + ".expect", "must be a mapping {code, rule}");
        }
        foreach (var (k, _) in expect.Children)
        {
            string key = Scalar(source, k, field + ".expect");
            if (!s_expectKeys.Contains(key))
            {
                throw Error(source, k, $"{field}.expect.{(key.Length == 0 ? "(empty key)" : key)}",
                    "unknown member (code, rule)");
            }
        }
        string codeText = Required(source, expect, "code", field + ".expect.code", out YamlNode codeNode);
        int known = EvaluationCodes.ToList().FindIndex(c => DecisionCodes.Text(c) == codeText);
        if (known < 0)
        {
            throw Error(source, codeNode, field + ".expect.code", $"'{codeText}' is not a code a policy evaluation " +
                $"gives ({string.Join(", ", EvaluationCodes.Select(DecisionCodes.Text))})");
        }
        string rule = Required(source, expect, "rule", field + ".expect.rule", out YamlNode ruleNode);
        if (rule.Length == 0) throw Error(source, ruleNode, field + ".expect.rule", "empty");

        return new PolicyCase
        {
            Name = name ?? $"{owner} → {recipient} {accessText} {purposeText}",
            Field = field,
            Line = (int)m.Start.Line,
            Owner = owner,
            Recipient = recipient,
            Access = access,
            Purpose = purpose,
            Documented = documented,
            AtMs = at.Ms,
            AtText = at.Text,
            ExpectedCode = EvaluationCodes[known],
            ExpectedRule = rule,
            OwnerLine = (int)ownerNode.Start.Line,
            RecipientLine = (int)recipientNode.Start.Line,
        };
    }

    private static (long Ms, string Text) Instant(string source, YamlNode node, string field)
    {
        string text = Scalar(source, node, field);
        return Text.Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out long ms)
            ? (ms, text)
            : throw Error(source, node, field, $"'{text}' is not an RFC 3339 timestamp (2026-12-01T00:00:00Z)");
    }

    private static PolicyException Error(string source, YamlNode node, string field, string message) =>
        new(source, (int)node.Start.Line, field, message);

    private static string Scalar(string source, YamlNode node, string field) =>
        node is YamlScalarNode { Value: { } v } ? v : throw Error(source, node, field, "must be a plain value");

    private static string Required(string source, YamlMappingNode map, string key, string field, out YamlNode node)
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? n))
        {
            throw Error(source, map, field, "required");
        }
        node = n;
        return Scalar(source, n, field);
    }

    private static string? Optional(string source, YamlMappingNode map, string key, string field) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? n) ? Scalar(source, n, field) : null;
}
