using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>policy check | explain | diff | test --format json</c>: one JSON document each on standard output, snake_case
/// field names like the audit's, saying what the text says. The shapes are documented in docs/spec-notes.md
/// ("Policy tooling output"); a field is only ever added, never renamed or removed, so CI scripts can rely on them.
/// </summary>
internal static partial class PolicyJson
{
    private static readonly JsonWriterOptions s_options =
        new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    /// <summary>
    /// <c>policy check P --format json</c>: validates, and writes the verdict, the errors (exit 2) or the warnings
    /// (exit 0), each with its file, line and field. Warnings list every recipient (<c>--names</c> shortens text only).
    /// </summary>
    public static int Check(string path, long atMs, TextWriter o, TextWriter err)
    {
        CompiledPolicy policy;
        try
        {
            policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
        }
        catch (PolicyException e)
        {
            Document(o, w =>
            {
                w.WriteString("command", "policy check");
                w.WriteString("file", path);
                w.WriteBoolean("ok", false);
                Exit(w, 2, "the policy file is invalid: see errors");
                w.WriteString("at", Text.Rfc3339.ToText(atMs));
                w.WriteStartArray("errors");
                Error(w, e);
                w.WriteEndArray();
                w.WriteStartArray("warnings");
                w.WriteEndArray();
            });
            err.WriteLine($"streamguard policy: policy error: {e.Message}");
            return 2;
        }

        IReadOnlyList<string> warnings = PolicyCheck.Warnings(policy, atMs, int.MaxValue);
        Document(o, w =>
        {
            w.WriteString("command", "policy check");
            w.WriteString("file", path);
            w.WriteBoolean("ok", true);
            Exit(w, 0, "the policy file is valid (warnings do not fail it)");
            w.WriteString("at", Text.Rfc3339.ToText(atMs));
            w.WriteString("policy_hash", policy.Hash);
            w.WriteNumber("agencies", policy.Document.Agencies.Count);
            w.WriteNumber("agreements", policy.AgreementCount);
            w.WriteNumber("local_rules", policy.Document.Rules.Count);
            w.WriteStartArray("errors");
            w.WriteEndArray();
            w.WriteStartArray("warnings");
            foreach (string warning in warnings) Warning(w, policy.Document.Source, warning);
            w.WriteEndArray();
        });
        return 0;
    }

    /// <summary><c>policy explain --format json</c>: the request, every evaluation step, the decision.</summary>
    public static void WriteExplain(TextWriter o, CompiledPolicy policy, Explanation x, int owner, int recipient,
        Access access, Purpose purpose, bool documented, long atMs)
    {
        Document(o, w =>
        {
            w.WriteString("command", "policy explain");
            w.WriteString("policy_file", policy.Document.Source);
            w.WriteString("policy_hash", policy.Hash);
            Exit(w, 0, "explained");
            w.WriteStartObject("request");
            w.WritePropertyName("owner");
            Agency(w, policy.Agency(owner));
            w.WritePropertyName("recipient");
            Agency(w, policy.Agency(recipient));
            w.WriteString("access", PolicyExplainer.AccessName(access));
            w.WriteString("purpose", Purposes.Name(purpose));
            w.WriteBoolean("documented", documented);
            w.WriteString("at", Text.Rfc3339.ToText(atMs));
            w.WriteEndObject();
            w.WriteStartArray("steps");
            foreach (ExplainStep s in x.Steps) Step(w, s);
            w.WriteEndArray();
            w.WritePropertyName("decision");
            Decision(w, x.Decision);
        });
    }

