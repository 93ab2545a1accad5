using System.CommandLine;
using System.Globalization;
using System.Text;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard policy check | diff | explain | test</c>.</summary>
internal static class PolicyCommand
{
    private static readonly TextOption s_at =
        new("at", "T", "the instant agreements expire against (RFC 3339; {default})")
    {
        Shown = "default: now",
    };

    private static readonly IntOption s_names = new("names", "N",
        "recipients listed per warning before \"and N more\" ({default}, 0 = all)", 0, 1_000_000)
    {
        Default = 12,
    };

    private static readonly ChoiceOption<PolicyFormat> s_diffFormat = new("format", "text|json|tsv", """
        json: one JSON document (docs/spec-notes.md); tsv: one changed
        tuple per line; {default}
        """, ("text", PolicyFormat.Text), ("json", PolicyFormat.Json), ("tsv", PolicyFormat.Tsv))
    {
        Default = PolicyFormat.Text,
    };

    /// <summary>The --format of check, explain and test (tsv is diff's alone).</summary>
    private static readonly ChoiceOption<PolicyFormat> s_format = new("format", "text|json",
        "json: one JSON document (docs/spec-notes.md); {default}",
        ("text", PolicyFormat.Text), ("json", PolicyFormat.Json))
    {
        Default = PolicyFormat.Text,
    };

    /// <summary>The policy <c>test</c> evaluates against, over the one its cases file names. Read from the command
    /// line only: a <c>STREAMGUARD_POLICY</c> set for <c>run</c> must not silently replace the cases' own.</summary>
    private static readonly TextOption s_testPolicy = new("policy", "P",
        "the policy to test against (default: the one CASES names with policy:, relative to CASES)");

    /// <summary>Every pair of each REASON CHANGED group (true), or its first pairs and counts.</summary>
    private static readonly ChoiceOption<bool> s_reasons = new("reasons", "summary|all", """
        grants and revocations are always listed in full; REASON CHANGED
        groups show their first pairs and counts unless all
        """, ("summary", false), ("all", true))
    {
        Default = false,
    };

    private static readonly TextOption s_owner =
        new("owner", "A", "the agency whose reads are asked for (its id in P)");

    private static readonly TextOption s_recipient = new("recipient", "B", "the agency asking for them (its id in P)");

    private static readonly ChoiceOption<Access> s_access = new("access", "push|search|alert",
        "what is asked for: a push delivery, a search or a hotlist alert",
        ("push", Access.Push), ("search", Access.Search), ("alert", Access.Alert));

    private static readonly TextOption s_purpose = new("purpose", "X",
        "a purpose (criminal_investigation, stolen_vehicle, warrant, …)");

    /// <summary>Whether the request has a case number and a reason.</summary>
    private static readonly ChoiceOption<bool> s_documented = new("documented", "yes|no",
        """
        no: the request has no case number or reason (Minnesota's rule
        looks at this; {default})
        """, ("yes", true), ("no", false))
    {
        Default = true,
    };

    private static readonly Argument<string> s_policy = new("P") { Description = "the policy file (YAML)" };

    private static readonly Argument<string> s_old = new("OLD") { Description = "the policy in force" };

    private static readonly Argument<string> s_new = new("NEW") { Description = "the policy proposed" };

    private static readonly Argument<string> s_cases = new("CASES")
    {
        Description = "the cases file (YAML; samples/policy.cases.yaml, docs/policy-guide.md)",
    };

    /// <summary><c>policy check|diff|explain</c>: each a command with its own arguments and options.</summary>
    public static Command Command { get; } =
        new("policy", "check, diff, explain and test policies: policy check|diff|explain|test")
    {
        Verb.Create("check", "validate a policy file; warn of nullified and expired agreements", """
            Validates a policy file. Errors name the file, the line and the field (exit 2).
            Warnings (exit 0): every agreement, or part of one, that a statute or a local rule nullifies
            (naming the agreement, the owner, the recipients and the rule), and every expired agreement.
            """, [s_names, s_at, s_format], arguments: [s_policy]).Runs((a, _) => Check(a)),
        Verb.Create("diff", "every outcome that changes between two policies; exit 3 if access is newly granted", """
            Every (owner, recipient, access, purpose) whose outcome differs between OLD and NEW, exactly
            (not sampled), grouped: GRANTED (newly allowed), REVOKED, REASON CHANGED. An agency's access to
            its own reads is not sharing and never listed. Also lists every agency whose retention window
            changed. Exit 3 when any access is newly granted, so CI can gate policy changes; 0 otherwise.
            """, [s_diffFormat, s_reasons, s_at], arguments: [s_old, s_new]).Runs((a, _) => Diff(a)),
        Verb.Create("explain", "each evaluation step for one request, and the decision", """
            Each evaluation step for one request — own reads, statute rules of the owner's state, local
            rules, agreements — with pass/fail, rule, citation and status (⚠ marks rules resting on law
            whose enactment is not confirmed), and the decision.
            """, [s_owner, s_recipient, s_access, s_purpose, s_documented, s_at, s_format], arguments: [s_policy])
            .Runs((a, _) => Explain(a)),
        Verb.Create("test", "expected outcomes as tests: exit 1 with a diff on any mismatch", """
            Evaluates each case of CASES (YAML: owner, recipient, access, purpose, at, and the expected code and
            rule) as explain does, one pass/FAIL line per case; each failure shows the expected against the
            actual decision with its citation and deciding step (exit 1). The policy is the one CASES names
            (relative to CASES) unless --policy is given. A bad CASES file exits 2 naming file, line and field.
            samples/policy.cases.yaml tests samples/policy.yaml; docs/policy-guide.md shows the format.
            """, [s_testPolicy, s_format], arguments: [s_cases])
            .Runs((a, _) => PolicyTestCommand.Run(a.OnCommandLine(s_testPolicy), a.Value(s_cases), Format(a, s_format),
                Console.Out, Console.Error)),
    };

