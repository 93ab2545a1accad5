using System.Text;
using StreamGuard.Engine;
using StreamGuard.Policy;

namespace StreamGuard.Tests.Policy;

/// <summary>
/// Retention windows (SPEC §5): the shorter of the statute cap and the agency's own window, else the default.
/// </summary>
public sealed class RetentionCapTests
{
    private static CompiledPolicy Compile(string yaml) =>
        new(PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml", "."));

    /// <summary>
    /// The caps of shared/domain/alpr-law.md Part A as written there, months as 30 days and years as 365
    /// (so GA's 30 months are 900 days): (rule id, state, government cap, private cap, citation, confirmed).
    /// </summary>
    public static TheoryData<string, string, TimeSpan, TimeSpan, string, bool> PartACaps => new()
    {
        { "NH.RETENTION", "NH", TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(3), "N.H. RSA 261:75-b", true },
        { "ME.RETENTION", "ME", TimeSpan.FromDays(21), TimeSpan.FromDays(21), "29-A M.R.S. §2117-A", true },
        { "VA.RETENTION", "VA", TimeSpan.FromDays(21), TimeSpan.FromDays(21), "Va. Code §2.2-5517", true },
        { "WA.RETENTION", "WA", TimeSpan.FromDays(21), TimeSpan.FromDays(21), "Wash. SB 6002 (2026)", false },
        { "OR.RETENTION", "OR", TimeSpan.FromDays(30), TimeSpan.FromDays(30), "Or. SB 1516 (2026)", true },
        { "MN.RETENTION", "MN", TimeSpan.FromDays(60), TimeSpan.FromDays(60), "Minn. Stat. §13.824 subd. 3", true },
        { "MT.RETENTION", "MT", TimeSpan.FromDays(90), TimeSpan.FromDays(90), "Mont. Code Ann. §46-5-118", true },
        { "NC.RETENTION", "NC", TimeSpan.FromDays(90), TimeSpan.FromDays(90), "N.C. Gen. Stat. §20-183.32", true },
        { "TN.RETENTION", "TN", TimeSpan.FromDays(90), TimeSpan.FromDays(90), "Tenn. Code Ann. §55-10-302", true },
        { "AR.RETENTION", "AR", TimeSpan.FromDays(150), TimeSpan.FromDays(60), "Ark. Code §12-12-1804", true },
        { "NE.RETENTION", "NE", TimeSpan.FromDays(180), TimeSpan.FromDays(180), "Neb. Rev. Stat. §60-3205", true },
        { "UT.RETENTION", "UT", TimeSpan.FromDays(9 * 30), TimeSpan.FromDays(9 * 30), "Utah Code §41-6a-2004", true },
        { "CO.RETENTION", "CO", TimeSpan.FromDays(365), TimeSpan.FromDays(365), "Colo. Rev. Stat. §24-72-113", false },
        { "VT.RETENTION", "VT", TimeSpan.FromDays(18 * 30), TimeSpan.FromDays(18 * 30), "23 V.S.A. §1607", true },
        { "GA.RETENTION", "GA", TimeSpan.FromDays(30 * 30), TimeSpan.FromDays(30 * 30), "O.C.G.A. §35-1-22", true },
    };

    /// <summary>(rule id, state, government cap, private cap) of <see cref="PartACaps"/>.</summary>
    public static TheoryData<string, string, TimeSpan, TimeSpan> Caps()
    {
        var data = new TheoryData<string, string, TimeSpan, TimeSpan>();
        foreach (object[] row in PartACaps)
        {
            data.Add((string)row[0], (string)row[1], (TimeSpan)row[2], (TimeSpan)row[3]);
        }
        return data;
    }

    [Fact]
    public void EveryCapOfPartAIsBuiltInAndNoOther()
    {
        var expected = PartACaps.Select(row => (string)row[0]).ToArray();
        Assert.Equal(expected, StatuteRules.RetentionCaps.Select(c => c.Id));
        Assert.All(StatuteRules.RetentionCaps, c => Assert.Equal(c.State + ".RETENTION", c.Id));
        Assert.Null(StatuteRules.RetentionCapFor("CA"));
        Assert.Null(StatuteRules.RetentionCapFor("IL"));
        Assert.Null(StatuteRules.RetentionCapFor("TX"));
        Assert.Null(StatuteRules.RetentionCapFor(null));
    }

    [Theory]
    [MemberData(nameof(PartACaps))]
    public void EachCapMatchesPartA(
        string id, string state, TimeSpan cap, TimeSpan privateCap, string citation, bool confirmed)
    {
        RetentionCap c = StatuteRules.RetentionCaps.Single(x => x.Id == id);
        Assert.Equal(state, c.State);
        Assert.Equal(cap, c.Cap);
        Assert.Equal(citation, c.Citation);
        Assert.Equal(confirmed, c.Confirmed);
        Assert.Same(c, StatuteRules.RetentionCapFor(state));
        foreach (AgencyLevel level in Enum.GetValues<AgencyLevel>().Where(l => l != AgencyLevel.Federal))
        {
            Assert.Equal(level == AgencyLevel.Private ? privateCap : cap, c.CapFor(level));
        }
    }

    private static string LevelName(AgencyLevel level) => level.ToString().ToLowerInvariant();

    [Theory]
    [MemberData(nameof(Caps))]
    public void AnAgencyInACappedStateWithoutItsOwnWindowGetsTheCap(
        string id, string state, TimeSpan cap, TimeSpan privateCap)
    {
        string citation = StatuteRules.RetentionCapFor(state)!.Citation;
        var levels =
            new[] { AgencyLevel.Local, AgencyLevel.County, AgencyLevel.State, AgencyLevel.Tribal, AgencyLevel.Private };
        string agencies = string.Join("\n",
            levels.Select(l => $"  - {{id: a-{LevelName(l)}, state: {state}, level: {LevelName(l)}}}"));
        CompiledPolicy p = Compile($"version: 1\ndefault_retention: 7d\nagencies:\n{agencies}\n");
        foreach (AgencyLevel level in levels)
        {
            int a = p.Agencies.Find("a-" + LevelName(level));
            TimeSpan expected = level == AgencyLevel.Private ? privateCap : cap;
            Assert.Equal((long)expected.TotalMilliseconds, p.RetentionMs(a));
            Assert.Equal(id, p.RetentionRule(a));
            Assert.Equal(citation, p.RetentionCitation(a));
        }
    }

    [Theory]
    [MemberData(nameof(Caps))]
    public void AShorterAgencyWindowWins(string id, string state, TimeSpan cap, TimeSpan privateCap)
    {
        Assert.Equal(id, state + ".RETENTION");
        TimeSpan own = TimeSpan.FromMilliseconds(Math.Min(cap.TotalMilliseconds, privateCap.TotalMilliseconds) / 3);
        own = TimeSpan.FromSeconds(Math.Floor(own.TotalSeconds));
        CompiledPolicy p = Compile($$"""
            version: 1
            default_retention: 3650d
            agencies:
              - {id: gov, state: {{state}}, level: local, retention: {{Durations.Format(own)}}}
              - {id: private, state: {{state}}, level: private, retention: {{Durations.Format(own)}}}
            """);
        foreach (string agency in (string[])["gov", "private"])
        {
            int a = p.Agencies.Find(agency);
            Assert.Equal((long)own.TotalMilliseconds, p.RetentionMs(a));
            Assert.Equal(CompiledPolicy.AgencyRetentionRule, p.RetentionRule(a));
            Assert.Equal(CompiledPolicy.AgencyRetentionCitation, p.RetentionCitation(a));
        }
    }

    [Fact]
    public void AnAgencyWindowEqualToTheCapIsTheStatutes()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: wa-spd, state: WA, level: local, retention: 21d}
            """);
        int a = p.Agencies.Find("wa-spd");
        Assert.Equal((long)TimeSpan.FromDays(21).TotalMilliseconds, p.RetentionMs(a));
        Assert.Equal("WA.RETENTION", p.RetentionRule(a));
        Assert.Equal("Wash. SB 6002 (2026)", p.RetentionCitation(a));
    }

    [Fact]
    public void AnUncappedStateOrAFederalAgencyWithoutAWindowGetsTheDefault()
    {
        CompiledPolicy p = Compile("""
            version: 1
            default_retention: 45d
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: il-cpd, state: IL, level: local}
              - {id: tx-private, state: TX, level: private}
              - {id: us-fbi, level: federal}
              - {id: ca-own, state: CA, level: local, retention: 730d}
              - {id: us-own, level: federal, retention: 12h}
            """);
        foreach (string id in (string[])["ca-lapd", "il-cpd", "tx-private", "us-fbi"])
        {
            int a = p.Agencies.Find(id);
            Assert.Equal((long)TimeSpan.FromDays(45).TotalMilliseconds, p.RetentionMs(a));
            Assert.Equal(CompiledPolicy.DefaultRetentionRule, p.RetentionRule(a));
            Assert.Equal(CompiledPolicy.DefaultRetentionCitation, p.RetentionCitation(a));
        }
        Assert.Equal((long)TimeSpan.FromDays(730).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("ca-own")));
        Assert.Equal(CompiledPolicy.AgencyRetentionRule, p.RetentionRule(p.Agencies.Find("ca-own")));
        Assert.Equal((long)TimeSpan.FromHours(12).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("us-own")));
        Assert.Equal(CompiledPolicy.AgencyRetentionRule, p.RetentionRule(p.Agencies.Find("us-own")));
        Assert.Equal((long)TimeSpan.FromDays(730).TotalMilliseconds, p.LongestRetentionMs);
    }

    [Fact]
    public void TheDefaultRetentionIsThirtyDaysWhenTheFileSaysNothing()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
            """);
        Assert.Equal((long)TimeSpan.FromDays(30).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("tx-hpd")));
        Assert.Equal(CompiledPolicy.DefaultRetentionRule, p.RetentionRule(p.Agencies.Find("tx-hpd")));
    }

    [Fact]
    public void ACapAppliesEvenWhenTheDefaultIsShorter()
    {
        // The default is for owners with neither a cap nor a window: it does not shorten a statute cap.
        CompiledPolicy p = Compile("""
            version: 1
            default_retention: 1d
            agencies:
              - {id: ga-apd, state: GA, level: local}
            """);
        Assert.Equal((long)TimeSpan.FromDays(900).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("ga-apd")));
        Assert.Equal("GA.RETENTION", p.RetentionRule(p.Agencies.Find("ga-apd")));
    }

    [Fact]
    public void AnArkansasPrivateOperatorIsCappedAtSixtyDaysAndAGovernmentOneAt150()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: ar-walmart, state: AR, level: private}
              - {id: ar-lrpd, state: AR, level: local}
              - {id: ar-lrpd-short, state: AR, level: local, retention: 90d}
              - {id: ar-private-short, state: AR, level: private, retention: 59d}
            """);
        Assert.Equal((long)TimeSpan.FromDays(60).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("ar-walmart")));
        Assert.Equal("AR.RETENTION", p.RetentionRule(p.Agencies.Find("ar-walmart")));
        Assert.Equal("Ark. Code §12-12-1804", p.RetentionCitation(p.Agencies.Find("ar-walmart")));
        Assert.Equal((long)TimeSpan.FromDays(150).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("ar-lrpd")));
        Assert.Equal("AR.RETENTION", p.RetentionRule(p.Agencies.Find("ar-lrpd")));
        Assert.Equal((long)TimeSpan.FromDays(90).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("ar-lrpd-short")));
        Assert.Equal(CompiledPolicy.AgencyRetentionRule, p.RetentionRule(p.Agencies.Find("ar-lrpd-short")));
        Assert.Equal((long)TimeSpan.FromDays(59).TotalMilliseconds, p.RetentionMs(p.Agencies.Find("ar-private-short")));
    }

    [Fact]
    public void ARetiredAgencyKeepsTheWindowItHad()
    {
        CompiledPolicy before = Compile("""
            version: 1
            agencies:
              - {id: wa-spd, state: WA, level: local, retention: 14d}
              - {id: tx-hpd, state: TX, level: local}
            """);
        var after = new CompiledPolicy(PolicyLoader.Load(Encoding.UTF8.GetBytes("""
            version: 1
            default_retention: 5d
            agencies:
              - {id: tx-hpd, state: TX, level: local}
            """), "test.yaml", "."), before);
        int retired = after.Agencies.FindAny("wa-spd"u8);
        Assert.True(retired >= 0);
        Assert.Equal(-1, after.Agencies.Find("wa-spd"));
        Assert.Equal((long)TimeSpan.FromDays(14).TotalMilliseconds, after.RetentionMs(retired));
        Assert.Equal(CompiledPolicy.AgencyRetentionRule, after.RetentionRule(retired));
        Assert.Equal((long)TimeSpan.FromDays(5).TotalMilliseconds, after.RetentionMs(after.Agencies.Find("tx-hpd")));
    }
}
