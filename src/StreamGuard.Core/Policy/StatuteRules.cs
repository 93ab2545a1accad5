using StreamGuard.Events;

namespace StreamGuard.Policy;

/// <summary>What a statute rule checks (SPEC §4; shared/domain/alpr-law.md Part A).</summary>
public enum StatuteCheck : byte
{
    /// <summary>Denies unless the recipient is a public agency (local, county, state) of the owner's state.</summary>
    PublicAgencyOfOwnerState,
    /// <summary>Denies the purposes in <see cref="StatuteRule.Purposes"/>.</summary>
    ForbiddenPurposes,
    /// <summary>Denies every purpose not in <see cref="StatuteRule.Purposes"/>.</summary>
    AllowedPurposesOnly,
    /// <summary>Illinois: a recipient outside the state needs the declaration on file.</summary>
    InStateOrDeclaration,
    /// <summary>Oregon: outside public agencies only for the purposes in <see cref="StatuteRule.Purposes"/>.</summary>
    PublicAgencyOfOwnerStateOrPurpose,
    /// <summary>Maryland: no recipient but the state's fusion center.</summary>
    FusionCenterOnly,
    /// <summary>Connecticut: in state, or an agency of MA, NY or RI with the declaration on file.</summary>
    InStateOrNeighbourWithDeclaration,
    /// <summary>Minnesota: a search must document its purpose (case number and reason).</summary>
    DocumentedSearch,
}

/// <summary>One built-in statute rule: stable id, the owner state it protects, its check, citation and status.</summary>
/// <remarks>Built into the code on purpose: a policy file cannot switch a statute off.</remarks>
public sealed record StatuteRule(string Id, string State, StatuteCheck Check, string Citation, string Status, bool Confirmed)
{
    public IReadOnlyList<Purpose> Purposes { get; init; } = [];
    public string? Declaration { get; init; }
    public IReadOnlyList<string> States { get; init; } = [];
}

/// <summary>The facts about an agency that statute rules look at.</summary>
public readonly record struct AgencyFacts(string? State, AgencyLevel Level, bool FusionCenter, IReadOnlyList<string> Declarations)
{
    public static AgencyFacts Of(AgencyConfig a) => new(a.State, a.Level, a.FusionCenter, a.Declarations);

    /// <summary>"Public agency of ST": state ST and level local, county or state (Part A).</summary>
    public bool IsPublicAgencyOf(string state) =>
        State == state && Level is AgencyLevel.Local or AgencyLevel.County or AgencyLevel.State;
}

/// <summary>The rule packs of SPEC §4, keyed by the owner agency's state, in evaluation order.</summary>
public static class StatuteRules
{
    private static readonly Purpose[] s_healthAndImmigration = [Purpose.ImmigrationEnforcement, Purpose.ReproductiveHealth, Purpose.GenderAffirmingCare];

