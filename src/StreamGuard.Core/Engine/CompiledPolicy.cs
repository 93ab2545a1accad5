using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Policy;

namespace StreamGuard.Engine;

/// <summary>
/// A policy compiled into lookup tables indexed by interned agency: what the engine consults per event.
/// </summary>
/// <remarks>
/// <para>Evaluation order of SPEC §3 for (owner O, recipient R, access A, purpose P):
/// 1. R == O → <c>allow.own</c>;
/// 2. the statute rules of O's state (<see cref="StatuteRules"/>, built into the code) → <c>deny.statute</c>;
/// 3. local rules of O → <c>deny.local</c>;
/// 4. an agreement covering O, R, A and P that has not expired → <c>allow.agreement</c>; otherwise the most
///    specific denial among the agreements covering O and R: <c>deny.agreement_expired</c> (one covers A and P but has
///    expired) over <c>deny.purpose_not_granted</c> (one covers A, not P) over <c>deny.access_not_granted</c> (none
///    covers A) over <c>deny.no_agreement</c> (no agreement names both O and R).</para>
/// <para>Tables: statute rules become, per owner state and recipient, one purpose bit mask per rule (so a rule is a
/// shift and a test); agreements are indexed by the (owner, recipient) pair, so a decision is one hash lookup and a
/// scan of the few agreements naming that pair. <see cref="Decide"/> allocates nothing.</para>
/// <para>Indexes are stable across reloads: compile a new policy with the one in force as <c>previous</c>.</para>
/// </remarks>
public sealed class CompiledPolicy
{
    public const string DefaultDenyRule = "DEFAULT.DENY";
    public const string DefaultDenyCitation = "StreamGuard deny-by-default: no agreement grants this access";
    public const string OwnRule = "OWNER";
    public const string OwnCitation = "An agency's access to its own reads";
    public const string AgencyRetentionRule = "RETENTION.AGENCY";
    public const string AgencyRetentionCitation = "Agency retention window (policy file), shorter than any statute cap";
    public const string DefaultRetentionRule = "RETENTION.DEFAULT";
    public const string DefaultRetentionCitation = "Policy default_retention";

    /// <summary>
    /// Set in a statute mask when the rule is Minnesota's documented-search rule (not a purpose bit).
    /// </summary>
    private const ushort DocumentedSearchFlag = 0x8000;
    private const ushort AllPurposes = (1 << Purposes.Count) - 1;

    private readonly AgencyConfig[] _agencies;
    private readonly long[] _retentionMs;
    private readonly string[] _retentionRule;
    private readonly byte[][] _retentionRuleUtf8;
    private readonly string[] _retentionCitation;
    private readonly IReadOnlyList<byte[]>[] _keys;
    private readonly StatuteRule[][] _statutes;   // per owner: the rules of its state, in order
    private readonly ushort[][] _statuteMasks;    // per owner: [recipient * rules + k] = purposes rule k denies
    private readonly LocalRule[][] _localRules;   // per owner
    private readonly CompiledAgreement[] _agreements;
    // (owner << 32 | recipient) → start in _pairAgreements
    private readonly Dictionary<long, int> _pairs = new(PairKeyComparer.Instance);
    private readonly int[] _pairAgreements;             // count, then that many agreement indexes (file order)
    private readonly PushTarget[][] _pushTargets; // per owner

