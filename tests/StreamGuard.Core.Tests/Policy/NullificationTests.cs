using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Policy;

/// <summary>
/// <c>policy check</c> warns about every agreement, or part of one, that a statute or a local rule nullifies
/// (SPEC §3):
/// the "configuration error" of the 2025 incidents must never pass silently.
/// </summary>
public sealed class NullificationTests
{
    private static CompiledPolicy Compile(string yaml) =>
        new(PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml", "."));

    private static readonly long s_now =
        new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static string Citation(string rule) => StatuteRules.All.Single(r => r.Id == rule).Citation;

    /// <summary>Every purpose, as a YAML flow sequence.</summary>
    private const string NationalYaml = $$"""
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: il-cpd, state: IL, level: local}
          - {id: va-rpd, state: VA, level: local}
          - {id: wa-spd, state: WA, level: local}
          - {id: md-bpd, state: MD, level: local}
          - {id: tx-hpd, state: TX, level: local}
          - {id: us-ice-ero, level: federal}
          - {id: us-fbi, level: federal}
        agreements:
          - id: national-network
            owners: [ca-lapd, il-cpd, va-rpd, wa-spd, md-bpd]
            recipients: [tx-hpd, us-ice-ero, us-fbi]
            access: [push, search, alert]
            purposes: {{TestPolicy.AllPurposes}}
          - id: texas-fbi
            owners: [tx-hpd]
            recipients: [us-fbi, us-ice-ero]
            access: [search]
            purposes: [warrant, immigration_enforcement]
        """;

    public static TheoryData<string, string> WholeAgreementNullified => new()
    {
        { "ca-lapd", "CA.PUBLIC_AGENCY_ONLY" },
        { "il-cpd", "IL.DECLARATION_REQUIRED" },
        { "va-rpd", "VA.IN_STATE_ONLY" },
        { "md-bpd", "MD.NO_SHARING" },
    };

    [Theory]
    [MemberData(nameof(WholeAgreementNullified))]
    public void ANationalNetworkAgreementIsWarnedForEveryOwnerTheStatutesProtect(string owner, string rule)
    {
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(Compile(NationalYaml), s_now);
        string expected = $"test.yaml:12: agreements[national-network]: statute {rule} ({Citation(rule)}) " +
            $"nullifies it for {owner}'s reads → tx-hpd, us-ice-ero, us-fbi: all of it";
        Assert.Contains(expected, warnings);
    }

    [Fact]
    public void WashingtonsTwoRulesEachNullifyPartAndAreMarkedUnconfirmed()
    {
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(Compile(NationalYaml), s_now);
        var wa = warnings.Where(w => w.Contains("wa-spd's reads", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
        [
            "test.yaml:12: agreements[national-network]: statute WA.IMMIGRATION " +
            "(Wash. SB 6002 (2026) ⚠ signature unconfirmed) nullifies it for wa-spd's reads → " +
            "tx-hpd, us-ice-ero, us-fbi: push, search, alert × immigration_enforcement",
            "test.yaml:12: agreements[national-network]: statute WA.OUT_OF_STATE " +
            "(Wash. SB 6002 (2026) ⚠ signature unconfirmed) nullifies it for wa-spd's reads → " +
            "tx-hpd, us-ice-ero, us-fbi: " +
            "push, search, alert × criminal_investigation, stolen_vehicle, missing_person, amber_alert, " +
            "human_trafficking, warrant, reproductive_health, gender_affirming_care, civil_enforcement, other",
        ], wa);
    }

    [Fact]
    public void TheNullificationsNameAgreementOwnerRuleAndRecipients()
    {
        var all = PolicyCheck.Nullifications(Compile(NationalYaml)).ToList();
        Assert.All(all, x => Assert.Equal("national-network", x.Agreement.Id));
        // Owners in file order; an owner's rules in the order their first denied tuple comes up.
        Assert.Equal(
            [
                "ca-lapd CA.PUBLIC_AGENCY_ONLY", "il-cpd IL.DECLARATION_REQUIRED", "va-rpd VA.IN_STATE_ONLY", "wa-spd",
                "wa-spd", "md-bpd MD.NO_SHARING",
            ],
            all.Select(x => x.Owner == "wa-spd" ? x.Owner : $"{x.Owner} {x.Rule}"));
        Assert.Equal(["WA.IMMIGRATION", "WA.OUT_OF_STATE"],
            all.Where(x => x.Owner == "wa-spd").Select(x => x.Rule).Order(StringComparer.Ordinal));
        Assert.All(all, x =>
        {
            Assert.True(x.Statute);
            Assert.Equal(["tx-hpd", "us-ice-ero", "us-fbi"], x.Recipients);
            Assert.Equal(AccessSet.Push | AccessSet.Search | AccessSet.Alert, x.Access);
            Assert.Equal(Citation(x.Rule), x.Citation);
            Assert.Equal(x.Owner != "wa-spd", x.Whole);
            Assert.Equal(!x.Rule.StartsWith("WA.", StringComparison.Ordinal), x.Confirmed);
        });
        Assert.Equal((ushort)(1 << (int)Purpose.ImmigrationEnforcement),
            all.Single(x => x.Rule == "WA.IMMIGRATION").Purposes);
        Assert.Equal((ushort)((1 << Purposes.Count) - 1 - (1 << (int)Purpose.ImmigrationEnforcement)),
            all.Single(x => x.Rule == "WA.OUT_OF_STATE").Purposes);
    }

    [Fact]
    public void AnAgreementTheStatutesDoNotTouchHasNoWarning()
    {
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(Compile(NationalYaml), s_now);
        Assert.DoesNotContain(warnings, w => w.Contains("texas-fbi", StringComparison.Ordinal));
        Assert.DoesNotContain(warnings, w => w.Contains("tx-hpd's reads", StringComparison.Ordinal));
        Assert.Equal(6, warnings.Count);
    }

    [Fact]
    public void ACleanPolicyHasNoWarnings()
    {
        const string socal = "{id: socal, owners: [ca-lapd, ca-lasd], recipients: [ca-lasd, ca-lapd], " +
            "access: [push, search, alert], purposes: [stolen_vehicle, warrant]}";
        const string orFbi = "{id: or-fbi, owners: [or-ppb], recipients: [us-fbi], access: [search], " +
            "purposes: [criminal_investigation, missing_person, amber_alert, human_trafficking]}";
        const string mdFusion = "{id: md-fusion, owners: [md-bpd], recipients: [md-mcac], access: [push], " +
            "purposes: [criminal_investigation]}";
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: ca-lasd, state: CA, level: county}
              - {id: or-ppb, state: OR, level: local}
              - {id: us-fbi, level: federal}
              - {id: md-bpd, state: MD, level: local}
              - {id: md-mcac, state: MD, level: state, fusion_center: true}
            agreements:
              - {{socal}}
              - {{orFbi}}
              - {{mdFusion}}
            """);
        Assert.Empty(PolicyCheck.Warnings(p, s_now));
        Assert.Empty(PolicyCheck.Nullifications(p));
    }

    [Fact]
    public void APartiallyNullifiedAgreementListsOnlyWhatIsDenied()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: ca-lasd, state: CA, level: county}
              - {id: ca-private, state: CA, level: private}
            agreements:
              - id: socal
                owners: [ca-lapd]
                recipients: [ca-lasd, ca-private]
                access: [search]
                purposes: [stolen_vehicle, immigration_enforcement]
            """);
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(p, s_now);
        // In evaluation order: CA.PUBLIC_AGENCY_ONLY before CA.VALUES_ACT.
        Assert.Equal(
        [
            "test.yaml:7: agreements[socal]: statute CA.PUBLIC_AGENCY_ONLY " +
            "(Cal. Civ. Code §1798.90.55(b); Cal. AG Bulletin 2023-DLE-06) nullifies it for ca-lapd's reads → " +
            "ca-private: search × stolen_vehicle, immigration_enforcement",
            "test.yaml:7: agreements[socal]: statute CA.VALUES_ACT (Cal. Gov. Code §7284.6 (SB 54)) " +
            "nullifies it for ca-lapd's reads → ca-lasd: search × immigration_enforcement",
        ], warnings);
    }

