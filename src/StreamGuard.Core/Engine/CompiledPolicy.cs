using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Policy;

namespace StreamGuard.Engine;

/// <summary>
/// A policy compiled into lookup tables indexed by interned agency: what the engine consults per event.
/// </summary>
/// <remarks>
/// This build evaluates step 1 of SPEC §3 (an owner's own reads) and step 2 (the statute rules of the owner's
/// state, built into the code: <see cref="StatuteRules"/>), then denies by default with <c>deny.no_agreement</c>
/// under rule <c>DEFAULT.DENY</c>: local rules and agreements come with the policy engine. Deny by default means
/// a missing evaluation can only withhold, never disclose.
/// </remarks>
public sealed class CompiledPolicy
{
    public const string DefaultDenyRule = "DEFAULT.DENY";
    public const string DefaultDenyCitation = "StreamGuard deny-by-default: no agreement grants this access (SPEC §1, §3 step 4)";
    public const string OwnRule = "OWNER";
    public const string OwnCitation = "An agency's access to its own reads (SPEC §3 step 1)";

    private readonly long[] _retentionMs;
    private readonly byte[]?[] _keys;
    private readonly StatuteRule[][] _statutes;
    private readonly AgencyFacts[] _facts;

    public CompiledPolicy(PolicyDocument document)
    {
        Document = document;
        Agencies = new AgencyDirectory(document.Agencies.Select(a => a.Id));
        _retentionMs = new long[document.Agencies.Count];
        _keys = new byte[]?[document.Agencies.Count];
        _statutes = new StatuteRule[document.Agencies.Count][];
        _facts = new AgencyFacts[document.Agencies.Count];
        for (int i = 0; i < document.Agencies.Count; i++)
        {
            AgencyConfig a = document.Agencies[i];
            _statutes[i] = StatuteRules.ForState(a.State);
            _facts[i] = AgencyFacts.Of(a);
            _retentionMs[i] = (long)(a.Retention ?? document.DefaultRetention).TotalMilliseconds;
            _keys[i] = a.Key;
        }
        MaxClockSkewMs = (long)document.Search.MaxClockSkew.TotalMilliseconds;
        MaxWindowMs = (long)document.Search.MaxWindow.TotalMilliseconds;
    }

    public PolicyDocument Document { get; }
    public AgencyDirectory Agencies { get; }
    public string Hash => Document.Hash;
    public long MaxClockSkewMs { get; }
    public long MaxWindowMs { get; }
    public SearchSettings Search => Document.Search;

    public AgencyConfig Agency(int agency) => Document.Agencies[agency];

    /// <summary>The retention window of an owner's reads, in milliseconds.</summary>
    public long RetentionMs(int owner) => _retentionMs[owner];

    /// <summary>The agency's query-signing key, or null when it has none (its queries cannot authenticate).</summary>
    public byte[]? Key(int agency) => _keys[agency];

    /// <summary>
    /// Evaluates a request of <paramref name="recipient"/> for <paramref name="owner"/>'s reads: the owner's own
    /// access, then the first statute rule of the owner's state that denies, then deny by default.
    /// <paramref name="documented"/>: the request carries a case number and a reason.
    /// </summary>
    public Decision Decide(int owner, int recipient, Access access, Purpose purpose, bool documented = true)
    {
        if (owner == recipient) return new Decision(DecisionCode.AllowOwn, OwnRule, OwnCitation);
        foreach (StatuteRule rule in _statutes[owner])
        {
            if (StatuteRules.Denies(rule, _facts[recipient], access, purpose, documented))
            {
                return new Decision(DecisionCode.DenyStatute, rule.Id, rule.Citation);
            }
        }
        return new Decision(DecisionCode.DenyNoAgreement, DefaultDenyRule, DefaultDenyCitation);
    }
}