    public CompiledPolicy(PolicyDocument document, CompiledPolicy? previous = null)
    {
        Document = document;
        var inPolicy = new HashSet<string>(document.Agencies.Where(a => !a.Retired).Select(a => a.Id),
            StringComparer.Ordinal);
        var ids = new List<string>();
        if (previous is not null)
        {
            for (int i = 0; i < previous.Agencies.Count; i++) ids.Add(previous.Agencies.IdText(i));
        }
        var known = new HashSet<string>(ids, StringComparer.Ordinal);
        ids.AddRange(document.Agencies.Select(a => a.Id).Where(known.Add));
        var inFile = new HashSet<string>(document.Agencies.Select(a => a.Id), StringComparer.Ordinal);
        Agencies = new AgencyDirectory(ids, inPolicy.Contains, inFile.Contains);

        int n = Agencies.Count;
        _agencies = new AgencyConfig[n];
        _retentionMs = new long[n];
        _retentionRule = new string[n];
        _retentionCitation = new string[n];
        _keys = new IReadOnlyList<byte[]>[n];
        foreach (AgencyConfig a in document.Agencies)
        {
            int i = Agencies.FindAny(System.Text.Encoding.UTF8.GetBytes(a.Id)); // retired ones too
            _agencies[i] = a;
            _keys[i] = a.Keys;
            (_retentionMs[i], _retentionRule[i], _retentionCitation[i]) = Retention(a, document.DefaultRetention);
        }
        for (int i = 0; i < n; i++)
        {
            if (_agencies[i] is not null) continue;
            // Retired by this reload: its stored reads keep the window and statutes they had; it has no key and no
            // agreement, so it can neither search nor receive anything.
            _agencies[i] = previous!._agencies[i] with { Key = null, Keys = [], KeyRef = null };
            _keys[i] = [];
            _retentionMs[i] = previous._retentionMs[i];
            _retentionRule[i] = previous._retentionRule[i];
            _retentionCitation[i] = previous._retentionCitation[i];
        }

        _retentionRuleUtf8 = _retentionRule.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();

        var facts = _agencies.Select(AgencyFacts.Of).ToArray();
        _statutes = new StatuteRule[n][];
        _statuteMasks = new ushort[n][];
        var masksByState = new Dictionary<string, ushort[]>(StringComparer.Ordinal);
        for (int o = 0; o < n; o++)
        {
            string state = _agencies[o].State ?? "";
            _statutes[o] = StatuteRules.ForState(_agencies[o].State);
            if (!masksByState.TryGetValue(state, out ushort[]? masks))
            {
                masks = CompileStatutes(_statutes[o], facts);
                masksByState.Add(state, masks);
            }
            _statuteMasks[o] = masks;
        }

        _localRules = new LocalRule[n][];
        var rulesByOwner = new List<LocalRule>[n];
        foreach (LocalRuleConfig r in document.Rules)
        {
            bool[]? recipients = null;
            if (r.DenyRecipients.Count > 0)
            {
                recipients = new bool[n];
                foreach (string id in r.DenyRecipients) recipients[Agencies.Find(id)] = true;
            }
            var rule = new LocalRule(r.Id, r.Citation, r.DenyPurposes == 0 ? AllPurposes : r.DenyPurposes,
                r.DenyAccess == AccessSet.None ? AccessSet.Push | AccessSet.Search | AccessSet.Alert : r.DenyAccess,
                recipients);
            foreach (string owner in r.Owners) (rulesByOwner[Agencies.Find(owner)] ??= []).Add(rule);
        }
        for (int o = 0; o < n; o++) _localRules[o] = rulesByOwner[o]?.ToArray() ?? [];

        _agreements = new CompiledAgreement[document.Agreements.Count];
        var byPair = new Dictionary<long, List<int>>(PairKeyComparer.Instance);
        for (int k = 0; k < _agreements.Length; k++)
        {
            AgreementConfig a = document.Agreements[k];
            _agreements[k] = new CompiledAgreement(a.Id, a.Citation ?? $"Agreement {a.Id} ({document.Source}:{a.Line})",
                a.Access, a.Purposes, a.ExpiresAtMs ?? long.MaxValue);
            foreach (string owner in a.Owners)
            {
                int o = Agencies.Find(owner);
                foreach (string recipient in a.Recipients)
                {
                    int r = Agencies.Find(recipient);
                    if (o == r) continue;
                    long key = PairKey(o, r);
                    if (!byPair.TryGetValue(key, out List<int>? list)) byPair.Add(key, list = []);
                    list.Add(k);
                }
            }
        }
        var flat = new List<int>();
        var pushByOwner = new List<PushTarget>[n];
        foreach (var (key, list) in byPair.OrderBy(p => p.Key))
        {
            _pairs.Add(key, flat.Count);
            flat.Add(list.Count);
            flat.AddRange(list);
            ushort pushPurposes = 0;
            foreach (int k in list)
            {
                if ((_agreements[k].Access & AccessSet.Push) != 0) pushPurposes |= _agreements[k].Purposes;
            }
            if (pushPurposes != 0) (pushByOwner[(int)(key >> 32)] ??= []).Add(new PushTarget((int)key, pushPurposes));
        }
        _pairAgreements = [.. flat];
        _pushTargets = new PushTarget[n][];
        for (int o = 0; o < n; o++) _pushTargets[o] = pushByOwner[o]?.ToArray() ?? [];

        MaxClockSkewMs = (long)document.Search.MaxClockSkew.TotalMilliseconds;
        MaxWindowMs = (long)document.Search.MaxWindow.TotalMilliseconds;
        LongestRetentionMs = _retentionMs.Length == 0 ? 0 : _retentionMs.Max();
    }

