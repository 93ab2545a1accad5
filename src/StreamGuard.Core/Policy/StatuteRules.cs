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
    /// <summary>Maryland: no recipient but the state's fusion center (a Maryland state-level agency with the flag).
    /// </summary>
    FusionCenterOnly,
    /// <summary>Connecticut: in state, or an agency of MA, NY or RI with the declaration on file.</summary>
    InStateOrNeighbourWithDeclaration,
    /// <summary>Minnesota: a search must document its purpose (case number and reason).</summary>
    DocumentedSearch,
}

/// <summary>
/// One built-in statute rule: stable id, the owner state it protects, its check, citation and status.
/// </summary>
/// <remarks>Built into the code on purpose: a policy file cannot switch a statute off.</remarks>
public sealed record StatuteRule(
    string Id, string State, StatuteCheck Check, string Citation, string Status, bool Confirmed)
{
    public IReadOnlyList<Purpose> Purposes { get; init; } = [];
    public string? Declaration { get; init; }
    public IReadOnlyList<string> States { get; init; } = [];
}

/// <summary>
/// A statute's cap on how long ordinary (non-held) reads of an owner in <see cref="State"/> may be kept, measured from
/// <c>observed_at</c> (shared/domain/alpr-law.md Part A). Months count as 30 days and years as 365, so a window never
/// exceeds the calendar cap it encodes.
/// </summary>
public sealed record RetentionCap(string Id, string State, TimeSpan Cap, string Citation, string Status, bool Confirmed)
{
    /// <summary>A different cap for <c>level: private</c> owners (Arkansas), or null.</summary>
    public TimeSpan? PrivateCap { get; init; }

    /// <summary>The cap that applies to an owner of <paramref name="level"/>.</summary>
    public TimeSpan CapFor(AgencyLevel level) => level == AgencyLevel.Private && PrivateCap is { } p ? p : Cap;
}

/// <summary>The facts about an agency that statute rules look at.</summary>
public readonly record struct AgencyFacts(
    string? State, AgencyLevel Level, bool FusionCenter, IReadOnlyList<string> Declarations)
{
    public static AgencyFacts Of(AgencyConfig a) => new(a.State, a.Level, a.FusionCenter, a.Declarations);

    /// <summary>"Public agency of ST": state ST and level local, county or state (Part A).</summary>
    public bool IsPublicAgencyOf(string state) =>
        State == state && Level is AgencyLevel.Local or AgencyLevel.County or AgencyLevel.State;
}

/// <summary>The rule packs of SPEC §4, keyed by the owner agency's state, in evaluation order.</summary>
public static class StatuteRules
{
    private static readonly Purpose[] s_healthAndImmigration =
        [Purpose.ImmigrationEnforcement, Purpose.ReproductiveHealth, Purpose.GenderAffirmingCare];

    public static IReadOnlyList<StatuteRule> All { get; } =
    [
        new("CA.PUBLIC_AGENCY_ONLY", "CA", StatuteCheck.PublicAgencyOfOwnerState,
            "Cal. Civ. Code §1798.90.55(b); Cal. AG Bulletin 2023-DLE-06", "enacted", true),
        new("CA.VALUES_ACT", "CA", StatuteCheck.ForbiddenPurposes, "Cal. Gov. Code §7284.6 (SB 54)", "enacted", true)
        {
            Purposes = [Purpose.ImmigrationEnforcement],
        },
        new("IL.DECLARATION_REQUIRED", "IL", StatuteCheck.InStateOrDeclaration, "625 ILCS 5/2-130", "enacted", true)
        {
            Declaration = "IL-625-ILCS-5/2-130",
        },
        new("IL.FORBIDDEN_PURPOSE", "IL", StatuteCheck.ForbiddenPurposes, "625 ILCS 5/2-130", "enacted", true)
        {
            Purposes = s_healthAndImmigration,
        },
        new("VA.IN_STATE_ONLY", "VA", StatuteCheck.PublicAgencyOfOwnerState, "Va. Code §2.2-5517",
            "enacted 2025", true),
        new("VA.PURPOSE", "VA", StatuteCheck.AllowedPurposesOnly, "Va. Code §2.2-5517", "enacted 2025", true)
        {
            Purposes =
            [
                Purpose.CriminalInvestigation, Purpose.MissingPerson, Purpose.HumanTrafficking, Purpose.StolenVehicle,
                Purpose.Warrant, Purpose.AmberAlert,
            ],
        },
        new("WA.IMMIGRATION", "WA", StatuteCheck.ForbiddenPurposes, "Wash. SB 6002 (2026)",
            "signature unconfirmed", false)
        {
            Purposes = [Purpose.ImmigrationEnforcement],
        },
        new("WA.OUT_OF_STATE", "WA", StatuteCheck.PublicAgencyOfOwnerState, "Wash. SB 6002 (2026)",
            "signature unconfirmed", false),
        new("OR.OUT_OF_STATE", "OR", StatuteCheck.PublicAgencyOfOwnerStateOrPurpose, "Or. SB 1516 (2026)",
            "enacted 2026", true)
        {
            Purposes =
                [Purpose.CriminalInvestigation, Purpose.MissingPerson, Purpose.AmberAlert, Purpose.HumanTrafficking],
        },
        new("MD.NO_SHARING", "MD", StatuteCheck.FusionCenterOnly, "Md. Code, Public Safety §3-509", "enacted", true),
        new("CT.OUT_OF_STATE", "CT", StatuteCheck.InStateOrNeighbourWithDeclaration, "Conn. Public Act 26-14",
            "details unconfirmed", false)
        {
            Declaration = "CT-PA-26-14", States = ["MA", "NY", "RI"],
        },
        new("CT.FORBIDDEN_PURPOSE", "CT", StatuteCheck.ForbiddenPurposes, "Conn. Public Act 26-14",
            "details unconfirmed", false)
        {
            Purposes = s_healthAndImmigration,
        },
        new("MN.DOCUMENTED_PURPOSE", "MN", StatuteCheck.DocumentedSearch, "Minn. Stat. §13.824", "enacted", true),
    ];

