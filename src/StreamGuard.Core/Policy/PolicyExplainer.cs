using StreamGuard.Engine;
using StreamGuard.Events;

namespace StreamGuard.Policy;

/// <summary>How one evaluation step of <see cref="PolicyExplainer"/> came out.</summary>
public enum StepOutcome : byte
{
    /// <summary>The step does not apply to this request (for example the recipient is not the owner).</summary>
    NotApplicable,
    /// <summary>The rule was checked and does not deny.</summary>
    Pass,
    /// <summary>The rule denies (the first failing rule decides).</summary>
    Fail,
    /// <summary>This step grants the request.</summary>
    Allow,
}

/// <summary>
/// One step of an explanation: which rule, what it said, and the law it rests on. <see cref="Reached"/> is false for
/// steps after the one that decided (shown for completeness); <see cref="Decides"/> marks the deciding step.
/// </summary>
public sealed record ExplainStep(
    int Step, string Kind, string Rule, StepOutcome Outcome, string Detail, string Citation, string? Status,
    bool Confirmed)
{
    public bool Reached { get; init; } = true;
    public bool Decides { get; init; }
}

/// <summary>An explained decision: every step in evaluation order and the decision itself.</summary>
public sealed record Explanation(IReadOnlyList<ExplainStep> Steps, Decision Decision);

/// <summary>
/// <c>policy explain</c>: walks the evaluation order of SPEC §3 for one request and says, for every statute rule,
/// local rule and agreement that could apply, whether it passes or fails, with citation and status.
/// </summary>
/// <remarks>
/// Evaluates from the policy document and <see cref="StatuteRules.Denies"/> (the reference), not from the compiled
/// tables; the decision it reports is the compiled <see cref="CompiledPolicy.Decide"/>, and tests hold the two equal.
/// </remarks>
public static class PolicyExplainer
{
    public static Explanation Explain(CompiledPolicy policy, int owner, int recipient, Access access, Purpose purpose,
        bool documented, long nowMs)
    {
        var steps = new List<ExplainStep>();
        AgencyConfig o = policy.Agency(owner), r = policy.Agency(recipient);
        Decision decision = policy.Decide(owner, recipient, access, purpose, documented, nowMs);
        bool decided = false;

        if (owner == recipient)
        {
            steps.Add(new(1, "own", CompiledPolicy.OwnRule, StepOutcome.Allow, $"{r.Id} is the owner of the reads",
                CompiledPolicy.OwnCitation, null, true) { Decides = true });
            decided = true;
        }
        else
        {
            steps.Add(new(1, "own", CompiledPolicy.OwnRule, StepOutcome.NotApplicable,
                $"{r.Id} is not the owner ({o.Id})", CompiledPolicy.OwnCitation, null, true));
        }

        var facts = AgencyFacts.Of(r);
        StatuteRule[] statutes = StatuteRules.ForState(o.State);
        if (statutes.Length == 0)
        {
            steps.Add(new(2, "statute", "-", StepOutcome.NotApplicable,
                $"no statute rule protects owners in {o.State ?? "no state (federal)"}", "", null, true)
            {
                Reached = !decided,
            });
        }
        foreach (StatuteRule rule in statutes)
        {
            bool denies = StatuteRules.Denies(rule, facts, access, purpose, documented);
            steps.Add(new(2, "statute", rule.Id, denies ? StepOutcome.Fail : StepOutcome.Pass,
                StatuteDetail(rule, o, r, purpose, denies), rule.Citation, rule.Status, rule.Confirmed)
            {
                Reached = !decided, Decides = !decided && denies,
            });
            if (denies) decided = true;
        }

        int localCount = 0;
        foreach (LocalRuleConfig rule in policy.Document.Rules)
        {
            if (!rule.Owners.Contains(o.Id)) continue;
            localCount++;
            bool purposeHit = rule.DenyPurposes == 0 || (rule.DenyPurposes & (1 << (int)purpose)) != 0;
            bool accessHit = rule.DenyAccess == AccessSet.None
                || (rule.DenyAccess & (AccessSet)(1 << (int)access)) != 0;
            bool recipientHit = rule.DenyRecipients.Count == 0 || rule.DenyRecipients.Contains(r.Id);
            bool denies = owner != recipient && purposeHit && accessHit && recipientHit;
            string detail = denies
                ? $"denies {Purposes.Name(purpose)} / {AccessName(access)} to {r.Id}"
                : !purposeHit ? $"denies other purposes, not {Purposes.Name(purpose)}"
                : !accessHit ? $"denies other accesses, not {AccessName(access)}"
                : !recipientHit ? $"denies other recipients, not {r.Id}"
                : "does not apply to an owner's own reads";
            steps.Add(new(3, "local", rule.Id, denies ? StepOutcome.Fail : StepOutcome.Pass, detail, rule.Citation,
                null, true)
            {
                Reached = !decided, Decides = !decided && denies,
            });
            if (denies) decided = true;
        }
        if (localCount == 0)
        {
            steps.Add(new(3, "local", "-", StepOutcome.NotApplicable, $"no local rule for {o.Id}", "", null, true)
            {
                Reached = !decided,
            });
        }

        int agreementCount = 0;
        foreach (AgreementConfig a in policy.AgreementsFor(owner, recipient))
        {
            agreementCount++;
            bool accessOk = (a.Access & (AccessSet)(1 << (int)access)) != 0;
            bool purposeOk = (a.Purposes & (1 << (int)purpose)) != 0;
            bool live = a.ExpiresAtMs is not { } e || nowMs < e;
            bool grants = accessOk && purposeOk && live;
            string detail = !accessOk ? $"does not grant {AccessName(access)}"
                : !purposeOk ? $"does not grant the purpose {Purposes.Name(purpose)}"
                : !live ? $"expired ({a.ExpiresText})"
                : $"grants {AccessName(access)} for {Purposes.Name(purpose)}"
                    + (a.ExpiresText is null ? "" : $" until {a.ExpiresText}");
            steps.Add(new(4, "agreement", a.Id, grants ? StepOutcome.Allow : StepOutcome.Fail, detail,
                a.Citation ?? $"{policy.Document.Source}:{a.Line}", null, true)
            {
                Reached = !decided, Decides = !decided && grants,
            });
            if (grants) decided = true;
        }
        if (agreementCount > 0 && !decided)
        {
            // No agreement grants: the decision cites the most specific denial among them; that step decides.
            int cited = steps.FindIndex(st => st.Kind == "agreement" && st.Rule == decision.Rule);
            if (cited >= 0) steps[cited] = steps[cited] with { Decides = true };
            decided = true;
        }
        if (agreementCount == 0 && owner != recipient)
        {
            steps.Add(new(4, "agreement", CompiledPolicy.DefaultDenyRule, StepOutcome.Fail,
                $"no agreement names both {o.Id} and {r.Id}", CompiledPolicy.DefaultDenyCitation, null, true)
            {
                Reached = !decided, Decides = !decided,
            });
        }
        return new Explanation(steps, decision);
    }

