namespace StreamGuard.Events;

/// <summary>A slice of the parser's scratch buffer holding one unescaped string value.</summary>
internal readonly record struct Utf8Range(int Start, int Length)
{
    public bool IsEmpty => Length == 0;
}

/// <summary>Purposes of SPEC §2: a closed set.</summary>
public enum Purpose : byte
{
    CriminalInvestigation,
    StolenVehicle,
    MissingPerson,
    AmberAlert,
    HumanTrafficking,
    Warrant,
    ImmigrationEnforcement,
    ReproductiveHealth,
    GenderAffirmingCare,
    CivilEnforcement,
    Other,
}

/// <summary>Kinds of hold (SPEC §2).</summary>
internal enum HoldKind : byte
{
    Investigation,
    Preservation,
    Warrant,
}

/// <summary>A plate read (SPEC §2). String members are ranges in the parser's scratch buffer.</summary>
internal readonly record struct PlateRead
{
    public required Utf8Range ReadId { get; init; }
    public required int Camera { get; init; }
    public required int Owner { get; init; }
    public required ulong Plate { get; init; }
    public required long ObservedAtMs { get; init; }
    public Utf8Range PlateState { get; init; }
    /// <summary>Confidence in [0,1]; NaN when absent.</summary>
    public double Confidence { get; init; }
    /// <summary>Latitude; NaN when absent.</summary>
    public double Lat { get; init; }
    /// <summary>Longitude; NaN when absent.</summary>
    public double Lon { get; init; }
}

/// <summary>A search (SPEC §2). Raw texts are kept because the signature covers them as they appear.</summary>
internal readonly record struct Query
{
    public required Utf8Range QueryId { get; init; }
    /// <summary>Interned requester agency, or -1 when the requester is not a known agency.</summary>
    public required int Requester { get; init; }
    public required Utf8Range RequesterText { get; init; }
    public required Utf8Range User { get; init; }
    public required Purpose Purpose { get; init; }
    public required Utf8Range PurposeText { get; init; }
    public Utf8Range CaseNumber { get; init; }
    public Utf8Range Reason { get; init; }
    public required ulong Plate { get; init; }
    public required Utf8Range PlateText { get; init; }
    /// <summary>Window start, or <see cref="long.MinValue"/> when absent.</summary>
    public long FromMs { get; init; }
    /// <summary>Window end, or <see cref="long.MaxValue"/> when absent.</summary>
    public long ToMs { get; init; }
    public Utf8Range FromText { get; init; }
    public Utf8Range ToText { get; init; }
    public required long IssuedAtMs { get; init; }
    public required Utf8Range IssuedAtText { get; init; }
    public Utf8Range Signature { get; init; }
}

/// <summary>A hotlist entry (SPEC §2).</summary>
internal readonly record struct HotlistEntry
{
    public required Utf8Range HotlistId { get; init; }
    public required int Owner { get; init; }
    public required ulong Plate { get; init; }
    public required Purpose Purpose { get; init; }
    public Utf8Range CaseNumber { get; init; }
    /// <summary>Expiry, or <see cref="long.MaxValue"/> when absent.</summary>
    public long ExpiresAtMs { get; init; }
}

/// <summary>A hold (SPEC §2): keeps an agency's own reads past their retention window for a case.</summary>
internal readonly record struct Hold
{
    public required Utf8Range HoldId { get; init; }
    public required int Agency { get; init; }
    /// <summary>Held plate, or 0 when the hold covers every plate in the window.</summary>
    public ulong Plate { get; init; }
    public long FromMs { get; init; }
    public long ToMs { get; init; }
    public required HoldKind Kind { get; init; }
    public Utf8Range CaseNumber { get; init; }
    public required long UntilMs { get; init; }
}
