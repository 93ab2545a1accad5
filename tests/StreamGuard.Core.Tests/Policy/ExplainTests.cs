using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Tests.Policy;

/// <summary>
/// <c>policy explain</c> against the compiled decision, and the compiled statute tables against the reference
/// <see cref="StatuteRules.Denies"/>.
/// </summary>
public sealed class ExplainTests
{
    private const int Seed = 0x0E_C5_1A;
    private static readonly Access[] s_accesses = [Access.Push, Access.Search, Access.Alert];
    private static readonly bool[] s_documented = [true, false];
    private static readonly Dictionary<string, StatuteRule> s_rules =
        StatuteRules.All.ToDictionary(r => r.Id, StringComparer.Ordinal);

    private static CompiledPolicy Compile(string yaml) =>
        new(PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml", "."));

    private static IEnumerable<int> ActiveAgencies(CompiledPolicy p) =>
        Enumerable.Range(0, p.Agencies.Count).Where(p.Agencies.IsActive);

    /// <summary>The step a decision comes from: its number and its outcome.</summary>
    private static (int Step, StepOutcome Outcome) DecidingStep(DecisionCode code) => code switch
    {
        DecisionCode.AllowOwn => (1, StepOutcome.Allow),
        DecisionCode.DenyStatute => (2, StepOutcome.Fail),
        DecisionCode.DenyLocal => (3, StepOutcome.Fail),
        DecisionCode.AllowAgreement => (4, StepOutcome.Allow),
        _ => (4, StepOutcome.Fail),
    };

    private static void CheckExplanation(CompiledPolicy p, int o, int r, Access access, Purpose purpose,
        bool documented, long now, string context, bool agreementDenials)
    {
        Decision d = p.Decide(o, r, access, purpose, documented, now);
        Explanation x = PolicyExplainer.Explain(p, o, r, access, purpose, documented, now);
        string where = $"{p.Agencies.IdText(o)} → {p.Agencies.IdText(r)} {access} {purpose} " +
            $"documented={documented}: {DecisionCodes.Text(d.Code)} {d.Rule}\n{context}";
        if (x.Decision != d) Assert.Fail($"explain says {x.Decision}, decide says {d}: {where}");

        bool agreementDenial = d.Code is DecisionCode.DenyAgreementExpired or DecisionCode.DenyPurposeNotGranted
            or DecisionCode.DenyAccessNotGranted;
        if (agreementDenial != agreementDenials) return;

        var deciding = x.Steps.Where(s => s.Decides).ToList();
        if (deciding.Count != 1) Assert.Fail($"{deciding.Count} steps marked Decides: {where}");
        ExplainStep step = deciding[0];
        (int number, StepOutcome outcome) = DecidingStep(d.Code);
        if (step.Rule != d.Rule || step.Step != number || step.Outcome != outcome || !step.Reached)
        {
            Assert.Fail($"deciding step is {step.Step} {step.Rule} {step.Outcome} reached={step.Reached}: {where}");
        }
        // Steps up to the deciding one were reached, those after it were not; steps come in evaluation order.
        int at = 0;
        while (!ReferenceEquals(x.Steps[at], step)) at++;
        for (int i = 0; i < x.Steps.Count; i++)
        {
            // The "-" placeholders (no statute, no local rule for this owner) are checked by their own test.
            if (x.Steps[i].Rule == "-") continue;
            // An agreement denial weighs every agreement naming the pair (the most specific one is cited): all reached.
            bool reached = i <= at || (agreementDenial && x.Steps[i].Step == 4);
            if (x.Steps[i].Reached != reached)
            {
                Assert.Fail($"step {i} ({x.Steps[i].Rule}) reached={x.Steps[i].Reached}: {where}");
            }
            if (i > 0 && x.Steps[i].Step < x.Steps[i - 1].Step) Assert.Fail($"steps out of order: {where}");
        }
        // Every statute step states the rule's confirmation status and agrees with the reference.
        AgencyFacts facts = AgencyFacts.Of(p.Agency(r));
        foreach (ExplainStep s in x.Steps.Where(s => s.Kind == "statute" && s.Rule != "-"))
        {
            StatuteRule rule = s_rules[s.Rule];
            Assert.Equal(p.Agency(o).State, rule.State);
            Assert.Equal(rule.Confirmed, s.Confirmed);
            Assert.Equal(rule.Status, s.Status);
            Assert.Equal(rule.Citation, s.Citation);
            StepOutcome expected =
                StatuteRules.Denies(rule, facts, access, purpose, documented) ? StepOutcome.Fail : StepOutcome.Pass;
            Assert.Equal(expected, s.Outcome);
        }
    }

    private static void ForEveryRequest(int policies, int seed,
        Action<CompiledPolicy, int, int, Access, Purpose, bool, long, string> check)
    {
        var rng = new Random(seed);
        for (int i = 0; i < policies; i++)
        {
            RandomPolicy model = RandomPolicies.Generate(rng);
            if (rng.Next(2) == 0) model = RandomPolicies.Mutate(model, rng);
            CompiledPolicy p = model.Compile();
            string yaml = model.ToYaml();
            foreach (int o in ActiveAgencies(p))
            {
                foreach (int r in ActiveAgencies(p))
                {
                    foreach (Access access in s_accesses)
                    {
                        for (int purpose = 0; purpose < Purposes.Count; purpose++)
                        {
                            foreach (bool documented in s_documented)
                            {
                                check(p, o, r, access, (Purpose)purpose, documented, RandomPolicies.NowMs, yaml);
                            }
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void OnRandomPoliciesTheExplanationGivesTheCompiledDecisionAndMarksTheStepThatDecides()
    {
        ForEveryRequest(24, Seed, (p, o, r, a, purpose, documented, now, yaml) =>
            CheckExplanation(p, o, r, a, purpose, documented, now, yaml, agreementDenials: false));
    }

    [Fact]
    public void OnRandomPoliciesAnAgreementDenialMarksTheCitedAgreementAsDeciding()
    {
        ForEveryRequest(24, Seed, (p, o, r, a, purpose, documented, now, yaml) =>
            CheckExplanation(p, o, r, a, purpose, documented, now, yaml, agreementDenials: true));
    }

    [Fact]
    public void PlaceholderStepsAfterTheDecidingStepAreNotReached()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: ca-lapd, state: CA, level: local}
              - {id: us-fbi, level: federal}
            """);
        int tx = p.Agencies.Find("tx-hpd"), ca = p.Agencies.Find("ca-lapd"), fbi = p.Agencies.Find("us-fbi");
        // Own access of an owner without statutes or local rules: steps 2 and 3 come after the decision.
        Explanation own = PolicyExplainer.Explain(p, tx, tx, Access.Search, Purpose.Warrant, true, 0);
        Assert.Equal(DecisionCode.AllowOwn, own.Decision.Code);
        Assert.All(own.Steps.Where(s => s.Step > 1), s => Assert.False(s.Reached, $"step {s.Step} {s.Rule}"));
        // A statute denial: the local-rule placeholder comes after it.
        Explanation statute = PolicyExplainer.Explain(p, ca, fbi, Access.Search, Purpose.Warrant, true, 0);
        Assert.Equal(DecisionCode.DenyStatute, statute.Decision.Code);
        Assert.All(statute.Steps.Where(s => s.Step > 2), s => Assert.False(s.Reached, $"step {s.Step} {s.Rule}"));
    }

    [Fact]
    public void TheExplanationOfAnAgreementDenialNamesEachAgreementAndWhatItLacks()
    {
        const string cOld = "{id: c-old, owners: [tx-hpd], recipients: [tx-dps], access: [search], " +
            "purposes: [warrant], expires: 2026-01-31}";
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
            agreements:
              - {id: a-push, owners: [tx-hpd], recipients: [tx-dps], access: [push], purposes: [warrant]}
              - {id: b-other, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [other]}
              - {{cOld}}
            """);
        int o = p.Agencies.Find("tx-hpd"), r = p.Agencies.Find("tx-dps");
        Explanation x = PolicyExplainer.Explain(p, o, r, Access.Search, Purpose.Warrant, true, RandomPolicies.NowMs);
        Assert.Equal(new Decision(DecisionCode.DenyAgreementExpired, "c-old", "Agreement c-old (test.yaml:8)"),
            x.Decision);
        var agreements = x.Steps.Where(s => s.Kind == "agreement").ToList();
        Assert.Equal(["a-push", "b-other", "c-old"], agreements.Select(s => s.Rule));
        Assert.All(agreements, s => Assert.Equal(StepOutcome.Fail, s.Outcome));
        Assert.Equal("does not grant search", agreements[0].Detail);
        Assert.Equal("does not grant the purpose warrant", agreements[1].Detail);
        Assert.Equal("expired (2026-01-31)", agreements[2].Detail);
    }

    [Fact]
    public void UnconfirmedWashingtonAndConnecticutRulesAreMarkedInTheSteps()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: wa-spd, state: WA, level: local}
              - {id: ct-npd, state: CT, level: local}
              - {id: ca-lapd, state: CA, level: local}
              - {id: us-ice-ero, level: federal}
            """);
        int ice = p.Agencies.Find("us-ice-ero");
        Explanation wa = PolicyExplainer.Explain(p, p.Agencies.Find("wa-spd"), ice, Access.Search,
            Purpose.ImmigrationEnforcement, true, 0);
        Assert.Equal(new Decision(DecisionCode.DenyStatute, "WA.IMMIGRATION", "Wash. SB 6002 (2026)"), wa.Decision);
        var waSteps = wa.Steps.Where(s => s.Kind == "statute").ToList();
        Assert.Equal(["WA.IMMIGRATION", "WA.OUT_OF_STATE"], waSteps.Select(s => s.Rule));
        Assert.All(waSteps, s => Assert.False(s.Confirmed));
        Assert.All(waSteps, s => Assert.Equal("signature unconfirmed", s.Status));
        Assert.True(waSteps[0].Decides);
        Assert.False(waSteps[1].Reached);

        Explanation ct = PolicyExplainer.Explain(p, p.Agencies.Find("ct-npd"), ice, Access.Search,
            Purpose.ReproductiveHealth, true, 0);
        var ctSteps = ct.Steps.Where(s => s.Kind == "statute").ToList();
        Assert.Equal(["CT.OUT_OF_STATE", "CT.FORBIDDEN_PURPOSE"], ctSteps.Select(s => s.Rule));
        Assert.All(ctSteps, s => Assert.False(s.Confirmed));
        Assert.All(ctSteps, s => Assert.Equal("details unconfirmed", s.Status));
        Assert.Equal("CT.OUT_OF_STATE", Assert.Single(ct.Steps, s => s.Decides).Rule);

        Explanation ca = PolicyExplainer.Explain(p, p.Agencies.Find("ca-lapd"), ice, Access.Search,
            Purpose.ImmigrationEnforcement, true, 0);
        Assert.All(ca.Steps, s => Assert.True(s.Confirmed));
        Assert.Equal("CA.PUBLIC_AGENCY_ONLY", Assert.Single(ca.Steps, s => s.Decides).Rule);
    }

    [Fact]
    public void OwnAccessIsExplainedAsStepOneAndNothingAfterItIsReached()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: md-bpd, state: MD, level: local}
            rules:
              - {id: md-rule, owners: [md-bpd], deny_purposes: [other], citation: "x"}
            """);
        int md = p.Agencies.Find("md-bpd");
        Explanation x = PolicyExplainer.Explain(p, md, md, Access.Search, Purpose.Other, false, 0);
        Assert.Equal(DecisionCode.AllowOwn, x.Decision.Code);
        ExplainStep own = Assert.Single(x.Steps, s => s.Decides);
        Assert.Equal((1, CompiledPolicy.OwnRule, StepOutcome.Allow), (own.Step, own.Rule, own.Outcome));
        Assert.All(x.Steps.Skip(1), s => Assert.False(s.Reached));
        Assert.DoesNotContain(x.Steps, s => s.Kind == "agreement");
    }

    // ---- compiled statute tables against the reference --------------------------------------------------------

    private static readonly string[] s_recipientStates =
        ["CA", "IL", "VA", "WA", "OR", "MD", "CT", "MN", "MA", "NY", "RI", "NJ", "TX"];
    private static readonly string[] s_nonFederalLevels = ["local", "county", "state", "tribal", "private"];
    private static readonly string[][] s_declarationSets =
        [[], ["IL-625-ILCS-5/2-130"], ["CT-PA-26-14"], ["IL-625-ILCS-5/2-130", "CT-PA-26-14"]];

    /// <summary>
    /// Every state × level × declarations of <see cref="s_recipientStates"/> (and the fusion flag where it may be set:
    /// Maryland's state level), and federal agencies.
    /// </summary>
    private static string ManyAgenciesYaml()
    {
        var sb = new StringBuilder("version: 1\nagencies:\n");
        int n = 0;
        foreach (string[] declarations in s_declarationSets)
        {
            string decl = $"[{string.Join(", ", declarations)}]";
            sb.Append($"  - {{id: fed-{n++}, level: federal, declarations: {decl}}}\n");
            foreach (string state in s_recipientStates)
            {
                foreach (string level in s_nonFederalLevels)
                {
                    sb.Append($"  - {{id: a-{n++}, state: {state}, level: {level}, declarations: {decl}}}\n");
                    if (state == "MD" && level == "state") // the flag is refused anywhere else
                    {
                        sb.Append($"  - {{id: a-{n++}, state: {state}, level: {level}, declarations: {decl}, " +
                            "fusion_center: true}\n");
                    }
                }
            }
        }
        return sb.ToString();
    }

    [Fact]
    public void EveryStatuteRuleDecidesExactlyAsTheReferenceSays()
    {
        CompiledPolicy p = Compile(ManyAgenciesYaml());
        var decided = new Dictionary<string, int>(StringComparer.Ordinal);
        var passed = new Dictionary<string, int>(StringComparer.Ordinal);
        int[] agencies = [.. ActiveAgencies(p)];
        // Owners: one agency of every level in every state with a rule pack (owner level does not matter to statutes).
        int[] owners =
        [
            .. agencies.Where(a => p.Agency(a).State is "CA" or "IL" or "VA" or "WA" or "OR" or "MD" or "CT" or "MN"
                && p.Agency(a).Declarations.Count == 0 && !p.Agency(a).FusionCenter),
        ];
        Assert.Equal(8 * s_nonFederalLevels.Length, owners.Length);
        foreach (int o in owners)
        {
            StatuteRule[] rules = StatuteRules.ForState(p.Agency(o).State);
            Assert.NotEmpty(rules);
            foreach (int r in agencies)
            {
                AgencyFacts facts = AgencyFacts.Of(p.Agency(r));
                foreach (Access access in s_accesses)
                {
                    for (int purpose = 0; purpose < Purposes.Count; purpose++)
                    {
                        foreach (bool documented in s_documented)
                        {
                            Decision d = p.Decide(o, r, access, (Purpose)purpose, documented, 0);
                            if (o == r)
                            {
                                Assert.Equal(DecisionCode.AllowOwn, d.Code);
                                continue;
                            }
                            StatuteRule? first = rules.FirstOrDefault(k =>
                                StatuteRules.Denies(k, facts, access, (Purpose)purpose, documented));
                            foreach (StatuteRule k in rules.TakeWhile(k => k != first))
                            {
                                passed[k.Id] = passed.GetValueOrDefault(k.Id) + 1;
                            }
                            if (first is null)
                            {
                                if (d.Code != DecisionCode.DenyNoAgreement || d.Rule != CompiledPolicy.DefaultDenyRule)
                                {
                                    Assert.Fail($"{p.Agencies.IdText(o)} → {p.Agencies.IdText(r)} {access} " +
                                        $"{(Purpose)purpose} {documented}: reference allows, compiled says {d}");
                                }
                            }
                            else
                            {
                                if (d != new Decision(DecisionCode.DenyStatute, first.Id, first.Citation))
                                {
                                    Assert.Fail($"{p.Agencies.IdText(o)} → {p.Agencies.IdText(r)} {access} " +
                                        $"{(Purpose)purpose} {documented}: reference {first.Id}, compiled says {d}");
                                }
                                decided[first.Id] = decided.GetValueOrDefault(first.Id) + 1;
                            }
                        }
                    }
                }
            }
        }
        // Each rule both decided some requests and let others through.
        Assert.All(StatuteRules.All, k => Assert.True(decided.GetValueOrDefault(k.Id) > 0, $"{k.Id} never decided"));
        Assert.All(StatuteRules.All, k => Assert.True(passed.GetValueOrDefault(k.Id) > 0, $"{k.Id} never passed"));
    }

    [Fact]
    public void TheReferenceMatchesPartAForRecipientFactsThatMatter()
    {
        StatuteRule Rule(string id) => StatuteRules.All.Single(r => r.Id == id);
        AgencyFacts Facts(string? state, AgencyLevel level, bool fusion = false, params string[] declarations) =>
            new(state, level, fusion, declarations);

        // "Public agency of ST": local, county or state of ST; never tribal, private or federal.
        foreach (AgencyLevel level in Enum.GetValues<AgencyLevel>())
        {
            bool isPublic = level is AgencyLevel.Local or AgencyLevel.County or AgencyLevel.State;
            Assert.Equal(!isPublic, StatuteRules.Denies(Rule("CA.PUBLIC_AGENCY_ONLY"),
                Facts(level == AgencyLevel.Federal ? null : "CA", level), Access.Search, Purpose.Warrant, true));
            Assert.Equal(!isPublic, StatuteRules.Denies(Rule("VA.IN_STATE_ONLY"),
                Facts(level == AgencyLevel.Federal ? null : "VA", level), Access.Search, Purpose.Warrant, true));
            Assert.Equal(!isPublic, StatuteRules.Denies(Rule("WA.OUT_OF_STATE"),
                Facts(level == AgencyLevel.Federal ? null : "WA", level), Access.Search, Purpose.Warrant, true));
        }
        // A declaration does not open California or Virginia.
        Assert.True(StatuteRules.Denies(Rule("CA.PUBLIC_AGENCY_ONLY"),
            Facts("NV", AgencyLevel.Local, false, "IL-625-ILCS-5/2-130", "CT-PA-26-14"), Access.Search, Purpose.Warrant,
            true));
        // Illinois: the declaration opens any out-of-state agency, federal included.
        Assert.False(StatuteRules.Denies(Rule("IL.DECLARATION_REQUIRED"),
            Facts(null, AgencyLevel.Federal, false, "IL-625-ILCS-5/2-130"), Access.Search, Purpose.Warrant, true));
        Assert.True(StatuteRules.Denies(Rule("IL.DECLARATION_REQUIRED"),
            Facts(null, AgencyLevel.Federal, false, "CT-PA-26-14"), Access.Search, Purpose.Warrant, true));
        // Maryland: only an MD agency with the fusion-center flag.
        Assert.False(StatuteRules.Denies(Rule("MD.NO_SHARING"),
            Facts("MD", AgencyLevel.State, true), Access.Push, Purpose.Other, true));
        Assert.True(StatuteRules.Denies(Rule("MD.NO_SHARING"),
            Facts("VA", AgencyLevel.State, true), Access.Push, Purpose.Other, true));
        Assert.True(StatuteRules.Denies(Rule("MD.NO_SHARING"),
            Facts("MD", AgencyLevel.State), Access.Push, Purpose.Other, true));
        // Connecticut: MA, NY, RI with the CT declaration.
        foreach (string state in (string[])["MA", "NY", "RI"])
        {
            Assert.False(StatuteRules.Denies(Rule("CT.OUT_OF_STATE"),
                Facts(state, AgencyLevel.Local, false, "CT-PA-26-14"), Access.Search, Purpose.Warrant, true));
            Assert.True(StatuteRules.Denies(Rule("CT.OUT_OF_STATE"),
                Facts(state, AgencyLevel.Local), Access.Search, Purpose.Warrant, true));
        }
        Assert.True(StatuteRules.Denies(Rule("CT.OUT_OF_STATE"),
            Facts("VT", AgencyLevel.Local, false, "CT-PA-26-14"), Access.Search, Purpose.Warrant, true));
        // Minnesota: only an undocumented search.
        Assert.True(StatuteRules.Denies(Rule("MN.DOCUMENTED_PURPOSE"),
            Facts("MN", AgencyLevel.Local), Access.Search, Purpose.Warrant, false));
        Assert.False(StatuteRules.Denies(Rule("MN.DOCUMENTED_PURPOSE"),
            Facts("MN", AgencyLevel.Local), Access.Alert, Purpose.Warrant, false));
        Assert.False(StatuteRules.Denies(Rule("MN.DOCUMENTED_PURPOSE"),
            Facts("MN", AgencyLevel.Local), Access.Search, Purpose.Warrant, true));
    }
}