    /// <summary>
    /// --format from the command line only: a <c>STREAMGUARD_FORMAT</c> set for another verb (acl's strimzi) must not
    /// change, or refuse, what a policy command prints.
    /// </summary>
    private static PolicyFormat Format(CommandArgs args, ChoiceOption<PolicyFormat> option) =>
        args.OnCommandLine(option) is not { } word ? option.Default
        : option.TryParse(word, out PolicyFormat format) ? format
        : throw new UsageException(option.NotAChoice(word));

    private static long At(CommandArgs args)
    {
        string? at = args.Get(s_at);
        if (at is null) return DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return Text.Rfc3339.TryParse(Encoding.UTF8.GetBytes(at), out long ms)
            ? ms
            : throw new UsageException($"--at: '{at}' is not an RFC 3339 timestamp");
    }

    private static int Check(CommandArgs args)
    {
        long at = At(args);
        int names = args.Int(s_names);
        string path = args.Value(s_policy);
        if (Format(args, s_format) == PolicyFormat.Json) return PolicyJson.Check(path, at, Console.Out, Console.Error);
        var policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(policy, at, names == 0 ? int.MaxValue : names);
        foreach (string w in warnings) Console.WriteLine($"warning: {w}");
        int retired = policy.Document.Agencies.Count(a => a.Retired);
        Console.WriteLine($"{path}: ok — {policy.Document.Agencies.Count} agencies" +
            (retired > 0 ? $" ({retired} retired)" : "") + $", {policy.AgreementCount} agreements, " +
            $"{policy.Document.Rules.Count} local rules, {warnings.Count} warnings; policy {policy.Hash}");
        return 0;
    }

    private static int Explain(CommandArgs args)
    {
        string path = args.Value(s_policy);
        string ownerId = args.Require(s_owner), recipientId = args.Require(s_recipient);
        Access access = args.Choice(s_access);
        string purposeText = args.Require(s_purpose);
        if (!Purposes.TryParse(Encoding.UTF8.GetBytes(purposeText), out Purpose purpose))
        {
            string known = string.Join(", ",
                Enumerable.Range(0, Purposes.Count).Select(i => Purposes.Name((Purpose)i)));
            throw new UsageException($"--purpose: '{purposeText}' is not a known purpose ({known})");
        }
        bool documented = args.Choice(s_documented);
        long at = At(args);
        var policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
        int owner = policy.Agencies.Find(ownerId), recipient = policy.Agencies.Find(recipientId);
        if (owner < 0) throw new UsageException($"--owner: '{ownerId}' is {PolicyCases.NotActive(policy, ownerId)}");
        if (recipient < 0)
        {
            throw new UsageException($"--recipient: '{recipientId}' is {PolicyCases.NotActive(policy, recipientId)}");
        }

        Explanation x = PolicyExplainer.Explain(policy, owner, recipient, access, purpose, documented, at);
        if (Format(args, s_format) == PolicyFormat.Json)
        {
            PolicyJson.WriteExplain(Console.Out, policy, x, owner, recipient, access, purpose, documented, at);
            return 0;
        }
        PolicyExplainWriter.Write(Console.Out, policy, x, owner, recipient, access, purposeText, documented, at);
        return 0;
    }

    private static int Diff(CommandArgs args)
    {
        string oldPath = args.Value(s_old), newPath = args.Value(s_new);
        long at = At(args);
        PolicyFormat format = Format(args, s_diffFormat);
        bool tsv = format == PolicyFormat.Tsv;
        bool allReasons = args.Choice(s_reasons);
        var oldPolicy = new CompiledPolicy(PolicyLoader.LoadFile(oldPath));
        var newPolicy = new CompiledPolicy(PolicyLoader.LoadFile(newPath));
        PolicyDiffResult diff = PolicyDiff.Compute(oldPolicy, newPolicy, at);
        var o = Console.Out;
        if (format == PolicyFormat.Json)
        {
            PolicyJson.WriteDiff(o, oldPath, newPath, oldPolicy, newPolicy, diff, at);
        }
        else if (tsv)
        {
            PolicyDiffWriter.WriteTsv(o, diff);
        }
        else
        {
            PolicyDiffWriter.WriteText(o, oldPath, newPath, oldPolicy, newPolicy, diff, at,
                allReasons);
        }
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"summary: {diff.Granted:N0} granted, {diff.Revoked:N0} revoked, {diff.ReasonChanged:N0} reason changed; " +
            $"{diff.PairsExamined:N0} (owner, recipient) pairs examined exactly in {diff.Elapsed.TotalSeconds:F2} s");
        (format != PolicyFormat.Text ? Console.Error : o).WriteLine(summary);
        foreach (string w in PolicyCheck.TakenOut(oldPolicy, newPolicy, at))
        {
            Console.Error.WriteLine($"policy diff: warning: {w}");
        }
        if (diff.Granted > 0)
        {
            Console.Error.WriteLine($"policy diff: {diff.Granted:N0} outcomes newly grant access (exit 3)");
            return 3;
        }
        return 0;
    }
}
