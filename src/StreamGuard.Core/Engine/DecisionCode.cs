namespace StreamGuard.Engine;

/// <summary>Decision codes of SPEC §3, §5 and §7.</summary>
public enum DecisionCode : byte
{
    AllowOwn,
    AllowAgreement,
    AllowIngest,
    AllowSearch,
    DenyStatute,
    DenyLocal,
    DenyNoAgreement,
    DenyAgreementExpired,
    DenyAccessNotGranted,
    DenyPurposeNotGranted,
    DenyUnauthenticated,
    DenyReplayed,
    DenyMissingCaseNumber,
    DenyMissingReason,
    DenyWindowTooWide,
    DropExpiredOnArrival,
    Purged,
    HoldPlaced,
    HoldReleased,
    HoldRetained,
    DropDuplicate,
    DropStoreFull,
}

public static class DecisionCodes
{
    public const int Count = (int)DecisionCode.DropStoreFull + 1;

    public static bool IsAllow(DecisionCode code) => code <= DecisionCode.AllowSearch;

    public static ReadOnlySpan<byte> Utf8(DecisionCode code) => code switch
    {
        DecisionCode.AllowOwn => "allow.own"u8,
        DecisionCode.AllowAgreement => "allow.agreement"u8,
        DecisionCode.AllowIngest => "allow.ingest"u8,
        DecisionCode.AllowSearch => "allow.search"u8,
        DecisionCode.DenyStatute => "deny.statute"u8,
        DecisionCode.DenyLocal => "deny.local"u8,
        DecisionCode.DenyNoAgreement => "deny.no_agreement"u8,
        DecisionCode.DenyAgreementExpired => "deny.agreement_expired"u8,
        DecisionCode.DenyAccessNotGranted => "deny.access_not_granted"u8,
        DecisionCode.DenyPurposeNotGranted => "deny.purpose_not_granted"u8,
        DecisionCode.DenyUnauthenticated => "deny.unauthenticated"u8,
        DecisionCode.DenyReplayed => "deny.replayed"u8,
        DecisionCode.DenyMissingCaseNumber => "deny.missing_case_number"u8,
        DecisionCode.DenyMissingReason => "deny.missing_reason"u8,
        DecisionCode.DenyWindowTooWide => "deny.window_too_wide"u8,
        DecisionCode.DropExpiredOnArrival => "drop.expired_on_arrival"u8,
        DecisionCode.HoldPlaced => "hold.place"u8,
        DecisionCode.HoldReleased => "hold.release"u8,
        DecisionCode.HoldRetained => "hold.retain"u8,
        DecisionCode.DropDuplicate => "drop.duplicate"u8,
        DecisionCode.DropStoreFull => "drop.store_full"u8,
        _ => "purge.expired"u8,
    };

    public static string Text(DecisionCode code) => System.Text.Encoding.UTF8.GetString(Utf8(code));
}

/// <summary>Access kinds of SPEC §3.</summary>
public enum Access : byte
{
    Push,
    Search,
    Alert,
}

/// <summary>The outcome of evaluating one request: code, and the rule and citation that decided it.</summary>
public readonly record struct Decision(DecisionCode Code, string Rule, string Citation)
{
    public bool Allowed => DecisionCodes.IsAllow(Code);
}
