using StreamGuard.Engine;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// What <c>streamguard policy explain</c> prints: the request, each evaluation step with its outcome, rule and
/// citation, and the decision.
/// </summary>
internal static class PolicyExplainWriter
{
    public static void Write(TextWriter o, CompiledPolicy policy, Explanation x, int owner, int recipient,
        Access access, string purposeText, bool documented, long at)
    {
        o.WriteLine($"owner      {Describe(policy.Agency(owner))}");
        o.WriteLine($"recipient  {Describe(policy.Agency(recipient))}");
        o.WriteLine($"request    {PolicyExplainer.AccessName(access)} for {purposeText}, " +
            $"{(documented ? "documented (case number and reason)" : "undocumented")}, " +
            $"at {DateTimeOffset.FromUnixTimeMilliseconds(at):yyyy-MM-ddTHH:mm:ssZ}");
        o.WriteLine($"policy     {policy.Hash}");
        o.WriteLine();
        o.WriteLine("step  kind       rule                       result   detail");
        foreach (ExplainStep s in x.Steps)
        {
            string result = s.Outcome switch
            {
                StepOutcome.NotApplicable => "n/a",
                StepOutcome.Pass => "pass",
                StepOutcome.Fail => "FAIL",
                _ => "ALLOW",
            };
            if (!s.Reached) result = $"({result.ToLowerInvariant()})";
            if (s.Decides) result += " ←";
            o.WriteLine($"{s.Step,-5} {s.Kind,-10} {s.Rule,-26} {result,-8} {s.Detail}");
            if (s.Citation.Length > 0)
            {
                string status = s.Status is null ? ""
                    : s.Confirmed ? $" [{s.Status}]"
                    : $" [⚠ {s.Status}: not confirmed enacted]";
                o.WriteLine($"{"",-52} {s.Citation}{status}");
            }
        }
        o.WriteLine();
        o.WriteLine("(parenthesised results come after the deciding step and did not take part in the decision)");
        o.WriteLine($"decision   {(x.Decision.Allowed ? "ALLOW" : "DENY")} {DecisionCodes.Text(x.Decision.Code)} " +
            $"— rule {x.Decision.Rule}");
        o.WriteLine($"citation   {x.Decision.Citation}");
    }

    private static string Describe(AgencyConfig a) =>
        $"{a.Id}{(a.Name is null ? "" : $" — {a.Name}")} " +
        $"({(a.State is null ? "" : a.State + ", ")}{a.Level.ToString().ToLowerInvariant()}" +
        $"{(a.Declarations.Count > 0 ? ", declarations " + string.Join(' ', a.Declarations) : "")}" +
        $"{(a.FusionCenter ? ", fusion center" : "")})";
}