    public static string AccessName(Access access) => access switch
    {
        Access.Push => "push",
        Access.Search => "search",
        _ => "alert",
    };

    private static string Describe(AgencyConfig a) =>
        a.Level == AgencyLevel.Federal
            ? $"{a.Id} (federal)"
            : $"{a.Id} ({a.State}, {a.Level.ToString().ToLowerInvariant()})";

    private static string StatuteDetail(StatuteRule rule, AgencyConfig owner, AgencyConfig recipient, Purpose purpose,
        bool denies)
    {
        string who = Describe(recipient);
        string p = Purposes.Name(purpose);
        return rule.Check switch
        {
            StatuteCheck.PublicAgencyOfOwnerState => denies
                ? $"{who} is not a public agency of {rule.State}" : $"{who} is a public agency of {rule.State}",
            StatuteCheck.ForbiddenPurposes => denies ? $"purpose {p} is forbidden" : $"purpose {p} is not forbidden",
            StatuteCheck.AllowedPurposesOnly => denies
                ? $"purpose {p} is not one the statute allows" : $"purpose {p} is allowed",
            StatuteCheck.InStateOrDeclaration => denies
                ? $"{who} is outside {rule.State} and has no declaration {rule.Declaration} on file"
                : recipient.State == rule.State
                    ? $"{who} is in {rule.State}"
                    : $"{who} has declaration {rule.Declaration} on file",
            StatuteCheck.PublicAgencyOfOwnerStateOrPurpose => denies
                ? $"{who} is not a public agency of {rule.State} and {p} is not an allowed out-of-state purpose"
                : AgencyFacts.Of(recipient).IsPublicAgencyOf(rule.State!)
                    ? $"{who} is a public agency of {rule.State}"
                    : $"{p} is an allowed out-of-state purpose",
            StatuteCheck.FusionCenterOnly => denies
                ? $"{who} is not {rule.State}'s fusion center" : $"{who} is {rule.State}'s fusion center",
            StatuteCheck.InStateOrNeighbourWithDeclaration => denies
                ? $"{who} is outside {rule.State} and not an agency of {string.Join('/', rule.States)} " +
                    $"with declaration {rule.Declaration}"
                : $"{who} is in {rule.State}, or a neighbour with declaration {rule.Declaration}",
            StatuteCheck.DocumentedSearch => denies
                ? "a search needs a case number and a reason" : "documented (case number and reason), or not a search",
            _ => denies ? "denies" : "passes",
        };
    }
}
