using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>streamguard policy test CASES [--policy P] [--format text|json]</c>: a policy's expected outcomes as tests.
/// Each case of CASES (<see cref="PolicyCases"/>) is evaluated as <c>policy explain</c> evaluates a request; one line
/// per case, and for each that fails the expected against the actual decision with its citation and deciding step.
/// </summary>
/// <remarks>
/// Exit codes: 0 every case passed, 1 a case failed, 2 a bad cases file or policy file (file, line and field).
/// The command line parser calls <see cref="Run"/>; it holds everything the command does.
/// </remarks>
internal static class PolicyTestCommand
{
    /// <param name="policyPath">The policy to test against; null: the one the cases file names (<c>policy:</c>,
    /// relative to the cases file).</param>
    /// <param name="casesPath">The YAML file of cases.</param>
    /// <param name="format">Text or JSON (<see cref="PolicyFormat.Tsv"/> is refused: exit 2).</param>
    /// <param name="o">Where the result goes (standard output).</param>
    /// <param name="err">Where errors and the failure count go (standard error).</param>
    /// <returns>0 every case passed, 1 a case failed, 2 bad input.</returns>
    public static int Run(string? policyPath, string casesPath, PolicyFormat format, TextWriter o, TextWriter err)
    {
        if (format == PolicyFormat.Tsv)
        {
            err.WriteLine("streamguard policy test: --format: tsv is for policy diff only (text or json)");
            return 2;
        }
        PolicyCaseFile cases;
        CompiledPolicy policy;
        IReadOnlyList<PolicyCaseResult> results;
        try
        {
            cases = PolicyCases.LoadFile(casesPath);
            string path = policyPath ?? cases.PolicyPath ?? throw new PolicyException(casesPath, 1, "policy",
                "the file names no policy: add `policy: FILE` (relative to it) or give --policy P");
            policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
            results = PolicyCases.Evaluate(cases, policy);
        }
        catch (PolicyException e)
        {
            if (format == PolicyFormat.Json) PolicyJson.WriteRefused(o, "policy test", e);
            err.WriteLine($"streamguard policy test: {e.Message}");
            return 2;
        }

        int failed = results.Count(r => !r.Passed);
        int exit = failed == 0 ? 0 : 1;
        if (format == PolicyFormat.Json)
        {
            PolicyJson.WriteTest(o, cases, policy, results, exit);
        }
        else
        {
            WriteText(o, cases, policy, results);
        }
        if (failed > 0) err.WriteLine($"policy test: {failed} of {results.Count} cases failed (exit 1)");
        return exit;
    }

    private static void WriteText(TextWriter o, PolicyCaseFile cases, CompiledPolicy policy,
        IReadOnlyList<PolicyCaseResult> results)
    {
        o.WriteLine($"policy test {cases.Source} against {policy.Document.Source} ({policy.Hash})");
        foreach (PolicyCaseResult r in results)
        {
            PolicyCase c = r.Case;
            if (r.Passed)
            {
                o.WriteLine($"pass  {c.Name}: {Code(r.Actual.Code, r.Actual.Rule)}");
                continue;
            }
            o.WriteLine($"FAIL  {c.Name}: expected {Code(c.ExpectedCode, c.ExpectedRule)}, " +
                $"got {Code(r.Actual.Code, r.Actual.Rule)}");
            o.WriteLine($"        case      {cases.Source}:{c.Line}");
            o.WriteLine($"        request   {c.Owner} → {c.Recipient}: {PolicyExplainer.AccessName(c.Access)} for " +
                $"{Purposes.Name(c.Purpose)}, {(c.Documented ? "documented" : "undocumented")}, " +
                $"at {c.AtText}");
            o.WriteLine($"      - expected  {DecisionCodes.Text(c.ExpectedCode)} — rule {c.ExpectedRule}");
            o.WriteLine($"      + actual    {DecisionCodes.Text(r.Actual.Code)} — rule {r.Actual.Rule}");
            o.WriteLine($"        citation  {r.Actual.Citation}");
            if (r.DecidingStep is { } s)
            {
                o.WriteLine($"        decided   step {s.Step} ({s.Kind}) {s.Rule}: {s.Detail}");
            }
        }
        o.WriteLine();
        o.WriteLine($"summary: {results.Count} cases, {results.Count(r => r.Passed)} passed, " +
            $"{results.Count(r => !r.Passed)} failed");
    }

    private static string Code(DecisionCode code, string rule) => $"{DecisionCodes.Text(code)} ({rule})";
}
