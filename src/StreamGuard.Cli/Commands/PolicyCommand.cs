using System.CommandLine;
using System.Globalization;
using System.Text;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard policy check | diff | explain</c>.</summary>
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

    /// <summary>Tab-separated values (true) or text.</summary>
    private static readonly ChoiceOption<bool> s_format = new("format", "text|tsv",
        "tsv: one changed tuple per line", ("text", false), ("tsv", true))
    {
        Default = false,
    };

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

    /// <summary><c>policy check|diff|explain</c>: each a command with its own arguments and options.</summary>
    public static Command Command { get; } =
        new("policy", "check, diff and explain policies: policy check|diff|explain")
    {
        Verb.Create("check", "validate a policy file; warn of nullified and expired agreements", """
            Validates a policy file. Errors name the file, the line and the field (exit 2).
            Warnings (exit 0): every agreement, or part of one, that a statute or a local rule nullifies
            (naming the agreement, the owner, the recipients and the rule), and every expired agreement.
            """, [s_names, s_at], arguments: [s_policy]).Runs((a, _) => Check(a)),
        Verb.Create("diff", "every outcome that changes between two policies; exit 3 if access is newly granted", """
            Every (owner, recipient, access, purpose) whose outcome differs between OLD and NEW, exactly
            (not sampled), grouped: GRANTED (newly allowed), REVOKED, REASON CHANGED. An agency's access to
            its own reads is not sharing and never listed. Also lists every agency whose retention window
            changed. Exit 3 when any access is newly granted, so CI can gate policy changes; 0 otherwise.
            """, [s_format, s_reasons, s_at], arguments: [s_old, s_new]).Runs((a, _) => Diff(a)),
        Verb.Create("explain", "each evaluation step for one request, and the decision", """
            Each evaluation step for one request — own reads, statute rules of the owner's state, local
            rules, agreements — with pass/fail, rule, citation and status (⚠ marks rules resting on law
            whose enactment is not confirmed), and the decision.
            """, [s_owner, s_recipient, s_access, s_purpose, s_documented, s_at], arguments: [s_policy])
            .Runs((a, _) => Explain(a)),
    };

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
        var policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(policy, at, names == 0 ? int.MaxValue : names);
        foreach (string w in warnings) Console.WriteLine($"warning: {w}");
        Console.WriteLine($"{path}: ok — {policy.Document.Agencies.Count} agencies, " +
            $"{policy.AgreementCount} agreements, " +
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
        if (owner < 0) throw new UsageException($"--owner: '{ownerId}' is not an agency of {path}");
        if (recipient < 0)
        {
            throw new UsageException($"--recipient: '{recipientId}' is not an agency of {path}");
        }

        Explanation x = PolicyExplainer.Explain(policy, owner, recipient, access, purpose, documented, at);
        PolicyExplainWriter.Write(Console.Out, policy, x, owner, recipient, access, purposeText, documented, at);
        return 0;
    }

    private static int Diff(CommandArgs args)
    {
        string oldPath = args.Value(s_old), newPath = args.Value(s_new);
        long at = At(args);
        bool tsv = args.Choice(s_format);
        bool allReasons = args.Choice(s_reasons);
        var oldPolicy = new CompiledPolicy(PolicyLoader.LoadFile(oldPath));
        var newPolicy = new CompiledPolicy(PolicyLoader.LoadFile(newPath));
        PolicyDiffResult diff = PolicyDiff.Compute(oldPolicy, newPolicy, at);
        var o = Console.Out;
        if (tsv)
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
        (tsv ? Console.Error : o).WriteLine(summary);
        if (diff.Granted > 0)
        {
            Console.Error.WriteLine($"policy diff: {diff.Granted:N0} outcomes newly grant access (exit 3)");
            return 3;
        }
        return 0;
    }
}