    public static IReadOnlyList<StatuteRule> All { get; } =
    [
        new("CA.PUBLIC_AGENCY_ONLY", "CA", StatuteCheck.PublicAgencyOfOwnerState, "Cal. Civ. Code §1798.90.55(b); Cal. AG Bulletin 2023-DLE-06", "enacted", true),
        new("CA.VALUES_ACT", "CA", StatuteCheck.ForbiddenPurposes, "Cal. Gov. Code §7284.6 (SB 54)", "enacted", true) { Purposes = [Purpose.ImmigrationEnforcement] },
        new("IL.DECLARATION_REQUIRED", "IL", StatuteCheck.InStateOrDeclaration, "625 ILCS 5/2-130", "enacted", true) { Declaration = "IL-625-ILCS-5/2-130" },
        new("IL.FORBIDDEN_PURPOSE", "IL", StatuteCheck.ForbiddenPurposes, "625 ILCS 5/2-130", "enacted", true) { Purposes = s_healthAndImmigration },
        new("VA.IN_STATE_ONLY", "VA", StatuteCheck.PublicAgencyOfOwnerState, "Va. Code §2.2-5517", "enacted 2025", true),
        new("VA.PURPOSE", "VA", StatuteCheck.AllowedPurposesOnly, "Va. Code §2.2-5517", "enacted 2025", true)
        {
            Purposes = [Purpose.CriminalInvestigation, Purpose.MissingPerson, Purpose.HumanTrafficking, Purpose.StolenVehicle, Purpose.Warrant, Purpose.AmberAlert],
        },
        new("WA.IMMIGRATION", "WA", StatuteCheck.ForbiddenPurposes, "Wash. SB 6002 (2026)", "signature unconfirmed", false) { Purposes = [Purpose.ImmigrationEnforcement] },
        new("WA.OUT_OF_STATE", "WA", StatuteCheck.PublicAgencyOfOwnerState, "Wash. SB 6002 (2026)", "signature unconfirmed", false),
        new("OR.OUT_OF_STATE", "OR", StatuteCheck.PublicAgencyOfOwnerStateOrPurpose, "Or. SB 1516 (2026)", "enacted 2026", true)
        {
            Purposes = [Purpose.CriminalInvestigation, Purpose.MissingPerson, Purpose.AmberAlert, Purpose.HumanTrafficking],
        },
        new("MD.NO_SHARING", "MD", StatuteCheck.FusionCenterOnly, "Md. Code, Public Safety §3-509", "enacted", true),
        new("CT.OUT_OF_STATE", "CT", StatuteCheck.InStateOrNeighbourWithDeclaration, "Conn. Public Act 26-14", "details unconfirmed", false)
        {
            Declaration = "CT-PA-26-14", States = ["MA", "NY", "RI"],
        },
        new("CT.FORBIDDEN_PURPOSE", "CT", StatuteCheck.ForbiddenPurposes, "Conn. Public Act 26-14", "details unconfirmed", false) { Purposes = s_healthAndImmigration },
        new("MN.DOCUMENTED_PURPOSE", "MN", StatuteCheck.DocumentedSearch, "Minn. Stat. §13.824", "enacted", true),
    ];

    /// <summary>The rules protecting an owner of <paramref name="state"/>, in evaluation order (empty for none).</summary>
    public static StatuteRule[] ForState(string? state) => All.Where(r => r.State == state).ToArray();

    /// <summary>
    /// True when <paramref name="rule"/> denies recipient <paramref name="recipient"/> access to reads of an owner
    /// in the rule's state. <paramref name="documented"/>: the request carries a case number and a reason.
    /// </summary>
    public static bool Denies(StatuteRule rule, in AgencyFacts recipient, Engine.Access access, Purpose purpose, bool documented) => rule.Check switch
    {
        StatuteCheck.PublicAgencyOfOwnerState => !recipient.IsPublicAgencyOf(rule.State),
        StatuteCheck.ForbiddenPurposes => Contains(rule.Purposes, purpose),
        StatuteCheck.AllowedPurposesOnly => !Contains(rule.Purposes, purpose),
        StatuteCheck.InStateOrDeclaration => recipient.State != rule.State && !Contains(recipient.Declarations, rule.Declaration),
        StatuteCheck.PublicAgencyOfOwnerStateOrPurpose => !recipient.IsPublicAgencyOf(rule.State) && !Contains(rule.Purposes, purpose),
        StatuteCheck.FusionCenterOnly => !(recipient.State == rule.State && recipient.FusionCenter),
        StatuteCheck.InStateOrNeighbourWithDeclaration => recipient.State != rule.State &&
            !(recipient.State is not null && Contains(rule.States, recipient.State) && Contains(recipient.Declarations, rule.Declaration)),
        StatuteCheck.DocumentedSearch => access == Engine.Access.Search && !documented,
        _ => true, // an unknown check denies: a rule can never fail open
    };

    private static bool Contains(IReadOnlyList<Purpose> list, Purpose p)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == p) return true;
        }
        return false;
    }

    private static bool Contains(IReadOnlyList<string> list, string? value)
    {
        if (value is null) return false;
        for (int i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal)) return true;
        }
        return false;
    }
}