    [Fact]
    public void ALocalRuleThatNullifiesPartOfAnAgreementIsWarnedAsALocalRule()
    {
        CompiledPolicy p = Compile("""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
              - {id: tx-harris, state: TX, level: county}
            agreements:
              - id: houston-share
                owners: [tx-hpd]
                recipients: [tx-dps, tx-harris]
                access: [push, search]
                purposes: [stolen_vehicle, civil_enforcement]
            rules:
              - id: no-civil-to-dps
                owners: [tx-hpd]
                deny_recipients: [tx-dps]
                deny_purposes: [civil_enforcement]
                citation: "Houston City Council Resolution 2026-14"
            """);
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(p, s_now);
        string warning = Assert.Single(warnings);
        Assert.Equal(
            "test.yaml:7: agreements[houston-share]: local rule no-civil-to-dps " +
            "(Houston City Council Resolution 2026-14) nullifies it for tx-hpd's reads → " +
            "tx-dps: push, search × civil_enforcement",
            warning);
        PolicyCheck.Nullification x = Assert.Single(PolicyCheck.Nullifications(p));
        Assert.False(x.Statute);
        Assert.True(x.Confirmed);
        Assert.Null(x.Status);
        Assert.False(x.Whole);
    }

    [Fact]
    public void ALocalRuleThatNullifiesAWholeAgreementSaysAllOfIt()
    {
        const string hpdIce = "{id: hpd-ice, owners: [tx-hpd], recipients: [us-ice-ero], access: [search], " +
            "purposes: [immigration_enforcement, warrant]}";
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: us-ice-ero, level: federal}
            agreements:
              - {{hpdIce}}
            rules:
              - {id: no-ice, owners: [tx-hpd], deny_recipients: [us-ice-ero], citation: "Houston policy 12"}
            """);
        Assert.Equal(
        [
            "test.yaml:6: agreements[hpd-ice]: local rule no-ice (Houston policy 12) " +
            "nullifies it for tx-hpd's reads → us-ice-ero: all of it",
        ], PolicyCheck.Warnings(p, s_now));
    }

    [Fact]
    public void ANullifiedAgreementIsWarnedEvenWhenItHasExpired()
    {
        const string mdOld = "{id: md-old, owners: [md-bpd], recipients: [md-cops], access: [alert], " +
            "purposes: [warrant], expires: 2025-12-31}";
        CompiledPolicy p = Compile($$"""
            version: 1
            agencies:
              - {id: md-bpd, state: MD, level: local}
              - {id: md-cops, state: MD, level: county}
            agreements:
              - {{mdOld}}
            """);
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(p, s_now);
        Assert.Equal(2, warnings.Count);
        Assert.Equal("test.yaml:6: agreements[md-old].expires: expired on 2025-12-31; " +
            "it grants nothing (deny.agreement_expired)", warnings[0]);
        Assert.Equal("test.yaml:6: agreements[md-old]: statute MD.NO_SHARING (Md. Code, Public Safety §3-509) " +
            "nullifies it for md-bpd's reads → md-cops: all of it", warnings[1]);
    }

    [Fact]
    public void LongRecipientListsAreShortened()
    {
        var sb = new StringBuilder("version: 1\nagencies:\n  - {id: ca-lapd, state: CA, level: local}\n");
        for (int i = 0; i < 15; i++) sb.Append($"  - {{id: tx-{i}, state: TX, level: local}}\n");
        sb.Append("agreements:\n  - {id: big, owners: [ca-lapd], recipients: [");
        sb.Append(string.Join(", ", Enumerable.Range(0, 15).Select(i => $"tx-{i}")));
        sb.Append("], access: [search], purposes: [warrant]}\n");
        string warning = Assert.Single(PolicyCheck.Warnings(Compile(sb.ToString()), s_now));
        Assert.EndsWith("→ tx-0, tx-1, tx-2, tx-3, tx-4, tx-5, tx-6, tx-7, tx-8, tx-9, tx-10, tx-11 " +
            "and 3 more: all of it", warning, StringComparison.Ordinal);
        Assert.Equal(15, Assert.Single(PolicyCheck.Nullifications(Compile(sb.ToString()))).Recipients.Count);
    }
}
