using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Policy;

/// <summary>
/// The evaluation order of SPEC §3: own, statutes, local rules, agreements, and the most specific denial.
/// </summary>
public sealed class EvaluationOrderTests
{
    private static readonly Access[] s_accesses = [Access.Push, Access.Search, Access.Alert];

    private static CompiledPolicy Compile(string yaml) =>
        new(PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml", "."));

    private static long Ms(string instant) =>
        DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    private static readonly long s_now = Ms("2026-06-01T12:00:00Z");

    private static Decision Decide(CompiledPolicy p, string owner, string recipient, Access access, Purpose purpose,
        long? nowMs = null, bool documented = true)
    {
        int o = p.Agencies.Find(owner), r = p.Agencies.Find(recipient);
        Assert.True(o >= 0, owner);
        Assert.True(r >= 0, recipient);
        return p.Decide(o, r, access, purpose, documented, nowMs ?? s_now);
    }

    private static void AssertDecision(Decision d, DecisionCode code, string rule, string? citation = null)
    {
        Assert.Equal(code, d.Code);
        Assert.Equal(rule, d.Rule);
        if (citation is not null) Assert.Equal(citation, d.Citation);
        Assert.Equal(code is DecisionCode.AllowOwn or DecisionCode.AllowAgreement, d.Allowed);
    }

    private static string Citation(string statute) => StatuteRules.All.Single(r => r.Id == statute).Citation;

    // ---- 1. own beats statute ------------------------------------------------------------------------------------

    [Fact]
    public void OwnReadsOfAMarylandAgencyAreAllowedForEveryPurposeAndAccess()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: md-bpd, state: MD, level: local}
              - {id: md-mcac, state: MD, level: state, fusion_center: true}
            rules:
              - id: md-local
                owners: [md-bpd]
                deny_purposes: [other]
                citation: "Baltimore local rule"
            """);
        foreach (Access access in s_accesses)
        {
            foreach (Purpose purpose in Enum.GetValues<Purpose>())
            {
                foreach (bool documented in (bool[])[true, false])
                {
                    AssertDecision(Decide(p, "md-bpd", "md-bpd", access, purpose, documented: documented),
                        DecisionCode.AllowOwn, CompiledPolicy.OwnRule, CompiledPolicy.OwnCitation);
                }
            }
        }
    }

    [Fact]
    public void OwnReadsOfAnUndocumentedMinnesotaSearchAreAllowed()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: mn-mpd, state: MN, level: local}
            """);
        AssertDecision(Decide(p, "mn-mpd", "mn-mpd", Access.Search, Purpose.Other, documented: false),
            DecisionCode.AllowOwn, CompiledPolicy.OwnRule);
    }

    // ---- 2-4. statute beats local rule beats agreement --------------------------------------------------------

    /// <summary>Every purpose, as a YAML flow sequence.</summary>
    private const string LayeredYaml = $$"""
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: ca-lasd, state: CA, level: county}
          - {id: ca-chp, state: CA, level: state}
          - {id: us-fbi, level: federal}
        agreements:
          - id: everything
            owners: [ca-lapd]
            recipients: [ca-lasd, ca-chp, us-fbi]
            access: [push, search, alert]
            purposes: {{TestPolicy.AllPurposes}}
            citation: "MOU 2026-17"
        rules:
          - id: la-no-fbi
            owners: [ca-lapd]
            deny_recipients: [us-fbi]
            citation: "LA council resolution 1"
          - id: la-no-civil
            owners: [ca-lapd]
            deny_purposes: [civil_enforcement]
            citation: "Los Angeles Administrative Code Ch. 4.1"
        """;

    [Fact]
    public void StatuteBeatsLocalRuleAndAgreement()
    {
        CompiledPolicy p = Compile(LayeredYaml);
        foreach (Access access in s_accesses)
        {
            foreach (Purpose purpose in Enum.GetValues<Purpose>())
            {
                // The federal recipient is named by the agreement and by a local rule; the statute still decides.
                AssertDecision(Decide(p, "ca-lapd", "us-fbi", access, purpose),
                    DecisionCode.DenyStatute, "CA.PUBLIC_AGENCY_ONLY", Citation("CA.PUBLIC_AGENCY_ONLY"));
            }
            // An in-state recipient, immigration: the Values Act decides before the agreement that grants it.
            AssertDecision(Decide(p, "ca-lapd", "ca-lasd", access, Purpose.ImmigrationEnforcement),
                DecisionCode.DenyStatute, "CA.VALUES_ACT", Citation("CA.VALUES_ACT"));
        }
    }

    [Fact]
    public void LocalRuleBeatsAgreement()
    {
        CompiledPolicy p = Compile(LayeredYaml);
        foreach (Access access in s_accesses)
        {
            AssertDecision(Decide(p, "ca-lapd", "ca-lasd", access, Purpose.CivilEnforcement),
                DecisionCode.DenyLocal, "la-no-civil", "Los Angeles Administrative Code Ch. 4.1");
            AssertDecision(Decide(p, "ca-lapd", "ca-chp", access, Purpose.CivilEnforcement),
                DecisionCode.DenyLocal, "la-no-civil", "Los Angeles Administrative Code Ch. 4.1");
            AssertDecision(Decide(p, "ca-lapd", "ca-lasd", access, Purpose.StolenVehicle),
                DecisionCode.AllowAgreement, "everything", "MOU 2026-17");
        }
    }

    [Fact]
    public void TheFirstLocalRuleThatDeniesIsCited()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
            agreements:
              - {id: tx-share, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [other, warrant]}
            rules:
              - {id: first, owners: [tx-hpd], deny_access: [search], deny_purposes: [other], citation: "first rule"}
              - {id: second, owners: [tx-hpd], deny_purposes: [other, warrant], citation: "second rule"}
            """);
        AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Search, Purpose.Other),
            DecisionCode.DenyLocal, "first", "first rule");
        AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Search, Purpose.Warrant),
            DecisionCode.DenyLocal, "second", "second rule");
        AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Push, Purpose.Other),
            DecisionCode.DenyLocal, "second", "second rule");
    }

    /// <summary>A rule with every combination of stated conditions; each denies only when all it states hold.</summary>
    [Fact]
    public void ALocalRuleDeniesOnlyWhenAllItsStatedConditionsHold()
    {
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
              - {id: tx-harris, state: TX, level: county}
            agreements:
              - id: tx-all
                owners: [tx-hpd]
                recipients: [tx-dps, tx-harris]
                access: [push, search, alert]
                purposes: {{TestPolicy.AllPurposes}}
            rules:
              - id: all-three
                owners: [tx-hpd]
                deny_recipients: [tx-dps]
                deny_access: [search]
                deny_purposes: [immigration_enforcement, civil_enforcement]
                citation: "Houston ordinance 1"
            """);
        foreach (string recipient in (string[])["tx-dps", "tx-harris"])
        {
            foreach (Access access in s_accesses)
            {
                foreach (Purpose purpose in Enum.GetValues<Purpose>())
                {
                    bool all = recipient == "tx-dps" && access == Access.Search
                        && purpose is Purpose.ImmigrationEnforcement or Purpose.CivilEnforcement;
                    Decision d = Decide(p, "tx-hpd", recipient, access, purpose);
                    if (all) AssertDecision(d, DecisionCode.DenyLocal, "all-three", "Houston ordinance 1");
                    else AssertDecision(d, DecisionCode.AllowAgreement, "tx-all");
                }
            }
        }
    }

    public static TheoryData<string, string, Access, Purpose, bool> SingleConditionCases()
    {
        // (rule yaml, recipient, access, purpose, denied) for rules stating exactly one condition.
        var data = new TheoryData<string, string, Access, Purpose, bool>();
        foreach (Access access in s_accesses)
        {
            foreach (Purpose purpose in (Purpose[])[Purpose.Warrant, Purpose.Other])
            {
                foreach (string recipient in (string[])["tx-dps", "tx-harris"])
                {
                    data.Add("deny_recipients: [tx-dps]", recipient, access, purpose, recipient == "tx-dps");
                    data.Add("deny_access: [alert, push]", recipient, access, purpose, access != Access.Search);
                    data.Add("deny_purposes: [other]", recipient, access, purpose, purpose == Purpose.Other);
                    data.Add("deny_recipients: [tx-harris]\n    deny_access: [push]", recipient, access, purpose,
                        recipient == "tx-harris" && access == Access.Push);
                    data.Add("deny_recipients: [tx-dps]\n    deny_purposes: [warrant]", recipient, access, purpose,
                        recipient == "tx-dps" && purpose == Purpose.Warrant);
                    data.Add("deny_access: [search]\n    deny_purposes: [other]", recipient, access, purpose,
                        access == Access.Search && purpose == Purpose.Other);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SingleConditionCases))]
    public void ARuleConditionItDoesNotStateHoldsForEveryRequest(
        string conditions, string recipient, Access access, Purpose purpose, bool denied)
    {
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
              - {id: tx-harris, state: TX, level: county}
            agreements:
              - id: tx-all
                owners: [tx-hpd]
                recipients: [tx-dps, tx-harris]
                access: [push, search, alert]
                purposes: [warrant, other]
            rules:
              - id: the-rule
                owners: [tx-hpd]
                {{conditions}}
                citation: "Houston ordinance 2"
            """);
        Decision d = Decide(p, "tx-hpd", recipient, access, purpose);
        if (denied) AssertDecision(d, DecisionCode.DenyLocal, "the-rule", "Houston ordinance 2");
        else AssertDecision(d, DecisionCode.AllowAgreement, "tx-all");
    }

    [Fact]
    public void ALocalRuleOfAnotherOwnerDoesNotApply()
    {
        const string bothWays = "{id: both-ways, owners: [tx-hpd, tx-dps], recipients: [tx-hpd, tx-dps], " +
            "access: [search], purposes: [other]}";
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
            agreements:
              - {{bothWays}}
            rules:
              - {id: hpd-only, owners: [tx-hpd], deny_purposes: [other], citation: "Houston"}
            """);
        AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Search, Purpose.Other),
            DecisionCode.DenyLocal, "hpd-only", "Houston");
        AssertDecision(Decide(p, "tx-dps", "tx-hpd", Access.Search, Purpose.Other),
            DecisionCode.AllowAgreement, "both-ways");
    }

    // ---- 4. agreements and the most specific denial ----------------------------------------------------------

    private const string AgreementYaml = """
        version: 1
        agencies:
          - {id: tx-hpd, state: TX, level: local}
          - {id: tx-dps, state: TX, level: state}
          - {id: tx-harris, state: TX, level: county}
          - {id: tx-austin, state: TX, level: local}
        agreements:
          - id: hpd-dps
            owners: [tx-hpd]
            recipients: [tx-dps]
            access: [search, alert]
            purposes: [stolen_vehicle, warrant]
            expires: 2027-06-30
            citation: "MOU HPD-DPS 2025-04"
          - id: hpd-harris-old
            owners: [tx-hpd]
            recipients: [tx-harris]
            access: [push]
            purposes: [stolen_vehicle]
            expires: 2026-01-31
        """;

    [Fact]
    public void AnAgreementAllowsWithItsIdAndCitation()
    {
        CompiledPolicy p = Compile(AgreementYaml);
        AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Search, Purpose.StolenVehicle),
            DecisionCode.AllowAgreement, "hpd-dps", "MOU HPD-DPS 2025-04");
        AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Alert, Purpose.Warrant),
            DecisionCode.AllowAgreement, "hpd-dps", "MOU HPD-DPS 2025-04");
    }

    [Fact]
    public void AnAgreementWithoutCitationIsCitedByFileAndLine()
    {
        CompiledPolicy p = Compile(AgreementYaml);
        Decision d = Decide(p, "tx-hpd", "tx-harris", Access.Push, Purpose.StolenVehicle, Ms("2026-01-01T00:00:00Z"));
        AssertDecision(d, DecisionCode.AllowAgreement, "hpd-harris-old", "Agreement hpd-harris-old (test.yaml:15)");
    }

    [Fact]
    public void NoAgreementIsDeniedByDefault()
    {
        CompiledPolicy p = Compile(AgreementYaml);
        foreach (Access access in s_accesses)
        {
            AssertDecision(Decide(p, "tx-hpd", "tx-austin", access, Purpose.StolenVehicle),
                DecisionCode.DenyNoAgreement, CompiledPolicy.DefaultDenyRule, CompiledPolicy.DefaultDenyCitation);
            // An agreement is one-way: the recipient's reads are not shared back.
            AssertDecision(Decide(p, "tx-dps", "tx-hpd", access, Purpose.StolenVehicle),
                DecisionCode.DenyNoAgreement, CompiledPolicy.DefaultDenyRule);
        }
    }

    [Fact]
    public void AnAgreementNamingThePairButNotTheAccessIsAccessNotGranted()
    {
        CompiledPolicy p = Compile(AgreementYaml);
        foreach (Purpose purpose in Enum.GetValues<Purpose>())
        {
            AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Push, purpose),
                DecisionCode.DenyAccessNotGranted, "hpd-dps", "MOU HPD-DPS 2025-04");
        }
    }

    [Fact]
    public void AnAgreementGrantingTheAccessButNotThePurposeIsPurposeNotGranted()
    {
        CompiledPolicy p = Compile(AgreementYaml);
        foreach (Purpose purpose in Enum.GetValues<Purpose>()
                     .Where(x => x is not (Purpose.StolenVehicle or Purpose.Warrant)))
        {
            AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Search, purpose),
                DecisionCode.DenyPurposeNotGranted, "hpd-dps", "MOU HPD-DPS 2025-04");
        }
    }

    [Fact]
    public void AnAgreementGrantingBothButExpiredIsAgreementExpired()
    {
        CompiledPolicy p = Compile(AgreementYaml);
        AssertDecision(Decide(p, "tx-hpd", "tx-harris", Access.Push, Purpose.StolenVehicle),
            DecisionCode.DenyAgreementExpired, "hpd-harris-old");
        // Expired only when it would otherwise have granted: otherwise the purpose or access is what is missing.
        AssertDecision(Decide(p, "tx-hpd", "tx-harris", Access.Push, Purpose.Warrant),
            DecisionCode.DenyPurposeNotGranted, "hpd-harris-old");
        AssertDecision(Decide(p, "tx-hpd", "tx-harris", Access.Search, Purpose.StolenVehicle),
            DecisionCode.DenyAccessNotGranted, "hpd-harris-old");
    }

    public static TheoryData<string, bool> ExpiryBoundary => new()
    {
        { "2026-06-01T00:00:00Z", true },
        { "2027-06-30T00:00:00Z", true },
        { "2027-06-30T12:00:00Z", true },
        { "2027-06-30T23:59:59.999Z", true },
        { "2027-07-01T00:00:00Z", false },
        { "2027-07-01T00:00:00.001Z", false },
        { "2027-06-30T20:00:00-04:00", false }, // = 2027-07-01T00:00:00Z: the day is the UTC day
        { "2027-06-30T19:59:59.999-04:00", true },
        { "2030-01-01T00:00:00Z", false },
    };

    [Theory]
    [MemberData(nameof(ExpiryBoundary))]
    public void ADateExpiryHoldsThroughTheEndOfThatDayUtc(string now, bool allowed)
    {
        CompiledPolicy p = Compile(AgreementYaml);
        Decision d = Decide(p, "tx-hpd", "tx-dps", Access.Search, Purpose.Warrant, Ms(now));
        if (allowed) AssertDecision(d, DecisionCode.AllowAgreement, "hpd-dps");
        else AssertDecision(d, DecisionCode.DenyAgreementExpired, "hpd-dps", "MOU HPD-DPS 2025-04");
    }

    [Theory]
    [InlineData("2027-06-30T18:00:00.000Z", "2027-06-30T17:59:59.999Z", true)]
    [InlineData("2027-06-30T18:00:00.000Z", "2027-06-30T18:00:00.000Z", false)]
    [InlineData("2027-06-30T20:00:00+02:00", "2027-06-30T17:59:59.999Z", true)]
    [InlineData("2027-06-30T20:00:00+02:00", "2027-06-30T18:00:00Z", false)]
    public void AnInstantExpiryIsTheFirstInstantThatNoLongerGrants(string expires, string now, bool allowed)
    {
        string agreement = "{id: k, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant], " +
            $"expires: \"{expires}\"}}";
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
            agreements:
              - {{agreement}}
            """);
        Decision d = Decide(p, "tx-hpd", "tx-dps", Access.Search, Purpose.Warrant, Ms(now));
        Assert.Equal(allowed ? DecisionCode.AllowAgreement : DecisionCode.DenyAgreementExpired, d.Code);
        Assert.Equal("k", d.Rule);
    }

    // Two (or three) agreements for one pair: the most specific denial, and the first allowing agreement in file order.
    private const string TwoAgreementsYaml = $$"""
        version: 1
        agencies:
          - {id: tx-hpd, state: TX, level: local}
          - {id: tx-dps, state: TX, level: state}
        agreements:
          - {{SearchWarrantA}}
          - {{AlertExpiredB}}
          - {{AlertOtherC}}
          - {{SearchAllD}}
        """;

    private const string SearchWarrantA = "{id: a-search-warrant, owners: [tx-hpd], recipients: [tx-dps], " +
        "access: [search], purposes: [warrant], citation: \"A\"}";

    private const string AlertExpiredB = "{id: b-alert-expired, owners: [tx-hpd], recipients: [tx-dps], " +
        "access: [alert], purposes: [stolen_vehicle], expires: 2026-01-01, citation: \"B\"}";

    private const string AlertOtherC = "{id: c-alert-other, owners: [tx-hpd], recipients: [tx-dps], " +
        "access: [alert], purposes: [other, stolen_vehicle], citation: \"C\"}";

    private const string SearchAllD = "{id: d-search-all, owners: [tx-hpd], recipients: [tx-dps], " +
        "access: [search, alert], purposes: [warrant, missing_person], citation: \"D\"}";

    public static TheoryData<Access, Purpose, DecisionCode, string> MostSpecificCases => new()
    {
        // search/warrant: a and d both allow; a comes first.
        { Access.Search, Purpose.Warrant, DecisionCode.AllowAgreement, "a-search-warrant" },
        // search/missing_person: a denies (purpose), d allows.
        { Access.Search, Purpose.MissingPerson, DecisionCode.AllowAgreement, "d-search-all" },
        // alert/stolen_vehicle: b expired, c allows (allow beats any denial, even from an earlier agreement).
        { Access.Alert, Purpose.StolenVehicle, DecisionCode.AllowAgreement, "c-alert-other" },
        // alert/warrant: a access, b purpose, c purpose, d allows.
        { Access.Alert, Purpose.Warrant, DecisionCode.AllowAgreement, "d-search-all" },
        // alert/amber: a access, b purpose, c purpose, d purpose → purpose_not_granted from the first at that
        // level (b).
        { Access.Alert, Purpose.AmberAlert, DecisionCode.DenyPurposeNotGranted, "b-alert-expired" },
        // search/other: a purpose, b access, c access, d purpose → purpose (a).
        { Access.Search, Purpose.Other, DecisionCode.DenyPurposeNotGranted, "a-search-warrant" },
        // push: nobody grants push → access_not_granted, cited from the first agreement.
        { Access.Push, Purpose.Warrant, DecisionCode.DenyAccessNotGranted, "a-search-warrant" },
        { Access.Push, Purpose.StolenVehicle, DecisionCode.DenyAccessNotGranted, "a-search-warrant" },
    };

    [Theory]
    [MemberData(nameof(MostSpecificCases))]
    public void WithSeveralAgreementsTheFirstAllowingOrTheMostSpecificDenialDecides(
        Access access, Purpose purpose, DecisionCode code, string rule)
    {
        CompiledPolicy p = Compile(TwoAgreementsYaml);
        Decision d = Decide(p, "tx-hpd", "tx-dps", access, purpose);
        Assert.Equal(code, d.Code);
        Assert.Equal(rule, d.Rule);
        Assert.Equal(rule[..1].ToUpperInvariant(), d.Citation);
    }

    public static TheoryData<string, string, DecisionCode, string> TwoAgreementDenials => new()
    {
        // expired > purpose_not_granted > access_not_granted, whichever comes first in the file.
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [push], purposes: [other]}",
          "{id: y, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant], expires: 2026-01-01}",
          DecisionCode.DenyAgreementExpired, "y" },
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant], expires: 2026-01-01}",
          "{id: y, owners: [tx-hpd], recipients: [tx-dps], access: [push], purposes: [other]}",
          DecisionCode.DenyAgreementExpired, "x" },
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [other]}",
          "{id: y, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant], expires: 2026-01-01}",
          DecisionCode.DenyAgreementExpired, "y" },
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [push], purposes: [warrant]}",
          "{id: y, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [other]}",
          DecisionCode.DenyPurposeNotGranted, "y" },
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [other]}",
          "{id: y, owners: [tx-hpd], recipients: [tx-dps], access: [push], purposes: [warrant]}",
          DecisionCode.DenyPurposeNotGranted, "x" },
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [push], purposes: [warrant]}",
          "{id: y, owners: [tx-hpd], recipients: [tx-dps], access: [alert], purposes: [warrant]}",
          DecisionCode.DenyAccessNotGranted, "x" },
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant], expires: 2026-01-01}",
          "{id: y, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant], expires: 2026-02-01}",
          DecisionCode.DenyAgreementExpired, "x" },
        // one expired, one allowing: the allowing one, wherever it is.
        { "{id: x, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant], expires: 2026-01-01}",
          "{id: y, owners: [tx-hpd, tx-dps], recipients: [tx-dps, tx-hpd], access: [search], purposes: [warrant]}",
          DecisionCode.AllowAgreement, "y" },
    };

    [Theory]
    [MemberData(nameof(TwoAgreementDenials))]
    public void TwoAgreementsForOnePairGiveTheMostSpecificDenial(
        string first, string second, DecisionCode code, string rule)
    {
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
            agreements:
              - {{first}}
              - {{second}}
            """);
        AssertDecision(Decide(p, "tx-hpd", "tx-dps", Access.Search, Purpose.Warrant), code, rule);
    }

    // ---- statutes deny tribal, private, federal and out-of-state recipients despite agreements ----------------

    private static readonly string[] s_ownerStates = ["CA", "IL", "VA", "WA", "OR", "MD", "CT", "MN"];

    /// <summary>
    /// Recipient kinds: in-state tribal, in-state private, federal, out-of-state local (TX, no declaration).
    /// </summary>
    private static readonly string[] s_recipientKinds = ["tribal", "private", "federal", "out-of-state"];

    private static readonly CompiledPolicy s_statePolicy = Compile(StatePolicyYaml());

    private static string StatePolicyYaml()
    {
        var sb = new StringBuilder("version: 1\nagencies:\n  - {id: us-ice-ero, level: federal}\n" +
            "  - {id: tx-hpd, state: TX, level: local}\n");
        foreach (string st in s_ownerStates)
        {
            string s = st.ToLowerInvariant();
            sb.Append($"  - {{id: {s}-pd, state: {st}, level: local}}\n");
            sb.Append($"  - {{id: {s}-tribe, state: {st}, level: tribal}}\n");
            sb.Append($"  - {{id: {s}-private, state: {st}, level: private}}\n");
        }
        sb.Append("agreements:\n");
        string purposes = string.Join(", ", Enumerable.Range(0, Purposes.Count).Select(p => Purposes.Name((Purpose)p)));
        foreach (string st in s_ownerStates)
        {
            string s = st.ToLowerInvariant();
            sb.Append($"  - {{id: {s}-share, owners: [{s}-pd], recipients: [{s}-tribe, {s}-private, us-ice-ero, " +
                $"tx-hpd], access: [push, search, alert], purposes: [{purposes}]}}\n");
        }
        return sb.ToString();
    }

    private static string RecipientId(string ownerState, string kind) => kind switch
    {
        "tribal" => ownerState.ToLowerInvariant() + "-tribe",
        "private" => ownerState.ToLowerInvariant() + "-private",
        "federal" => "us-ice-ero",
        _ => "tx-hpd",
    };

    /// <summary>
    /// What Part A says about a (documented) request of a non-public-agency or out-of-state recipient, written from
    /// the table of shared/domain/alpr-law.md Part A, independently of <see cref="StatuteRules"/>. Null = no statute
    /// denies.
    /// </summary>
    private static string? PartA(string ownerState, string kind, Purpose purpose)
    {
        // tribal and private recipients here are located in the owner's state
        bool inState = kind is "tribal" or "private";
        bool healthOrImmigration =
            purpose is Purpose.ImmigrationEnforcement or Purpose.ReproductiveHealth or Purpose.GenderAffirmingCare;
        return ownerState switch
        {
            "CA" => "CA.PUBLIC_AGENCY_ONLY",                    // none of these is a public agency of CA
            "IL" => !inState ? "IL.DECLARATION_REQUIRED" : healthOrImmigration ? "IL.FORBIDDEN_PURPOSE" : null,
            "VA" => "VA.IN_STATE_ONLY",
            "WA" => purpose == Purpose.ImmigrationEnforcement ? "WA.IMMIGRATION" : "WA.OUT_OF_STATE",
            "OR" => purpose is Purpose.CriminalInvestigation or Purpose.MissingPerson or Purpose.AmberAlert
                or Purpose.HumanTrafficking ? null : "OR.OUT_OF_STATE",
            "MD" => "MD.NO_SHARING",
            "CT" => !inState ? "CT.OUT_OF_STATE" : healthOrImmigration ? "CT.FORBIDDEN_PURPOSE" : null,
            "MN" => null,                                        // documented: Minnesota restricts nothing else
            _ => throw new ArgumentOutOfRangeException(nameof(ownerState)),
        };
    }

    public static TheoryData<string, string, Purpose> StateRecipientPurpose()
    {
        var data = new TheoryData<string, string, Purpose>();
        foreach (string st in s_ownerStates)
        {
            foreach (string kind in s_recipientKinds)
            {
                foreach (Purpose p in Enum.GetValues<Purpose>()) data.Add(st, kind, p);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(StateRecipientPurpose))]
    public void StatutesDenyDespiteAnAgreementForEveryAccess(string ownerState, string kind, Purpose purpose)
    {
        string owner = ownerState.ToLowerInvariant() + "-pd";
        string recipient = RecipientId(ownerState, kind);
        string? expected = PartA(ownerState, kind, purpose);
        foreach (Access access in s_accesses)
        {
            Decision d = Decide(s_statePolicy, owner, recipient, access, purpose);
            if (expected is null)
                AssertDecision(d, DecisionCode.AllowAgreement, ownerState.ToLowerInvariant() + "-share");
            else AssertDecision(d, DecisionCode.DenyStatute, expected, Citation(expected));
        }
    }

    [Theory]
    [InlineData("tribal")]
    [InlineData("private")]
    [InlineData("federal")]
    [InlineData("out-of-state")]
    public void AnUndocumentedMinnesotaSearchIsDeniedButPushAndAlertAreNot(string kind)
    {
        string recipient = RecipientId("MN", kind);
        foreach (Purpose purpose in Enum.GetValues<Purpose>())
        {
            AssertDecision(Decide(s_statePolicy, "mn-pd", recipient, Access.Search, purpose, documented: false),
                DecisionCode.DenyStatute, "MN.DOCUMENTED_PURPOSE", Citation("MN.DOCUMENTED_PURPOSE"));
            AssertDecision(Decide(s_statePolicy, "mn-pd", recipient, Access.Push, purpose, documented: false),
                DecisionCode.AllowAgreement, "mn-share");
            AssertDecision(Decide(s_statePolicy, "mn-pd", recipient, Access.Alert, purpose, documented: false),
                DecisionCode.AllowAgreement, "mn-share");
        }
    }

    [Fact]
    public void DeclarationsOnFileOpenIllinoisAndConnecticutOnlyAsPartADescribes()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: il-cpd, state: IL, level: local}
              - {id: ct-npd, state: CT, level: local}
              - {id: md-bpd, state: MD, level: local}
              - {id: md-mcac, state: MD, level: state, fusion_center: true}
              - {id: va-fusion, state: VA, level: state}
              - {id: us-fbi-declared, level: federal, declarations: [IL-625-ILCS-5/2-130, CT-PA-26-14]}
              - {id: ma-bpd, state: MA, level: local, declarations: [CT-PA-26-14]}
              - {id: ri-private, state: RI, level: private, declarations: [CT-PA-26-14]}
              - {id: ny-nypd, state: NY, level: local, declarations: [IL-625-ILCS-5/2-130]}
              - {id: nj-npd, state: NJ, level: local, declarations: [CT-PA-26-14]}
            agreements:
              - id: wide
                owners: [il-cpd, ct-npd, md-bpd]
                recipients: [md-mcac, va-fusion, us-fbi-declared, ma-bpd, ri-private, ny-nypd, nj-npd]
                access: [search]
                purposes: [warrant, reproductive_health]
            """);
        // Illinois: any out-of-state recipient with the declaration, federal included; never the forbidden purposes.
        AssertDecision(Decide(p, "il-cpd", "us-fbi-declared", Access.Search, Purpose.Warrant),
            DecisionCode.AllowAgreement, "wide");
        AssertDecision(Decide(p, "il-cpd", "ny-nypd", Access.Search, Purpose.Warrant),
            DecisionCode.AllowAgreement, "wide");
        AssertDecision(Decide(p, "il-cpd", "ny-nypd", Access.Search, Purpose.ReproductiveHealth),
            DecisionCode.DenyStatute, "IL.FORBIDDEN_PURPOSE");
        AssertDecision(Decide(p, "il-cpd", "ma-bpd", Access.Search, Purpose.Warrant),
            DecisionCode.DenyStatute, "IL.DECLARATION_REQUIRED");
        // Connecticut: only MA, NY, RI agencies with the CT declaration.
        AssertDecision(Decide(p, "ct-npd", "ma-bpd", Access.Search, Purpose.Warrant),
            DecisionCode.AllowAgreement, "wide");
        AssertDecision(Decide(p, "ct-npd", "ri-private", Access.Search, Purpose.Warrant),
            DecisionCode.AllowAgreement, "wide");
        AssertDecision(Decide(p, "ct-npd", "ny-nypd", Access.Search, Purpose.Warrant),
            DecisionCode.DenyStatute, "CT.OUT_OF_STATE");
        AssertDecision(Decide(p, "ct-npd", "nj-npd", Access.Search, Purpose.Warrant),
            DecisionCode.DenyStatute, "CT.OUT_OF_STATE");
        AssertDecision(Decide(p, "ct-npd", "us-fbi-declared", Access.Search, Purpose.Warrant),
            DecisionCode.DenyStatute, "CT.OUT_OF_STATE");
        AssertDecision(Decide(p, "ct-npd", "ma-bpd", Access.Search, Purpose.ReproductiveHealth),
            DecisionCode.DenyStatute, "CT.FORBIDDEN_PURPOSE");
        // Maryland: only Maryland's own fusion center, not another state's (whose flag the loader refuses).
        AssertDecision(Decide(p, "md-bpd", "md-mcac", Access.Search, Purpose.Warrant),
            DecisionCode.AllowAgreement, "wide");
        AssertDecision(Decide(p, "md-bpd", "va-fusion", Access.Search, Purpose.Warrant),
            DecisionCode.DenyStatute, "MD.NO_SHARING");
    }
}