    /// <summary>
    /// <c>policy diff --format json</c>: every changed (owner, recipient, access, purpose) with its outcome before and
    /// after, the retention and key changes, the counts and the exit code (3 when access is newly granted).
    /// </summary>
    public static void WriteDiff(TextWriter o, string oldPath, string newPath, CompiledPolicy oldPolicy,
        CompiledPolicy newPolicy, PolicyDiffResult diff, long atMs)
    {
        Document(o, w =>
        {
            w.WriteString("command", "policy diff");
            w.WriteStartObject("old");
            w.WriteString("file", oldPath);
            w.WriteString("hash", oldPolicy.Hash);
            w.WriteEndObject();
            w.WriteStartObject("new");
            w.WriteString("file", newPath);
            w.WriteString("hash", newPolicy.Hash);
            w.WriteEndObject();
            w.WriteString("at", Text.Rfc3339.ToText(atMs));
            if (diff.Granted > 0) Exit(w, 3, "access is newly granted: a person must review the change");
            else Exit(w, 0, "no access is newly granted");
            w.WriteStartObject("summary");
            w.WriteNumber("granted", diff.Granted);
            w.WriteNumber("revoked", diff.Revoked);
            w.WriteNumber("reason_changed", diff.ReasonChanged);
            w.WriteNumber("pairs_examined", diff.PairsExamined);
            w.WriteEndObject();
            Strings(w, "agencies_added", diff.AgenciesAdded);
            Strings(w, "agencies_removed", diff.AgenciesRemoved);
            w.WriteStartArray("changes");
            foreach (OutcomeChange c in diff.Changes)
            {
                w.WriteStartObject();
                w.WriteString("change", c.Kind switch
                {
                    ChangeKind.Granted => "granted",
                    ChangeKind.Revoked => "revoked",
                    _ => "reason_changed",
                });
                w.WriteBoolean("newly_granted", c.Kind == ChangeKind.Granted);
                w.WriteString("owner", c.Owner);
                w.WriteString("recipient", c.Recipient);
                w.WriteString("access", PolicyExplainer.AccessName(c.Access));
                w.WriteString("purpose", Purposes.Name(c.Purpose));
                w.WritePropertyName("before");
                Decision(w, c.Old);
                w.WritePropertyName("after");
                Decision(w, c.New);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("retention_changes");
            foreach (RetentionChange r in diff.RetentionChanges)
            {
                w.WriteStartObject();
                w.WriteString("agency", r.Agency);
                Retention(w, "before", r.OldMs, r.OldRule);
                Retention(w, "after", r.NewMs, r.NewRule);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("key_changes");
            foreach (KeyChange k in diff.KeyChanges)
            {
                w.WriteStartObject();
                w.WriteString("agency", k.Agency);
                w.WriteString("change", k.KindText);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary><c>policy test --format json</c>: each case with its request, expectation, outcome, verdict.</summary>
    public static void WriteTest(TextWriter o, PolicyCaseFile cases, CompiledPolicy policy,
        IReadOnlyList<PolicyCaseResult> results, int exitCode)
    {
        int failed = results.Count(r => !r.Passed);
        Document(o, w =>
        {
            w.WriteString("command", "policy test");
            w.WriteString("cases_file", cases.Source);
            w.WriteString("policy_file", policy.Document.Source);
            w.WriteString("policy_hash", policy.Hash);
            w.WriteBoolean("ok", failed == 0);
            Exit(w, exitCode, failed == 0 ? "every case passed" : "a case did not get the expected decision");
            w.WriteNumber("total", results.Count);
            w.WriteNumber("passed", results.Count - failed);
            w.WriteNumber("failed", failed);
            w.WriteStartArray("cases");
            foreach (PolicyCaseResult r in results)
            {
                PolicyCase c = r.Case;
                w.WriteStartObject();
                w.WriteString("name", c.Name);
                w.WriteNumber("line", c.Line);
                w.WriteBoolean("pass", r.Passed);
                w.WriteStartObject("request");
                w.WriteString("owner", c.Owner);
                w.WriteString("recipient", c.Recipient);
                w.WriteString("access", PolicyExplainer.AccessName(c.Access));
                w.WriteString("purpose", Purposes.Name(c.Purpose));
                w.WriteBoolean("documented", c.Documented);
                w.WriteString("at", Text.Rfc3339.ToText(c.AtMs));
                w.WriteEndObject();
                w.WriteStartObject("expected");
                w.WriteString("code", DecisionCodes.Text(c.ExpectedCode));
                w.WriteString("rule", c.ExpectedRule);
                w.WriteEndObject();
                w.WritePropertyName("actual");
                Decision(w, r.Actual);
                w.WritePropertyName("deciding_step");
                if (r.DecidingStep is { } s) Step(w, s);
                else w.WriteNullValue();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary>A command's input that is refused (exit 2): the error with its file, line and field.</summary>
    public static void WriteRefused(TextWriter o, string command, PolicyException e)
    {
        Document(o, w =>
        {
            w.WriteString("command", command);
            w.WriteBoolean("ok", false);
            Exit(w, 2, "an input file is invalid: see errors");
            w.WriteStartArray("errors");
            Error(w, e);
            w.WriteEndArray();
        });
    }

    private static void Document(TextWriter o, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, s_options))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        o.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static void Exit(Utf8JsonWriter w, int code, string meaning)
    {
        w.WriteNumber("exit_code", code);
        w.WriteString("exit_meaning", meaning);
    }

    private static void Error(Utf8JsonWriter w, PolicyException e)
    {
        w.WriteStartObject();
        w.WriteString("file", e.File);
        w.WriteNumber("line", e.Line);
        w.WriteString("field", e.Field);
        string prefix = $"{e.File}:{e.Line}: {e.Field}: ";
        w.WriteString("message", e.Message.StartsWith(prefix, StringComparison.Ordinal)
            ? e.Message[prefix.Length..]
            : e.Message);
        w.WriteEndObject();
    }

    [GeneratedRegex(@"^(?<line>[0-9]+): (?<field>[^ ]+?): (?<message>.*)$", RegexOptions.Singleline)]
    private static partial Regex WarningLocation();

    /// <summary>
    /// A warning of <see cref="PolicyCheck.Warnings"/> (<c>FILE:LINE: FIELD: MESSAGE</c>, the text <c>check</c>
    /// prints) split into its parts; one of another shape keeps its whole text as the message.
    /// </summary>
    private static void Warning(Utf8JsonWriter w, string source, string warning)
    {
        w.WriteStartObject();
        w.WriteString("file", source);
        Match m = warning.StartsWith(source + ":", StringComparison.Ordinal)
            ? WarningLocation().Match(warning[(source.Length + 1)..])
            : Match.Empty;
        if (m.Success)
        {
            w.WriteNumber("line", int.Parse(m.Groups["line"].ValueSpan, provider: null));
            w.WriteString("field", m.Groups["field"].Value);
            w.WriteString("message", m.Groups["message"].Value);
        }
        else
        {
            w.WriteNull("line");
            w.WriteNull("field");
            w.WriteString("message", warning);
        }
        w.WriteEndObject();
    }

    private static void Agency(Utf8JsonWriter w, AgencyConfig a)
    {
        w.WriteStartObject();
        w.WriteString("id", a.Id);
        w.WriteString("name", a.Name);
        w.WriteString("state", a.State);
        w.WriteString("level", a.Level.ToString().ToLowerInvariant());
        Strings(w, "declarations", a.Declarations);
        w.WriteBoolean("fusion_center", a.FusionCenter);
        w.WriteBoolean("retired", a.Retired);
        w.WriteEndObject();
    }

    private static void Step(Utf8JsonWriter w, ExplainStep s)
    {
        w.WriteStartObject();
        w.WriteNumber("step", s.Step);
        w.WriteString("kind", s.Kind);
        w.WriteString("rule", s.Rule);
        w.WriteString("result", s.Outcome switch
        {
            StepOutcome.NotApplicable => "n/a",
            StepOutcome.Pass => "pass",
            StepOutcome.Fail => "fail",
            _ => "allow",
        });
        w.WriteBoolean("reached", s.Reached);
        w.WriteBoolean("decides", s.Decides);
        w.WriteString("detail", s.Detail);
        w.WriteString("citation", s.Citation);
        w.WriteString("status", s.Status);
        w.WriteBoolean("confirmed", s.Confirmed);
        w.WriteEndObject();
    }

    private static void Decision(Utf8JsonWriter w, Decision d)
    {
        w.WriteStartObject();
        w.WriteBoolean("allowed", d.Allowed);
        w.WriteString("code", DecisionCodes.Text(d.Code));
        w.WriteString("rule", d.Rule);
        w.WriteString("citation", d.Citation);
        w.WriteEndObject();
    }

    private static void Retention(Utf8JsonWriter w, string name, long ms, string rule)
    {
        w.WriteStartObject(name);
        w.WriteString("retention", Durations.Format(TimeSpan.FromMilliseconds(ms)));
        w.WriteNumber("retention_ms", ms);
        w.WriteString("rule", rule);
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (string v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