    public PolicyDocument Document { get; }
    public AgencyDirectory Agencies { get; }
    public string Hash => Document.Hash;
    public long MaxClockSkewMs { get; }
    public long MaxWindowMs { get; }
    public long LongestRetentionMs { get; }
    public SearchSettings Search => Document.Search;
    public int AgreementCount => _agreements.Length;

    /// <summary>
    /// The agency at <paramref name="agency"/> (a retired agency keeps its last configuration, without key).
    /// </summary>
    public AgencyConfig Agency(int agency) => _agencies[agency];

    /// <summary>The retention window of an owner's reads, in milliseconds (SPEC §5).</summary>
    public long RetentionMs(int owner) => _retentionMs[owner];

    /// <summary>
    /// The rule that sets an owner's window: <c>&lt;ST&gt;.RETENTION</c>, <c>RETENTION.AGENCY</c> or
    /// <c>RETENTION.DEFAULT</c>.
    /// </summary>
    public string RetentionRule(int owner) => _retentionRule[owner];

    /// <summary><see cref="RetentionRule"/> in UTF-8, as purge notices carry it.</summary>
    public ReadOnlySpan<byte> RetentionRuleUtf8(int owner) => _retentionRuleUtf8[owner];

    public string RetentionCitation(int owner) => _retentionCitation[owner];

    /// <summary>
    /// Every rule a decision under this policy can name, with its citation, once each: the owner rule, deny by
    /// default, the owners' retention rules and statute rules, local rules and agreements. Audit entries name rules;
    /// the <c>policy_load</c> entry of the version carries this table, so citations are written once per version.
    /// </summary>
    public IEnumerable<(string Rule, string Citation)> RuleTable()
    {
        yield return (OwnRule, OwnCitation);
        yield return (DefaultDenyRule, DefaultDenyCitation);
        for (int i = 0; i < _retentionRule.Length; i++) yield return (_retentionRule[i], _retentionCitation[i]);
        foreach (StatuteRule[] rules in _statutes)
        {
            foreach (StatuteRule r in rules) yield return (r.Id, r.Citation);
        }
        foreach (LocalRule[] rules in _localRules)
        {
            foreach (LocalRule r in rules) yield return (r.Id, r.Citation);
        }
        foreach (CompiledAgreement a in _agreements) yield return (a.Id, a.Citation);
    }

    /// <summary>The agency's live query-signing keys (empty: its queries cannot authenticate).</summary>
    public IReadOnlyList<byte[]> Keys(int agency) => _keys[agency];

    /// <summary>
    /// Recipients that agreements name for push deliveries of <paramref name="owner"/>'s reads, with the purposes
    /// granted.
    /// </summary>
    internal ReadOnlySpan<PushTarget> PushTargets(int owner) => _pushTargets[owner];

    /// <summary>
    /// Evaluates a request of <paramref name="recipient"/> for <paramref name="owner"/>'s reads in the order of
    /// SPEC §3. <paramref name="documented"/>: the request carries a case number and a reason.
    /// <paramref name="nowMs"/>: the engine's clock, against which agreements expire.
    /// </summary>
    public Decision Decide(int owner, int recipient, Access access, Purpose purpose, bool documented, long nowMs)
    {
        if (owner == recipient) return new Decision(DecisionCode.AllowOwn, OwnRule, OwnCitation);

        StatuteRule[] statutes = _statutes[owner];
        if (statutes.Length != 0)
        {
            ushort[] masks = _statuteMasks[owner];
            int start = recipient * statutes.Length;
            for (int k = 0; k < statutes.Length; k++)
            {
                int mask = masks[start + k];
                if (((mask >> (int)purpose) & 1) != 0
                    || ((mask & DocumentedSearchFlag) != 0 && access == Access.Search && !documented))
                {
                    return new Decision(DecisionCode.DenyStatute, statutes[k].Id, statutes[k].Citation);
                }
            }
        }

        AccessSet accessBit = (AccessSet)(1 << (int)access);
        int purposeBit = 1 << (int)purpose;
        foreach (LocalRule rule in _localRules[owner])
        {
            if ((rule.Purposes & purposeBit) != 0 && (rule.Access & accessBit) != 0
                && (rule.Recipients is null || rule.Recipients[recipient]))
            {
                return new Decision(DecisionCode.DenyLocal, rule.Id, rule.Citation);
            }
        }

        if (!_pairs.TryGetValue(PairKey(owner, recipient), out int at))
        {
            return new Decision(DecisionCode.DenyNoAgreement, DefaultDenyRule, DefaultDenyCitation);
        }
        int count = _pairAgreements[at];
        int bestLevel = 0, best = -1;
        for (int j = 1; j <= count; j++)
        {
            CompiledAgreement a = _agreements[_pairAgreements[at + j]];
            int level;
            if ((a.Access & accessBit) == 0) level = 1;
            else if ((a.Purposes & purposeBit) == 0) level = 2;
            else if (nowMs >= a.ExpiresAtMs) level = 3;
            else return new Decision(DecisionCode.AllowAgreement, a.Id, a.Citation);
            if (level > bestLevel) { bestLevel = level; best = _pairAgreements[at + j]; }
        }
        CompiledAgreement deciding = _agreements[best];
        DecisionCode code = bestLevel switch
        {
            3 => DecisionCode.DenyAgreementExpired,
            2 => DecisionCode.DenyPurposeNotGranted,
            _ => DecisionCode.DenyAccessNotGranted,
        };
        return new Decision(code, deciding.Id, deciding.Citation);
    }

