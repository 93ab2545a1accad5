using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Tests.Policy;

/// <summary>
/// What makes an agency itself to the policy: its own signing key (a key two agencies share lets each sign the other's
/// queries) and the fusion-center flag, which opens Maryland's reads and so belongs only to Maryland's state fusion
/// center (Md. Code, Public Safety §3-509: no upload to anyone but the state fusion center).
/// </summary>
public sealed class AgencyIdentityTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-identity-" + Guid.NewGuid().ToString("N"));

    public AgencyIdentityTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        File.WriteAllText(Path.Combine(_dir, "keys", "a.key"), "secret-one\n");
        File.WriteAllText(Path.Combine(_dir, "keys", "b.key"), "secret-two\n");
        File.WriteAllText(Path.Combine(_dir, "keys", "copy-of-a.key"), "secret-one");
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private PolicyDocument Load(string yaml) => PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml", _dir);

    private PolicyException Reject(string yaml) => Assert.Throws<PolicyException>(() => Load(yaml));

    [Fact]
    public void TwoAgenciesWhoseKeysResolveToTheSameBytesAreRejected()
    {
        PolicyException e = Reject("""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local, key: file:keys/a.key}
              - {id: ca-lasd, state: CA, level: county, key: file:keys/b.key}
              - {id: ca-chp, state: CA, level: state, key: file:keys/copy-of-a.key}
            """);
        Assert.Equal("test.yaml", e.File);
        Assert.Equal(5, e.Line);
        Assert.Equal("agencies[ca-chp].key", e.Field);
        Assert.Contains("ca-lapd", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-one", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoAgenciesNamingTheSameKeyReferenceAreRejected()
    {
        const string Variable = "SG_TEST_IDENTITY_SHARED_KEY_9B1D";
        Environment.SetEnvironmentVariable(Variable, "env-secret");
        try
        {
            PolicyException e = Reject($$"""
                version: 1
                agencies:
                  - {id: ca-lapd, state: CA, level: local, key: env:{{Variable}}}
                  - {id: us-fbi, level: federal,
                     key: env:{{Variable}}}
                """);
            Assert.Equal(5, e.Line);
            Assert.Equal("agencies[us-fbi].key", e.Field);
            Assert.Contains($"env:{Variable}", e.Message, StringComparison.Ordinal);
            Assert.Contains("ca-lapd", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Variable, null);
        }
    }

    [Fact]
    public void AKeyStillListedForRotationByOneAgencyCannotBeAnothersKey()
    {
        PolicyException e = Reject("""
            version: 1
            agencies:
              - id: ca-lapd
                state: CA
                level: local
                key: [file:keys/b.key, file:keys/a.key]
              - {id: ca-lasd, state: CA, level: county, key: file:keys/copy-of-a.key}
            """);
        Assert.Equal(7, e.Line);
        Assert.Equal("agencies[ca-lasd].key", e.Field);
        Assert.Contains("ca-lapd", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AgenciesWithTheirOwnKeysLoad()
    {
        PolicyDocument doc = Load("""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local, key: file:keys/a.key}
              - {id: ca-lasd, state: CA, level: county, key: file:keys/b.key}
              - {id: ca-nokey, state: CA, level: local}
              - {id: ca-nokey-2, state: CA, level: local}
            """);
        Assert.Equal(4, doc.Agencies.Count);
    }

    /// <summary>(agency as YAML, its id): every agency but Maryland's state level.</summary>
    public static TheoryData<string, string> NotMarylandStateLevel => new()
    {
        { "{id: md-bpd, state: MD, level: local, fusion_center: true}", "md-bpd" },
        { "{id: md-cops, state: MD, level: county, fusion_center: true}", "md-cops" },
        { "{id: md-tribe, state: MD, level: tribal, fusion_center: true}", "md-tribe" },
        { "{id: md-vendor, state: MD, level: private, fusion_center: true}", "md-vendor" },
        { "{id: va-fusion, state: VA, level: state, fusion_center: true}", "va-fusion" },
        { "{id: us-fbi, level: federal, fusion_center: true}", "us-fbi" },
    };

    [Theory]
    [MemberData(nameof(NotMarylandStateLevel))]
    public void TheFusionCenterFlagIsRefusedOnAnyAgencyButAMarylandStateOne(string agency, string id)
    {
        PolicyException e = Reject($"""
            version: 1
            agencies:
              - {agency}
            """);
        Assert.Equal(3, e.Line);
        Assert.Equal($"agencies[{id}].fusion_center", e.Field);
        Assert.Contains("state: MD", e.Message, StringComparison.Ordinal);
        Assert.Contains("level: state", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FusionCenterFalseIsAcceptedAnywhere()
    {
        PolicyDocument doc = Load("""
            version: 1
            agencies:
              - {id: va-vsp, state: VA, level: state, fusion_center: false}
              - {id: md-bpd, state: MD, level: local, fusion_center: false}
            """);
        Assert.All(doc.Agencies, a => Assert.False(a.FusionCenter));
        Assert.Empty(doc.Warnings);
    }

    [Fact]
    public void OneMarylandFusionCenterLoadsWithoutWarningAndASecondIsWarnedAbout()
    {
        PolicyDocument one = Load("""
            version: 1
            agencies:
              - {id: md-mcac, state: MD, level: state, fusion_center: true}
              - {id: md-msp, state: MD, level: state}
            """);
        Assert.True(one.Agencies[0].FusionCenter);
        Assert.Empty(one.Warnings);

        PolicyDocument two = Load("""
            version: 1
            agencies:
              - {id: md-mcac, state: MD, level: state, fusion_center: true}
              - {id: md-msp, state: MD, level: state, fusion_center: true}
            """);
        string warning = Assert.Single(two.Warnings);
        Assert.StartsWith("test.yaml:4: agencies[md-msp].fusion_center:", warning, StringComparison.Ordinal);
        Assert.Contains("md-mcac", warning, StringComparison.Ordinal);
        // policy check reports it with the statute analysis.
        Assert.Contains(warning, PolicyCheck.Warnings(new CompiledPolicy(two), 0));
    }

    [Fact]
    public void MarylandsRuleLetsOnlyAMarylandStateLevelFusionCenterThrough()
    {
        StatuteRule rule = StatuteRules.All.Single(r => r.Id == "MD.NO_SHARING");
        foreach (AgencyLevel level in Enum.GetValues<AgencyLevel>())
        {
            var facts = new AgencyFacts(level == AgencyLevel.Federal ? null : "MD", level, true, []);
            bool denies = StatuteRules.Denies(rule, facts, Access.Push, Purpose.CriminalInvestigation, true);
            Assert.True(denies == (level != AgencyLevel.State), $"fusion center of level {level}: denies {denies}");
        }
        Assert.True(StatuteRules.Denies(rule, new AgencyFacts("MD", AgencyLevel.State, false, []), Access.Search,
            Purpose.Warrant, true));
        Assert.True(StatuteRules.Denies(rule, new AgencyFacts("VA", AgencyLevel.State, true, []), Access.Search,
            Purpose.Warrant, true));
    }
}
