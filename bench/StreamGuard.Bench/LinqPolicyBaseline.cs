using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

// The baseline: the policy code a straightforward service would write. It evaluates SPEC §3 straight from the loaded
// PolicyDocument, with agencies by string id in a Dictionary and LINQ over the statute, rule and agreement lists,
// and nothing precompiled. It is also a second, independent reading of SPEC §3: PolicyBenchmarks checks that it
// gives the same decision (code, rule, citation) as CompiledPolicy.Decide for every benchmark request.

/// <summary>SPEC §3 evaluation over <see cref="PolicyDocument"/> with LINQ and a dictionary of agencies.</summary>
public sealed class LinqPolicyBaseline
{
    private readonly PolicyDocument _document;
    private readonly Dictionary<string, AgencyConfig> _agencies;

    public LinqPolicyBaseline(PolicyDocument document)
    {
        _document = document;
        _agencies = document.Agencies.ToDictionary(a => a.Id, StringComparer.Ordinal);
    }

    public Decision Decide(string owner, string recipient, Access access, Purpose purpose, bool documented, long nowMs)
    {
        // 1. Own reads.
        if (owner == recipient)
        {
            return new Decision(DecisionCode.AllowOwn, CompiledPolicy.OwnRule, CompiledPolicy.OwnCitation);
        }

        // 2. Statutes of the owner's state, in order.
        AgencyConfig o = _agencies[owner];
        AgencyFacts r = AgencyFacts.Of(_agencies[recipient]);
        StatuteRule? statute = StatuteRules.ForState(o.State)
            .FirstOrDefault(s => StatuteRules.Denies(s, r, access, purpose, documented));
        if (statute is not null) return new Decision(DecisionCode.DenyStatute, statute.Id, statute.Citation);

        // 3. Local rules of the owner: an unstated condition holds for every request.
        AccessSet accessBit = (AccessSet)(1 << (int)access);
        ushort purposeBit = (ushort)(1 << (int)purpose);
        LocalRuleConfig? rule = _document.Rules
            .Where(x => x.Owners.Contains(owner))
            .FirstOrDefault(x => (x.DenyPurposes == 0 || (x.DenyPurposes & purposeBit) != 0)
                && (x.DenyAccess == AccessSet.None || (x.DenyAccess & accessBit) != 0)
                && (x.DenyRecipients.Count == 0 || x.DenyRecipients.Contains(recipient)));
        if (rule is not null) return new Decision(DecisionCode.DenyLocal, rule.Id, rule.Citation);

        // 4. Agreements naming both; the first that grants wins, else the most specific denial.
        List<AgreementConfig> named = _document.Agreements
            .Where(a => a.Owners.Contains(owner) && a.Recipients.Contains(recipient)).ToList();
        if (named.Count == 0)
        {
            return new Decision(DecisionCode.DenyNoAgreement, CompiledPolicy.DefaultDenyRule,
                CompiledPolicy.DefaultDenyCitation);
        }
        AgreementConfig? grant = named.FirstOrDefault(a => (a.Access & accessBit) != 0
            && (a.Purposes & purposeBit) != 0
            && nowMs < (a.ExpiresAtMs ?? long.MaxValue));
        if (grant is not null) return new Decision(DecisionCode.AllowAgreement, grant.Id, Citation(grant));

        // OrderByDescending is stable: among equally specific denials the first in the file decides.
        var (deciding, code) = named
            .Select(a => (Agreement: a, Code: (a.Access & accessBit) == 0 ? DecisionCode.DenyAccessNotGranted
                : (a.Purposes & purposeBit) == 0 ? DecisionCode.DenyPurposeNotGranted
                : DecisionCode.DenyAgreementExpired))
            .OrderByDescending(x => Specificity(x.Code))
            .First();
        return new Decision(code, deciding.Id, Citation(deciding));
    }

    private string Citation(AgreementConfig a) => a.Citation ?? $"Agreement {a.Id} ({_document.Source}:{a.Line})";

    private static int Specificity(DecisionCode code) => code switch
    {
        DecisionCode.DenyAgreementExpired => 3,
        DecisionCode.DenyPurposeNotGranted => 2,
        _ => 1,
    };
}