    /// <summary>
    /// The agreements naming both <paramref name="owner"/> and <paramref name="recipient"/>, in file order.
    /// </summary>
    public IEnumerable<AgreementConfig> AgreementsFor(int owner, int recipient)
    {
        if (!_pairs.TryGetValue(PairKey(owner, recipient), out int at)) yield break;
        for (int j = 1; j <= _pairAgreements[at]; j++) yield return Document.Agreements[_pairAgreements[at + j]];
    }

    /// <summary>Every (owner, recipient) pair that some agreement names, owner ≠ recipient.</summary>
    public IEnumerable<(int Owner, int Recipient)> AgreementPairs() =>
        _pairs.Keys.Select(k => ((int)(k >> 32), (int)(uint)k));

    /// <summary>True when some local rule applies to <paramref name="owner"/>.</summary>
    public bool HasLocalRules(int owner) => _localRules[owner].Length != 0;

    private static long PairKey(int owner, int recipient) => ((long)owner << 32) | (uint)recipient;

    private static (long Ms, string Rule, string Citation) Retention(AgencyConfig a, TimeSpan defaultRetention)
    {
        RetentionCap? cap = StatuteRules.RetentionCapFor(a.State);
        // A window equal to the cap is the statute's: the agency's rule is cited only where it is the shorter one.
        if (a.Retention is { } own && (cap is null || own < cap.CapFor(a.Level)))
        {
            return ((long)own.TotalMilliseconds, AgencyRetentionRule, AgencyRetentionCitation);
        }
        if (cap is not null) return ((long)cap.CapFor(a.Level).TotalMilliseconds, cap.Id, cap.Citation);
        return ((long)defaultRetention.TotalMilliseconds, DefaultRetentionRule, DefaultRetentionCitation);
    }

    /// <summary>
    /// Per recipient and rule, the purposes the rule denies (the reference is <see cref="StatuteRules.Denies"/>).
    /// </summary>
    private static ushort[] CompileStatutes(StatuteRule[] rules, AgencyFacts[] recipients)
    {
        var masks = new ushort[recipients.Length * rules.Length];
        for (int r = 0; r < recipients.Length; r++)
        {
            for (int k = 0; k < rules.Length; k++)
            {
                ushort mask = 0;
                if (rules[k].Check == StatuteCheck.DocumentedSearch)
                {
                    mask = DocumentedSearchFlag;
                }
                else
                {
                    for (int p = 0; p < Purposes.Count; p++)
                    {
                        if (StatuteRules.Denies(rules[k], recipients[r], Access.Push, (Purpose)p, documented: true))
                        {
                            mask |= (ushort)(1 << p);
                        }
                    }
                }
                masks[r * rules.Length + k] = mask;
            }
        }
        return masks;
    }

    private sealed record LocalRule(string Id, string Citation, ushort Purposes, AccessSet Access, bool[]? Recipients);

    private sealed record CompiledAgreement(
        string Id, string Citation, AccessSet Access, ushort Purposes, long ExpiresAtMs);
}

/// <summary>
/// A recipient that agreements name for push deliveries of an owner's reads, and the purposes they grant.
/// </summary>
internal readonly record struct PushTarget(int Recipient, ushort Purposes);