    /// <summary>Retention caps of Part A, one per state.</summary>
    public static IReadOnlyList<RetentionCap> RetentionCaps { get; } =
    [
        new("NH.RETENTION", "NH", TimeSpan.FromMinutes(3), "N.H. RSA 261:75-b",
            "enacted (sunset 2027-01-01 unless extended)", true),
        new("ME.RETENTION", "ME", TimeSpan.FromDays(21), "29-A M.R.S. §2117-A", "enacted", true),
        new("VA.RETENTION", "VA", TimeSpan.FromDays(21), "Va. Code §2.2-5517", "enacted 2025", true),
        new("WA.RETENTION", "WA", TimeSpan.FromDays(21), "Wash. SB 6002 (2026)", "signature unconfirmed", false),
        new("OR.RETENTION", "OR", TimeSpan.FromDays(30), "Or. SB 1516 (2026)", "enacted 2026", true),
        new("MN.RETENTION", "MN", TimeSpan.FromDays(60), "Minn. Stat. §13.824 subd. 3", "enacted", true),
        new("MT.RETENTION", "MT", TimeSpan.FromDays(90), "Mont. Code Ann. §46-5-118", "enacted", true),
        new("NC.RETENTION", "NC", TimeSpan.FromDays(90), "N.C. Gen. Stat. §20-183.32", "enacted", true),
        new("TN.RETENTION", "TN", TimeSpan.FromDays(90), "Tenn. Code Ann. §55-10-302", "enacted", true),
        new("AR.RETENTION", "AR", TimeSpan.FromDays(150), "Ark. Code §12-12-1804", "enacted", true)
        {
            PrivateCap = TimeSpan.FromDays(60),
        },
        new("NE.RETENTION", "NE", TimeSpan.FromDays(180), "Neb. Rev. Stat. §60-3205", "enacted", true),
        new("UT.RETENTION", "UT", TimeSpan.FromDays(9 * 30), "Utah Code §41-6a-2004", "enacted", true),
        new("CO.RETENTION", "CO", TimeSpan.FromDays(365), "Colo. Rev. Stat. §24-72-113",
            "applicability unconfirmed", false),
        new("VT.RETENTION", "VT", TimeSpan.FromDays(18 * 30), "23 V.S.A. §1607", "enacted", true),
        new("GA.RETENTION", "GA", TimeSpan.FromDays(30 * 30), "O.C.G.A. §35-1-22", "enacted", true),
    ];

    /// <summary>
    /// SHA-256 (<c>sha256:</c> and hex) over every statute rule and retention cap as built: which statute rules a
    /// <c>policy_load</c> audit entry was enforced under.
    /// </summary>
    public static string TableHash => s_tableHash.Value;

    private static readonly Lazy<string> s_tableHash = new(() =>
    {
        var text = new System.Text.StringBuilder();
        foreach (StatuteRule r in All)
        {
            text.Append(r).Append('|').AppendJoin(',', r.Purposes).Append('|').Append(r.Declaration)
                .Append('|').AppendJoin(',', r.States).Append('\n');
        }
        foreach (RetentionCap c in RetentionCaps) text.Append(c).Append('\n');
        byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
        return "sha256:" + Convert.ToHexStringLower(hash);
    });

    /// <summary>The retention cap of an owner's state, or null when its state has none.</summary>
    public static RetentionCap? RetentionCapFor(string? state)
    {
        if (state is null) return null;
        foreach (RetentionCap cap in RetentionCaps)
        {
            if (cap.State == state) return cap;
        }
        return null;
    }

    /// <summary>
    /// The rules protecting an owner of <paramref name="state"/>, in evaluation order (empty for none).
    /// </summary>
    public static StatuteRule[] ForState(string? state) => All.Where(r => r.State == state).ToArray();

    /// <summary>
    /// True when <paramref name="rule"/> denies recipient <paramref name="recipient"/> access to reads of an owner
    /// in the rule's state. <paramref name="documented"/>: the request carries a case number and a reason.
    /// </summary>
    public static bool Denies(StatuteRule rule, in AgencyFacts recipient, Engine.Access access, Purpose purpose,
        bool documented) => rule.Check switch
    {
        StatuteCheck.PublicAgencyOfOwnerState => !recipient.IsPublicAgencyOf(rule.State),
        StatuteCheck.ForbiddenPurposes => Contains(rule.Purposes, purpose),
        StatuteCheck.AllowedPurposesOnly => !Contains(rule.Purposes, purpose),
        StatuteCheck.InStateOrDeclaration =>
            recipient.State != rule.State && !Contains(recipient.Declarations, rule.Declaration),
        StatuteCheck.PublicAgencyOfOwnerStateOrPurpose =>
            !recipient.IsPublicAgencyOf(rule.State) && !Contains(rule.Purposes, purpose),
        // The loader refuses the flag elsewhere; the rule checks the level too, so no agency built another way passes.
        StatuteCheck.FusionCenterOnly =>
            !(recipient.State == rule.State && recipient.Level == AgencyLevel.State && recipient.FusionCenter),
        StatuteCheck.InStateOrNeighbourWithDeclaration => recipient.State != rule.State &&
            !(recipient.State is not null && Contains(rule.States, recipient.State)
                && Contains(recipient.Declarations, rule.Declaration)),
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
