using StreamGuard.Events;

namespace StreamGuard.Parsing;

/// <summary>
/// One input event type of SPEC §2: its member names (<see cref="Fields"/>, indexed by the type's member enum), which
/// members are numbers (every other known member is a string), the parser's member-order cache it uses, and the
/// checks on its values.
/// </summary>
internal interface IEventSchema<T>
{
    static abstract MemberNames Names { get; }
    static abstract string[] Fields { get; }

    /// <summary>The number members, as a mask of their bits (see <see cref="EventMembers"/>).</summary>
    static abstract uint Numbers { get; }

    /// <summary>0-3: which of the parser's member-order caches this type's events use.</summary>
    static abstract int Index { get; }

    static abstract ParseResult Validate(EventParser parser, ref EventMembers members, out T value);
}

/// <summary>The members of a plate read, in the order of <see cref="ReadSchema.Fields"/>.</summary>
internal enum ReadMember { ReadId, CameraId, AgencyId, Plate, ObservedAt, PlateState, Confidence, Lat, Lon }

/// <summary>The members of a query, in the order of <see cref="QuerySchema.Fields"/>.</summary>
internal enum QueryMember
{
    QueryId, Requester, User, Purpose, CaseNumber, Reason, Plate, From, To, IssuedAt, Signature,
}

/// <summary>The members of a hotlist entry, in the order of <see cref="HotlistSchema.Fields"/>.</summary>
internal enum HotlistMember { HotlistId, Owner, Plate, Purpose, CaseNumber, ExpiresAt }

/// <summary>The members of a hold, in the order of <see cref="HoldSchema.Fields"/>.</summary>
internal enum HoldMember { HoldId, Agency, Plate, From, To, Kind, CaseNumber, Until }

internal readonly struct ReadSchema : IEventSchema<PlateRead>
{
    private const uint NumberMembers =
        1u << (int)ReadMember.Confidence | 1u << (int)ReadMember.Lat | 1u << (int)ReadMember.Lon;

    private static readonly string[] s_fields =
        ["read_id", "camera_id", "agency_id", "plate", "observed_at", "plate_state", "confidence", "lat", "lon"];

    private static readonly MemberNames s_names = new(s_fields);

    public static MemberNames Names => s_names;
    public static string[] Fields => s_fields;
    public static uint Numbers => NumberMembers;
    public static int Index => 0;

    public static ParseResult Validate(EventParser parser, ref EventMembers members, out PlateRead value) =>
        parser.ValidateRead(ref members, out value);
}

internal readonly struct QuerySchema : IEventSchema<Query>
{
    private static readonly string[] s_fields =
    [
        "query_id", "requester", "user", "purpose", "case_number", "reason", "plate", "from", "to", "issued_at",
        "signature",
    ];

    private static readonly MemberNames s_names = new(s_fields);

    public static MemberNames Names => s_names;
    public static string[] Fields => s_fields;
    public static uint Numbers => 0;
    public static int Index => 1;

    public static ParseResult Validate(EventParser parser, ref EventMembers members, out Query value) =>
        parser.ValidateQuery(ref members, out value);
}

internal readonly struct HotlistSchema : IEventSchema<HotlistEntry>
{
    private static readonly string[] s_fields =
        ["hotlist_id", "owner", "plate", "purpose", "case_number", "expires_at"];

    private static readonly MemberNames s_names = new(s_fields);

    public static MemberNames Names => s_names;
    public static string[] Fields => s_fields;
    public static uint Numbers => 0;
    public static int Index => 2;

    public static ParseResult Validate(EventParser parser, ref EventMembers members, out HotlistEntry value) =>
        parser.ValidateHotlist(ref members, out value);
}

internal readonly struct HoldSchema : IEventSchema<Hold>
{
    private static readonly string[] s_fields =
        ["hold_id", "agency", "plate", "from", "to", "kind", "case_number", "until"];

    private static readonly MemberNames s_names = new(s_fields);

    public static MemberNames Names => s_names;
    public static string[] Fields => s_fields;
    public static uint Numbers => 0;
    public static int Index => 3;

    public static ParseResult Validate(EventParser parser, ref EventMembers members, out Hold value) =>
        parser.ValidateHold(ref members, out value);
}
