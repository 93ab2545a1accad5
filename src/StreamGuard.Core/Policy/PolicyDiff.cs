using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;

namespace StreamGuard.Policy;

/// <summary>How the outcome of one (owner, recipient, access, purpose) changed between two policies.</summary>
public enum ChangeKind : byte
{
    /// <summary>Denied before (or an agency was absent), allowed now: access newly granted.</summary>
    Granted,
    /// <summary>Allowed before, denied now (or an agency was removed).</summary>
    Revoked,
    /// <summary>Same allow/deny, different code or rule (another agreement allows; another rule denies).</summary>
    Reason,
}

/// <summary>One changed outcome.</summary>
public readonly record struct OutcomeChange(
    ChangeKind Kind, string Owner, string Recipient, Access Access, Purpose Purpose, Decision Old, Decision New)
{
    public override string ToString() =>
        $"{Owner} → {Recipient} {PolicyExplainer.AccessName(Access)} {Purposes.Name(Purpose)}: " +
        $"{DecisionCodes.Text(Old.Code)} ({Old.Rule}) → {DecisionCodes.Text(New.Code)} ({New.Rule})";
}

/// <summary>The result of <see cref="PolicyDiff.Compute"/>.</summary>
public sealed record PolicyDiffResult(
    IReadOnlyList<OutcomeChange> Changes, IReadOnlyList<string> AgenciesAdded, IReadOnlyList<string> AgenciesRemoved,
    long PairsExamined, TimeSpan Elapsed)
{
    /// <summary>
    /// Agencies both files name (retired ones included) whose retention window changed (not access, but what a
    /// reviewer must see: it reschedules their stored reads).
    /// </summary>
    public IReadOnlyList<RetentionChange> RetentionChanges { get; init; } = [];

    /// <summary>
    /// Agencies in both policies whose signing keys changed (compared by content, never shown): who can sign as them
    /// changed, which no outcome shows.
    /// </summary>
    public IReadOnlyList<KeyChange> KeyChanges { get; init; } = [];

    public int Granted => Changes.Count(c => c.Kind == ChangeKind.Granted);
    public int Revoked => Changes.Count(c => c.Kind == ChangeKind.Revoked);
    public int ReasonChanged => Changes.Count(c => c.Kind == ChangeKind.Reason);
}

/// <summary>
/// <c>policy diff</c>: every (owner, recipient, access, purpose) whose outcome differs between two policies, exactly.
/// </summary>
/// <remarks>
/// <para>Exact without visiting all n² × 33 tuples: outside the pairs some agreement names (in either policy), every
/// outcome is a denial decided by steps 2–3 (statute, local rule) or deny-by-default, and those depend only on the
/// owner's state, level and local rules and the recipient's state, level, declarations and fusion-center flag. So the
/// pairs examined are those named by an agreement in either policy, plus every pair of an agency whose facts or local
/// rules changed; every other pair has the same outcome in both. Tests check this against brute force.</para>
/// <para>An agency's access to its own reads is not sharing and never appears. A tuple whose owner or recipient is
/// in only one policy counts when it is allowed in that one (granted or revoked); the denials of an added or removed
/// agency are not listed (the agency itself is).</para>
/// <para>Requests are taken as documented (case number and reason given), as a search must be to pass the query
/// checks anyway; expiry is judged at <c>nowMs</c>.</para>
/// </remarks>
public static class PolicyDiff
{
    public static readonly Decision Absent =
        new(DecisionCode.DenyNoAgreement, "AGENCY.ABSENT", "The agency is not in this policy");

