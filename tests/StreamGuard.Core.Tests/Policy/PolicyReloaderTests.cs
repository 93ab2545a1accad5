using StreamGuard.Engine;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Policy;

/// <summary>
/// Hot reload off the consuming thread: stable content only, broken files refused, the diff handed over.
/// </summary>
public sealed class PolicyReloaderTests : IDisposable
{
    private const string Granting = """
          - id: lasd-search
            owners: [ca-lapd]
            recipients: [ca-lasd]
            access: [search]
            purposes: [stolen_vehicle]
        """;

    private readonly TestPolicy _policy = new();
    private readonly List<string> _log = [];
    private readonly PolicyReloader _reloader;

    public PolicyReloaderTests()
    {
        // A long interval: the test polls by hand.
        _reloader = new PolicyReloader(_policy.PolicyPath, _policy.Compiled, m => { lock (_log) _log.Add(m); },
            TimeSpan.FromHours(1), () => 0);
    }

    public void Dispose()
    {
        _reloader.Dispose();
        _policy.Dispose();
    }

    private void Write(string yaml) => File.WriteAllText(_policy.PolicyPath, yaml);

    [Fact]
    public void AnUnchangedFileIsNotReloaded()
    {
        _reloader.Poll();
        _reloader.Poll();
        Assert.False(_reloader.TryTake(out _, out _));
        Assert.Equal(0, _reloader.Accepted);
    }

    [Fact]
    public void AChangeIsTakenOnceTheContentIsStableAndCarriesWhatItGranted()
    {
        Write(TestPolicy.Yaml + "\nagreements:\n" + Granting);
        _reloader.Poll(); // first sight: maybe still being written
        Assert.False(_reloader.TryTake(out _, out _));
        _reloader.Poll(); // same content again: taken
        Assert.True(_reloader.TryTake(out CompiledPolicy next, out PolicyChangeSummary change));
        Assert.Equal(_policy.Compiled.Hash, change.PreviousHash);
        Assert.Equal(1, change.Granted);
        OutcomeChange first = change.FirstGranted!.Value;
        Assert.Equal(("ca-lapd", "ca-lasd", "lasd-search"), (first.Owner, first.Recipient, first.New.Rule));
        Assert.Equal(1, next.AgreementCount);
        Assert.False(_reloader.TryTake(out _, out _)); // handed over once
        Assert.Contains(_log, m => m.Contains("policy reload accepted", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAgencyTakenOutOfTheFileIsWarnedAboutAndOneKeptAsRetiredIsNot()
    {
        // wa-spd (21 days) taken out, ca-nokey kept as retired: only the first is lost to a restarted worker.
        const string Spd = "  - {id: wa-spd, state: WA, level: local, retention: 21d, key: file:keys/wa-spd.key}\n";
        Write(TestPolicy.Yaml.Replace(Spd, "", StringComparison.Ordinal)
            .Replace("level: local}", "level: local, retired: true}", StringComparison.Ordinal));
        _reloader.Poll();
        _reloader.Poll();
        Assert.True(_reloader.TryTake(out CompiledPolicy next, out _));
        Assert.Equal(-1, next.Agencies.Find("ca-nokey"));
        string warning = Assert.Single(_log, m => m.Contains("taken out of the file", StringComparison.Ordinal));
        Assert.Contains("agencies[wa-spd]", warning, StringComparison.Ordinal);
        Assert.Contains("`retired: true`", warning, StringComparison.Ordinal);
        Assert.Contains("until 1970-01-22 (its window, 21d, from now", warning, StringComparison.Ordinal);

        // The retired one taken out later: nothing is lost if its window has passed, and the warning says so.
        Write(TestPolicy.Yaml.Replace(Spd, "", StringComparison.Ordinal)
            .Replace("  - {id: ca-nokey, state: CA, level: local}\n", "", StringComparison.Ordinal));
        _reloader.Poll();
        _reloader.Poll();
        Assert.True(_reloader.TryTake(out _, out _));
        string later = Assert.Single(_log, m => m.Contains("a retired agency taken out", StringComparison.Ordinal));
        Assert.Contains("agencies[ca-nokey]", later, StringComparison.Ordinal);
        Assert.Contains("otherwise nothing is lost", later, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileThatFailsValidationIsRefusedLoudlyOnceAndThePolicyInForceStays()
    {
        Write(TestPolicy.Yaml + "\nagreements:\n" +
            Granting.Replace("[ca-lasd]", "[ca-nowhere]", StringComparison.Ordinal));
        for (int i = 0; i < 4; i++) _reloader.Poll();
        Assert.False(_reloader.TryTake(out _, out _));
        Assert.Equal(1, _reloader.Rejected);
        Assert.Contains("agreements[lasd-search].recipients: unknown agency 'ca-nowhere'", _reloader.LastError,
            StringComparison.Ordinal);
        string refusal = Assert.Single(_log, m => m.Contains("REFUSED", StringComparison.Ordinal));
        Assert.Contains(_policy.Compiled.Hash, refusal, StringComparison.Ordinal);

        // Mended: accepted, and diffed against the policy in force (not against the refused file).
        Write(TestPolicy.Yaml + "\nagreements:\n" + Granting);
        _reloader.Poll();
        _reloader.Poll();
        Assert.True(_reloader.TryTake(out _, out PolicyChangeSummary change));
        Assert.Equal(_policy.Compiled.Hash, change.PreviousHash);
        Assert.Equal(1, change.Granted);
    }

    [Fact]
    public void SuccessiveVersionsAreDiffedAgainstThePolicyInForce()
    {
        Write(TestPolicy.Yaml + "\nagreements:\n" + Granting);
        _reloader.Poll();
        _reloader.Poll();
        Assert.True(_reloader.TryTake(out CompiledPolicy first, out _));
        Write(TestPolicy.Yaml); // the agreement withdrawn
        _reloader.Poll();
        _reloader.Poll();
        Assert.True(_reloader.TryTake(out CompiledPolicy second, out PolicyChangeSummary change));
        Assert.Equal(first.Hash, change.PreviousHash);
        Assert.Equal((0, 1), (change.Granted, change.Revoked));
        Assert.Equal(DecisionCode.DenyNoAgreement, change.FirstRevoked!.Value.New.Code);
        // Compiled on top of the versions before: indexes unchanged.
        for (int i = 0; i < first.Agencies.Count; i++)
        {
            Assert.Equal(first.Agencies.IdText(i), second.Agencies.IdText(i));
        }
    }
}