    public static PolicyDiffResult Compute(CompiledPolicy? oldPolicy, CompiledPolicy newPolicy, long nowMs)
    {
        var clock = Stopwatch.StartNew();
        // The union of agencies, each with its index in either policy (-1 when absent there).
        var ids = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        void AddIds(CompiledPolicy? p)
        {
            if (p is null) return;
            foreach (AgencyConfig a in p.Document.Agencies)
            {
                if (index.TryAdd(a.Id, ids.Count)) ids.Add(a.Id);
            }
        }
        AddIds(oldPolicy);
        AddIds(newPolicy);
        int n = ids.Count;
        var inOld = new int[n];
        var inNew = new int[n];
        for (int i = 0; i < n; i++)
        {
            inOld[i] = oldPolicy?.Agencies.Find(ids[i]) ?? -1;
            inNew[i] = newPolicy.Agencies.Find(ids[i]);
        }

        var pairs = new HashSet<long>(PairKeyComparer.Instance);
        void AddPairs(CompiledPolicy? p)
        {
            if (p is null) return;
            foreach (var (o, r) in p.AgreementPairs())
            {
                if (!p.Agencies.IsActive(o) || !p.Agencies.IsActive(r)) continue;
                pairs.Add(Key(index[p.Agencies.IdText(o)], index[p.Agencies.IdText(r)]));
            }
        }
        AddPairs(oldPolicy);
        AddPairs(newPolicy);
        for (int a = 0; a < n; a++)
        {
            if (inOld[a] < 0 || inNew[a] < 0) continue;
            AgencyConfig x = oldPolicy!.Agency(inOld[a]), y = newPolicy.Agency(inNew[a]);
            bool factsChanged = x.State != y.State || x.Level != y.Level || x.FusionCenter != y.FusionCenter
                || !x.Declarations.SequenceEqual(y.Declarations);
            bool rulesChanged = !SameLocalRules(oldPolicy, newPolicy, x.Id);
            if (!factsChanged && !rulesChanged) continue;
            for (int b = 0; b < n; b++)
            {
                if (b == a || inOld[b] < 0 || inNew[b] < 0) continue;
                pairs.Add(Key(a, b));                    // a as owner: its statutes or local rules changed
                if (factsChanged) pairs.Add(Key(b, a));  // a as recipient: statutes look at its facts
            }
        }

        var changes = new List<OutcomeChange>();
        foreach (long key in pairs.Order())
        {
            int o = (int)(key >> 32), r = (int)(uint)key;
            if (o == r) continue;
            for (int acc = 0; acc < 3; acc++)
            {
                for (int p = 0; p < Purposes.Count; p++)
                {
                    Decision before = inOld[o] >= 0 && inOld[r] >= 0
                        ? oldPolicy!.Decide(inOld[o], inOld[r], (Access)acc, (Purpose)p, true, nowMs)
                        : Absent;
                    Decision after = inNew[o] >= 0 && inNew[r] >= 0
                        ? newPolicy.Decide(inNew[o], inNew[r], (Access)acc, (Purpose)p, true, nowMs)
                        : Absent;
                    if (before.Code == after.Code && before.Rule == after.Rule) continue;
                    ChangeKind kind;
                    if (before.Allowed != after.Allowed) kind = after.Allowed ? ChangeKind.Granted : ChangeKind.Revoked;
                    else if (ReferenceEquals(before.Rule, Absent.Rule)
                        || ReferenceEquals(after.Rule, Absent.Rule)) continue;
                    else kind = ChangeKind.Reason;
                    changes.Add(new OutcomeChange(kind, ids[o], ids[r], (Access)acc, (Purpose)p, before, after));
                }
            }
        }
        // Added and removed: active in one policy and not in the other (a retired agency is in neither's access).
        var added = ids.Where((_, i) => inOld[i] < 0 && inNew[i] >= 0).ToList();
        var removed = ids.Where((_, i) => inOld[i] >= 0 && inNew[i] < 0).ToList();
        // Windows of every agency both policies know, retired ones included (a reload keeps the window of one it took
        // out of the file): stored reads keep their owner's window, so a change of it reschedules them.
        var retention = new List<RetentionChange>();
        for (int a = 0; a < n; a++)
        {
            int o = oldPolicy?.Agencies.FindAny(Encoding.UTF8.GetBytes(ids[a])) ?? -1;
            int w = newPolicy.Agencies.FindAny(Encoding.UTF8.GetBytes(ids[a]));
            if (o < 0 || w < 0) continue;
            long before = oldPolicy!.RetentionMs(o), after = newPolicy.RetentionMs(w);
            if (before != after || oldPolicy.RetentionRule(o) != newPolicy.RetentionRule(w))
            {
                retention.Add(new RetentionChange(ids[a], before, oldPolicy.RetentionRule(o), after,
                    newPolicy.RetentionRule(w)));
            }
        }
        var keys = new List<KeyChange>();
        for (int a = 0; a < n; a++)
        {
            if (inOld[a] < 0 || inNew[a] < 0) continue;
            IReadOnlyList<byte[]> before = oldPolicy!.Agency(inOld[a]).Keys, after = newPolicy.Agency(inNew[a]).Keys;
            if (SameKeys(before, after)) continue;
            keys.Add(new KeyChange(ids[a], before.Count == 0 ? KeyChangeKind.Added
                : after.Count == 0 ? KeyChangeKind.Removed
                : KeyChangeKind.Rotated));
        }
        return new PolicyDiffResult(changes, oldPolicy is null ? [] : added, removed, pairs.Count, clock.Elapsed)
        {
            RetentionChanges = retention,
            KeyChanges = keys,
        };
    }

    /// <summary>The one-line summary a <c>policy_load</c> audit record carries (SPEC §7).</summary>
    public static PolicyChangeSummary Summarise(CompiledPolicy? oldPolicy, PolicyDiffResult diff) => new(
        oldPolicy?.Hash, diff.Granted, diff.Revoked,
        diff.Changes.FirstOrDefault(c => c.Kind == ChangeKind.Granted) is { Owner: not null } g ? g : null,
        diff.Changes.FirstOrDefault(c => c.Kind == ChangeKind.Revoked) is { Owner: not null } v ? v : null)
    {
        KeyChanges = diff.KeyChanges,
    };

    /// <summary>The same keys in the same order (the first signs): compared in constant time.</summary>
    private static bool SameKeys(IReadOnlyList<byte[]> a, IReadOnlyList<byte[]> b)
    {
        if (a.Count != b.Count) return false;
        bool same = true;
        for (int i = 0; i < a.Count; i++) same &= CryptographicOperations.FixedTimeEquals(a[i], b[i]);
        return same;
    }

    private static long Key(int owner, int recipient) => ((long)owner << 32) | (uint)recipient;

    private static bool SameLocalRules(CompiledPolicy a, CompiledPolicy b, string owner)
    {
        var x = a.Document.Rules.Where(r => r.Owners.Contains(owner)).ToList();
        var y = b.Document.Rules.Where(r => r.Owners.Contains(owner)).ToList();
        if (x.Count != y.Count) return false;
        for (int i = 0; i < x.Count; i++)
        {
            if (x[i].Id != y[i].Id || x[i].Citation != y[i].Citation || x[i].DenyPurposes != y[i].DenyPurposes
                || x[i].DenyAccess != y[i].DenyAccess
                || !x[i].DenyRecipients.Order().SequenceEqual(y[i].DenyRecipients.Order()))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>An agency whose retention window changed between two policies.</summary>
public sealed record RetentionChange(string Agency, long OldMs, string OldRule, long NewMs, string NewRule);

/// <summary>What a policy change did, as a <c>policy_load</c> audit record states it.</summary>
public sealed record PolicyChangeSummary(
    string? PreviousHash, int Granted, int Revoked, OutcomeChange? FirstGranted, OutcomeChange? FirstRevoked)
{
    /// <summary>Agencies whose signing keys changed (<see cref="PolicyDiffResult.KeyChanges"/>).</summary>
    public IReadOnlyList<KeyChange> KeyChanges { get; init; } = [];
}

/// <summary>How an agency's signing keys changed between two policies.</summary>
public enum KeyChangeKind : byte
{
    /// <summary>It had keys and has others (a new key, one retired, or another order: another key signs).</summary>
    Rotated,
    /// <summary>It had none and has one: its queries can authenticate from now on.</summary>
    Added,
    /// <summary>It had keys and has none: its queries no longer authenticate.</summary>
    Removed,
}

/// <summary>An agency whose signing keys changed between two policies.</summary>
public readonly record struct KeyChange(string Agency, KeyChangeKind Kind)
{
    /// <summary>The kind as the audit and <c>policy diff</c> name it: rotated, added, removed.</summary>
    public string KindText => Kind switch
    {
        KeyChangeKind.Added => "added",
        KeyChangeKind.Removed => "removed",
        _ => "rotated",
    };

    public override string ToString() => $"key {KindText} for agency {Agency}";
}
