using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Unicode;
using StreamGuard.Events;
using StreamGuard.Text;

namespace StreamGuard.Parsing;

/// <summary>
/// Zero-allocation parser for the input events of SPEC §2. Validates strictly, skips unknown members,
/// interns agencies and cameras, packs plates and converts timestamps to Unix milliseconds.
/// </summary>
/// <remarks>
/// String members are unescaped into a scratch buffer owned by the parser and exposed as
/// <see cref="Utf8Range"/>; read them with <see cref="Text"/> before the next parse call. Input larger
/// than <see cref="MaxEventBytes"/> is rejected before any parsing. A member that appears twice makes the
/// event <c>invalid_field</c> ("duplicate member"): one rule, applied to every event type. Not thread-safe:
/// one parser per worker thread.
/// </remarks>
public sealed class EventParser
{
    /// <summary>Default cap on one event's size in bytes.</summary>
    public const int DefaultMaxEventBytes = 64 * 1024;

    /// <summary>Longest camera id accepted (bounds the camera interner's memory).</summary>
    public const int MaxCameraIdBytes = 128;

    // Member names per event type, in the order of their bit in the parser's `seen` mask.
    private static readonly byte[][] s_readMembers = ["read_id"u8.ToArray(), "camera_id"u8.ToArray(), "agency_id"u8.ToArray(), "plate"u8.ToArray(), "observed_at"u8.ToArray(), "plate_state"u8.ToArray(), "confidence"u8.ToArray(), "lat"u8.ToArray(), "lon"u8.ToArray()];
    private static readonly byte[][] s_queryMembers = ["query_id"u8.ToArray(), "requester"u8.ToArray(), "user"u8.ToArray(), "purpose"u8.ToArray(), "case_number"u8.ToArray(), "reason"u8.ToArray(), "plate"u8.ToArray(), "from"u8.ToArray(), "to"u8.ToArray(), "issued_at"u8.ToArray(), "signature"u8.ToArray()];
    private static readonly byte[][] s_hotlistMembers = ["hotlist_id"u8.ToArray(), "owner"u8.ToArray(), "plate"u8.ToArray(), "purpose"u8.ToArray(), "case_number"u8.ToArray(), "expires_at"u8.ToArray()];
    private static readonly byte[][] s_holdMembers = ["hold_id"u8.ToArray(), "agency"u8.ToArray(), "plate"u8.ToArray(), "from"u8.ToArray(), "to"u8.ToArray(), "kind"u8.ToArray(), "case_number"u8.ToArray(), "until"u8.ToArray()];

    private readonly AgencyDirectory _agencies;
    private readonly Utf8Interner _cameras;
    private readonly byte[] _scratch;
    private int _scratchUsed;

    public EventParser(AgencyDirectory agencies, Utf8Interner? cameras = null, int maxEventBytes = DefaultMaxEventBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEventBytes, 64);
        _agencies = agencies;
        _cameras = cameras ?? new Utf8Interner();
        MaxEventBytes = maxEventBytes;
        _scratch = new byte[maxEventBytes];
    }

    public int MaxEventBytes { get; }

    public AgencyDirectory Agencies => _agencies;

    public Utf8Interner Cameras => _cameras;

    /// <summary>The text of a string member of the last parsed event.</summary>
    public ReadOnlySpan<byte> Text(Utf8Range range) => new(_scratch, range.Start, range.Length);

    // ---- plate reads -------------------------------------------------------------------------

    public ParseResult ParseRead(ReadOnlySpan<byte> utf8, out PlateRead read) => Parse<ReadKind, PlateRead>(utf8, out read);

    public ParseResult ParseRead(in ReadOnlySequence<byte> utf8, out PlateRead read) => Parse<ReadKind, PlateRead>(utf8, out read);

    private ParseResult ParseReadCore(ref Utf8JsonReader reader, out PlateRead read)
    {
        read = default;

        Utf8Range readId = default, camera = default, agency = default, plate = default, observed = default, plateState = default;
        double confidence = double.NaN, lat = double.NaN, lon = double.NaN;
        uint seen = 0;
        ParseResult r, first = default; // the first bad value: reported after structure and required members
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            switch (Member(ref reader, s_readMembers))
            {
                case 0: Keep(ref first, Str(ref reader, ref seen, 1u << 0, "read_id", out readId)); break;
                case 1: Keep(ref first, Str(ref reader, ref seen, 1u << 1, "camera_id", out camera)); break;
                case 2: Keep(ref first, Str(ref reader, ref seen, 1u << 2, "agency_id", out agency)); break;
                case 3: Keep(ref first, Str(ref reader, ref seen, 1u << 3, "plate", out plate)); break;
                case 4: Keep(ref first, Str(ref reader, ref seen, 1u << 4, "observed_at", out observed)); break;
                case 5: Keep(ref first, Str(ref reader, ref seen, 1u << 5, "plate_state", out plateState)); break;
                case 6: Keep(ref first, Num(ref reader, ref seen, 1u << 6, "confidence", out confidence)); break;
                case 7: Keep(ref first, Num(ref reader, ref seen, 1u << 7, "lat", out lat)); break;
                case 8: Keep(ref first, Num(ref reader, ref seen, 1u << 8, "lon", out lon)); break;
                default: Keep(ref first, SkipValue(ref reader)); break;
            }
        }
        if (!(r = End(ref reader)).IsOk) return r;
        if (ReferenceEquals(first.Reason, DuplicateMember)) return first; // a repeated member, even null once, is not "missing"

        if ((seen & (1u << 0)) == 0) return Missing("read_id");
        if ((seen & (1u << 2)) == 0) return Missing("agency_id");
        if ((seen & (1u << 3)) == 0) return Missing("plate");
        if ((seen & (1u << 4)) == 0) return Missing("observed_at");
        if (!first.IsOk) return first;
        if (readId.Length == 0 || CharacterCount(Text(readId)) > 64) return Invalid("read_id", "must be 1-64 characters");
        if (!Plate.TryPack(Text(plate), out ulong packed)) return new ParseResult(ParseError.InvalidPlate, "plate", "must be 1-10 letters or digits after normalisation");
        if (!Rfc3339.TryParse(Text(observed), out long observedMs)) return BadTimestamp("observed_at");
        if (!double.IsNaN(confidence) && !(confidence >= 0 && confidence <= 1)) return Invalid("confidence", "must be in [0,1]");
        if (!double.IsNaN(lat) && !(lat >= -90 && lat <= 90)) return Invalid("lat", "must be in [-90,90]");
        if (!double.IsNaN(lon) && !(lon >= -180 && lon <= 180)) return Invalid("lon", "must be in [-180,180]");
        int owner = _agencies.Find(Text(agency));
        if (owner < 0) return new ParseResult(ParseError.UnknownAgency, "agency_id", "not an agency of the policy");
        if (camera.Length > MaxCameraIdBytes) return Invalid("camera_id", "longer than 128 bytes");
        // A full interner never rejects a read: the camera is simply not interned (-1).
        int cameraId = -1;
        if (!camera.IsEmpty && !_cameras.TryIntern(Text(camera), out cameraId)) cameraId = -1;

        read = new PlateRead
        {
            ReadId = readId, Camera = cameraId, Owner = owner, Plate = packed, ObservedAtMs = observedMs,
            PlateState = plateState, Confidence = confidence, Lat = lat, Lon = lon,
        };
        return ParseResult.Ok;
    }

    // ---- queries -----------------------------------------------------------------------------

    public ParseResult ParseQuery(ReadOnlySpan<byte> utf8, out Query query) => Parse<QueryKind, Query>(utf8, out query);

    public ParseResult ParseQuery(in ReadOnlySequence<byte> utf8, out Query query) => Parse<QueryKind, Query>(utf8, out query);

    private ParseResult ParseQueryCore(ref Utf8JsonReader reader, out Query query)
    {
        query = default;

        Utf8Range queryId = default, requester = default, user = default, purpose = default, caseNumber = default, reason = default,
            plate = default, from = default, to = default, issued = default, signature = default;
        uint seen = 0;
        ParseResult r, first = default; // the first bad value: reported after structure and required members
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            switch (Member(ref reader, s_queryMembers))
            {
                case 0: Keep(ref first, Str(ref reader, ref seen, 1u << 0, "query_id", out queryId)); break;
                case 1: Keep(ref first, Str(ref reader, ref seen, 1u << 1, "requester", out requester)); break;
                case 2: Keep(ref first, Str(ref reader, ref seen, 1u << 2, "user", out user)); break;
                case 3: Keep(ref first, Str(ref reader, ref seen, 1u << 3, "purpose", out purpose)); break;
                case 4: Keep(ref first, Str(ref reader, ref seen, 1u << 4, "case_number", out caseNumber)); break;
                case 5: Keep(ref first, Str(ref reader, ref seen, 1u << 5, "reason", out reason)); break;
                case 6: Keep(ref first, Str(ref reader, ref seen, 1u << 6, "plate", out plate)); break;
                case 7: Keep(ref first, Str(ref reader, ref seen, 1u << 7, "from", out from)); break;
                case 8: Keep(ref first, Str(ref reader, ref seen, 1u << 8, "to", out to)); break;
                case 9: Keep(ref first, Str(ref reader, ref seen, 1u << 9, "issued_at", out issued)); break;
                case 10: Keep(ref first, Str(ref reader, ref seen, 1u << 10, "signature", out signature)); break;
                default: Keep(ref first, SkipValue(ref reader)); break;
            }
        }
        if (!(r = End(ref reader)).IsOk) return r;
        if (ReferenceEquals(first.Reason, DuplicateMember)) return first; // a repeated member, even null once, is not "missing"

        if ((seen & (1u << 0)) == 0) return Missing("query_id");
        if ((seen & (1u << 1)) == 0) return Missing("requester");
        if ((seen & (1u << 2)) == 0) return Missing("user");
        if ((seen & (1u << 3)) == 0) return Missing("purpose");
        if ((seen & (1u << 6)) == 0) return Missing("plate");
        if ((seen & (1u << 9)) == 0) return Missing("issued_at");
        if (!first.IsOk) return first;
        if (queryId.Length == 0 || CharacterCount(Text(queryId)) > 128) return Invalid("query_id", "must be 1-128 characters");
        if (user.IsEmpty) return Invalid("user", "must not be empty");
        if (!Purposes.TryParse(Text(purpose), out Purpose p)) return Invalid("purpose", "not a purpose of SPEC §2");
        if (!Plate.TryPack(Text(plate), out ulong packed)) return new ParseResult(ParseError.InvalidPlate, "plate", "must be 1-10 letters or digits after normalisation");
        if (!Rfc3339.TryParse(Text(issued), out long issuedMs)) return BadTimestamp("issued_at");
        long fromMs = long.MinValue, toMs = long.MaxValue;
        if ((seen & (1u << 7)) != 0 && !Rfc3339.TryParse(Text(from), out fromMs)) return BadTimestamp("from");
        if ((seen & (1u << 8)) != 0 && !Rfc3339.TryParse(Text(to), out toMs)) return BadTimestamp("to");
        if (fromMs > toMs) return Invalid("from", "is after 'to'");

        query = new Query
        {
            QueryId = queryId, Requester = _agencies.Find(Text(requester)), RequesterText = requester, User = user,
            Purpose = p, PurposeText = purpose, CaseNumber = caseNumber, Reason = reason, Plate = packed, PlateText = plate,
            FromMs = fromMs, ToMs = toMs, FromText = from, ToText = to, IssuedAtMs = issuedMs, IssuedAtText = issued,
            Signature = signature,
        };
        return ParseResult.Ok;
    }

    // ---- hotlist entries ---------------------------------------------------------------------

    public ParseResult ParseHotlist(ReadOnlySpan<byte> utf8, out HotlistEntry entry) => Parse<HotlistKind, HotlistEntry>(utf8, out entry);

    public ParseResult ParseHotlist(in ReadOnlySequence<byte> utf8, out HotlistEntry entry) => Parse<HotlistKind, HotlistEntry>(utf8, out entry);

    private ParseResult ParseHotlistCore(ref Utf8JsonReader reader, out HotlistEntry entry)
    {
        entry = default;

        Utf8Range hotlistId = default, owner = default, plate = default, purpose = default, caseNumber = default, expires = default;
        uint seen = 0;
        ParseResult r, first = default; // the first bad value: reported after structure and required members
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            switch (Member(ref reader, s_hotlistMembers))
            {
                case 0: Keep(ref first, Str(ref reader, ref seen, 1u << 0, "hotlist_id", out hotlistId)); break;
                case 1: Keep(ref first, Str(ref reader, ref seen, 1u << 1, "owner", out owner)); break;
                case 2: Keep(ref first, Str(ref reader, ref seen, 1u << 2, "plate", out plate)); break;
                case 3: Keep(ref first, Str(ref reader, ref seen, 1u << 3, "purpose", out purpose)); break;
                case 4: Keep(ref first, Str(ref reader, ref seen, 1u << 4, "case_number", out caseNumber)); break;
                case 5: Keep(ref first, Str(ref reader, ref seen, 1u << 5, "expires_at", out expires)); break;
                default: Keep(ref first, SkipValue(ref reader)); break;
            }
        }
        if (!(r = End(ref reader)).IsOk) return r;
        if (ReferenceEquals(first.Reason, DuplicateMember)) return first; // a repeated member, even null once, is not "missing"

        if ((seen & (1u << 0)) == 0) return Missing("hotlist_id");
        if ((seen & (1u << 1)) == 0) return Missing("owner");
        if ((seen & (1u << 2)) == 0) return Missing("plate");
        if ((seen & (1u << 3)) == 0) return Missing("purpose");
        if (!first.IsOk) return first;
        if (hotlistId.Length == 0 || CharacterCount(Text(hotlistId)) > 128) return Invalid("hotlist_id", "must be 1-128 characters");
        if (!Plate.TryPack(Text(plate), out ulong packed)) return new ParseResult(ParseError.InvalidPlate, "plate", "must be 1-10 letters or digits after normalisation");
        if (!Purposes.TryParse(Text(purpose), out Purpose p)) return Invalid("purpose", "not a purpose of SPEC §2");
        long expiresMs = long.MaxValue;
        if ((seen & (1u << 5)) != 0 && !Rfc3339.TryParse(Text(expires), out expiresMs)) return BadTimestamp("expires_at");
        int ownerId = _agencies.Find(Text(owner));
        if (ownerId < 0) return new ParseResult(ParseError.UnknownAgency, "owner", "not an agency of the policy");

        entry = new HotlistEntry { HotlistId = hotlistId, Owner = ownerId, Plate = packed, Purpose = p, CaseNumber = caseNumber, ExpiresAtMs = expiresMs };
        return ParseResult.Ok;
    }

    // ---- holds -------------------------------------------------------------------------------

    public ParseResult ParseHold(ReadOnlySpan<byte> utf8, out Hold hold) => Parse<HoldEventKind, Hold>(utf8, out hold);

    public ParseResult ParseHold(in ReadOnlySequence<byte> utf8, out Hold hold) => Parse<HoldEventKind, Hold>(utf8, out hold);

    private ParseResult ParseHoldCore(ref Utf8JsonReader reader, out Hold hold)
    {
        hold = default;

        Utf8Range holdId = default, agency = default, plate = default, from = default, to = default, kind = default, caseNumber = default, until = default;
        uint seen = 0;
        ParseResult r, first = default; // the first bad value: reported after structure and required members
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            switch (Member(ref reader, s_holdMembers))
            {
                case 0: Keep(ref first, Str(ref reader, ref seen, 1u << 0, "hold_id", out holdId)); break;
                case 1: Keep(ref first, Str(ref reader, ref seen, 1u << 1, "agency", out agency)); break;
                case 2: Keep(ref first, Str(ref reader, ref seen, 1u << 2, "plate", out plate)); break;
                case 3: Keep(ref first, Str(ref reader, ref seen, 1u << 3, "from", out from)); break;
                case 4: Keep(ref first, Str(ref reader, ref seen, 1u << 4, "to", out to)); break;
                case 5: Keep(ref first, Str(ref reader, ref seen, 1u << 5, "kind", out kind)); break;
                case 6: Keep(ref first, Str(ref reader, ref seen, 1u << 6, "case_number", out caseNumber)); break;
                case 7: Keep(ref first, Str(ref reader, ref seen, 1u << 7, "until", out until)); break;
                default: Keep(ref first, SkipValue(ref reader)); break;
            }
        }
        if (!(r = End(ref reader)).IsOk) return r;
        if (ReferenceEquals(first.Reason, DuplicateMember)) return first; // a repeated member, even null once, is not "missing"

        if ((seen & (1u << 0)) == 0) return Missing("hold_id");
        if ((seen & (1u << 1)) == 0) return Missing("agency");
        if ((seen & (1u << 5)) == 0) return Missing("kind");
        if ((seen & (1u << 7)) == 0) return Missing("until");
        if (!first.IsOk) return first;
        if (holdId.Length == 0 || CharacterCount(Text(holdId)) > 128) return Invalid("hold_id", "must be 1-128 characters");
        ulong packed = 0;
        if ((seen & (1u << 2)) != 0 && !Plate.TryPack(Text(plate), out packed)) return new ParseResult(ParseError.InvalidPlate, "plate", "must be 1-10 letters or digits after normalisation");
        HoldKind holdKind;
        ReadOnlySpan<byte> k = Text(kind);
        if (k.SequenceEqual("investigation"u8)) holdKind = HoldKind.Investigation;
        else if (k.SequenceEqual("preservation"u8)) holdKind = HoldKind.Preservation;
        else if (k.SequenceEqual("warrant"u8)) holdKind = HoldKind.Warrant;
        else return Invalid("kind", "must be investigation, preservation or warrant");
        long fromMs = long.MinValue, toMs = long.MaxValue;
        if ((seen & (1u << 3)) != 0 && !Rfc3339.TryParse(Text(from), out fromMs)) return BadTimestamp("from");
        if ((seen & (1u << 4)) != 0 && !Rfc3339.TryParse(Text(to), out toMs)) return BadTimestamp("to");
        if (fromMs > toMs) return Invalid("from", "is after 'to'");
        if (!Rfc3339.TryParse(Text(until), out long untilMs)) return BadTimestamp("until");
        int agencyId = _agencies.Find(Text(agency));
        if (agencyId < 0) return new ParseResult(ParseError.UnknownAgency, "agency", "not an agency of the policy");

        hold = new Hold
        {
            HoldId = holdId, Agency = agencyId, Plate = packed, FromMs = fromMs, ToMs = toMs, Kind = holdKind,
            CaseNumber = caseNumber, UntilMs = untilMs,
        };
        return ParseResult.Ok;
    }

    // ---- shared pieces -----------------------------------------------------------------------

    /// <summary>One event type's member loop, called with the reader on the opening brace.</summary>
    private interface IEventKind<T>
    {
        static abstract ParseResult Core(EventParser parser, ref Utf8JsonReader reader, out T value);
    }

    private readonly struct ReadKind : IEventKind<PlateRead>
    {
        public static ParseResult Core(EventParser parser, ref Utf8JsonReader reader, out PlateRead value) => parser.ParseReadCore(ref reader, out value);
    }

    private readonly struct QueryKind : IEventKind<Query>
    {
        public static ParseResult Core(EventParser parser, ref Utf8JsonReader reader, out Query value) => parser.ParseQueryCore(ref reader, out value);
    }

    private readonly struct HotlistKind : IEventKind<HotlistEntry>
    {
        public static ParseResult Core(EventParser parser, ref Utf8JsonReader reader, out HotlistEntry value) => parser.ParseHotlistCore(ref reader, out value);
    }

    private readonly struct HoldEventKind : IEventKind<Hold>
    {
        public static ParseResult Core(EventParser parser, ref Utf8JsonReader reader, out Hold value) => parser.ParseHoldCore(ref reader, out value);
    }

    /// <summary>Size cap, UTF-8 check, then the event's member loop; a JSON syntax error is <c>malformed_json</c>.</summary>
    private ParseResult Parse<TKind, T>(ReadOnlySpan<byte> utf8, out T value)
        where TKind : struct, IEventKind<T>
        where T : struct
    {
        value = default;
        ParseResult pre = Precheck(utf8);
        if (!pre.IsOk) return pre;
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return NotAnObject();
            return TKind.Core(this, ref reader, out value);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: an escape that does not decode to valid UTF-8 (a lone surrogate).
            return Malformed();
        }
    }

    /// <summary>
    /// A single segment is parsed in place; split data (rare: a record across pipe buffers) is first copied into
    /// a pooled contiguous buffer, after the size cap is checked.
    /// </summary>
    private ParseResult Parse<TKind, T>(in ReadOnlySequence<byte> utf8, out T value)
        where TKind : struct, IEventKind<T>
        where T : struct
    {
        if (utf8.IsSingleSegment) return Parse<TKind, T>(utf8.FirstSpan, out value);
        if (utf8.Length > MaxEventBytes) { value = default; return Oversized(); }
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)utf8.Length);
        try
        {
            utf8.CopyTo(rented);
            return Parse<TKind, T>(rented.AsSpan(0, (int)utf8.Length), out value);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private ParseResult Precheck(ReadOnlySpan<byte> utf8)
    {
        _scratchUsed = 0;
        if (utf8.Length > MaxEventBytes) return Oversized();
        if (!Utf8.IsValid(utf8)) return new ParseResult(ParseError.InvalidUtf8, null, "not valid UTF-8");
        return ParseResult.Ok;
    }

    /// <summary>
    /// The index of the current property name in <paramref name="names"/>, or -1. Compares lengths first: one
    /// byte-wise comparison per member in practice, instead of one per known name.
    /// </summary>
    private static int Member(ref Utf8JsonReader reader, byte[][] names)
    {
        if (reader.ValueIsEscaped)
        {
            // Rare: an escaped property name. Unescaping never lengthens it; names we know are short.
            const int Longest = 192;
            if (reader.ValueSpan.Length > Longest) return -1;
            Span<byte> unescaped = stackalloc byte[Longest];
            int written = reader.CopyString(unescaped);
            return Find(unescaped[..written], names);
        }
        return Find(reader.ValueSpan, names);
    }

    private static int Find(ReadOnlySpan<byte> name, byte[][] names)
    {
        for (int i = 0; i < names.Length; i++)
        {
            byte[] candidate = names[i];
            if (candidate.Length == name.Length && name.SequenceEqual(candidate)) return i;
        }
        return -1;
    }

    /// <summary>
    /// <c>seen</c> holds two masks: the low 16 bits say a member has a value (required-member checks), the high 16
    /// bits that it appeared at all, even as null — so a member given twice is a duplicate whatever its values.
    /// </summary>
    private static bool Repeated(ref uint seen, uint bit)
    {
        uint appeared = bit << 16;
        if ((seen & appeared) != 0) return true;
        seen |= appeared;
        return false;
    }

    // A static array, not a ReadOnlySpan<double> property: that collection expression allocated on every call
    // (caught by ParserAllocationTests).
    private static readonly double[] s_powersOf10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// Clinger's fast path for the plain decimals cameras send (<c>-?d+(.d+)?</c>, at most 15 digits): the digits as
    /// an exact integer divided by an exact power of ten is the correctly rounded double. Anything else (exponents,
    /// more digits) takes <see cref="Utf8JsonReader.TryGetDouble"/>, which the reader has already validated.
    /// </summary>
    private static bool TryFastDouble(ReadOnlySpan<byte> number, out double value)
    {
        value = 0;
        int i = 0;
        bool negative = (uint)i < (uint)number.Length && number[i] == '-';
        if (negative) i++;
        long mantissa = 0;
        int digits = 0, fraction = -1;
        for (; i < number.Length; i++)
        {
            byte b = number[i];
            if (b == '.' && fraction < 0) { fraction = 0; continue; }
            uint d = (uint)(b - '0');
            if (d > 9 || ++digits > 15) return false;
            mantissa = mantissa * 10 + d;
            if (fraction >= 0) fraction++;
        }
        if (digits == 0) return false;
        value = fraction > 0 ? mantissa / s_powersOf10[fraction] : mantissa;
        if (negative) value = -value;
        return true;
    }

    /// <summary>Characters (Unicode scalar values) in valid UTF-8: the bytes that do not continue a sequence.</summary>
    private static int CharacterCount(ReadOnlySpan<byte> utf8)
    {
        int count = 0;
        foreach (byte b in utf8)
        {
            if ((b & 0xC0) != 0x80) count++;
        }
        return count;
    }

    private static void Keep(ref ParseResult first, in ParseResult result)
    {
        if (first.IsOk) first = result;
    }

    /// <summary>
    /// Reads a string member into scratch. JSON null counts as absent. A bad or repeated value is skipped (the
    /// member still counts as present), so the rest of the event is still checked for structure.
    /// </summary>
    private ParseResult Str(ref Utf8JsonReader reader, ref uint seen, uint bit, string field, out Utf8Range range)
    {
        range = default;
        if (!reader.Read()) return Malformed();
        if (Repeated(ref seen, bit)) { reader.Skip(); return Duplicate(field); }
        if (reader.TokenType == JsonTokenType.Null) return ParseResult.Ok;
        seen |= bit;
        if (reader.TokenType != JsonTokenType.String) { reader.Skip(); return Invalid(field, "must be a string"); }
        // Unescaping never lengthens a string, and the whole event fits the scratch buffer.
        int written = reader.CopyString(_scratch.AsSpan(_scratchUsed));
        range = new Utf8Range(_scratchUsed, written);
        _scratchUsed += written;
        return ParseResult.Ok;
    }

    private static ParseResult Num(ref Utf8JsonReader reader, ref uint seen, uint bit, string field, out double value)
    {
        value = double.NaN;
        if (!reader.Read()) return Malformed();
        if (Repeated(ref seen, bit)) { reader.Skip(); return Duplicate(field); }
        if (reader.TokenType == JsonTokenType.Null) return ParseResult.Ok;
        seen |= bit;
        if (reader.TokenType != JsonTokenType.Number) { reader.Skip(); return Invalid(field, "must be a number"); }
        if (!TryFastDouble(reader.ValueSpan, out value) && (!reader.TryGetDouble(out value) || !double.IsFinite(value)))
        {
            value = double.NaN;
            return Invalid(field, "number out of range");
        }
        return ParseResult.Ok;
    }

    private static ParseResult SkipValue(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) return Malformed();
        reader.Skip();
        return ParseResult.Ok;
    }

    /// <summary>After the closing brace only whitespace may follow.</summary>
    private static ParseResult End(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0) return Malformed();
        if (reader.Read()) return new ParseResult(ParseError.MalformedJson, null, "data after the event object");
        return ParseResult.Ok;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ParseResult Malformed() => new(ParseError.MalformedJson, null, "not a well-formed JSON object");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ParseResult NotAnObject() => new(ParseError.MalformedJson, null, "the event is not a JSON object");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ParseResult Oversized() => new(ParseError.Oversized, null, "event larger than the size cap");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ParseResult Missing(string field) => new(ParseError.MissingField, field, "required");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ParseResult Invalid(string field, string reason) => new(ParseError.InvalidField, field, reason);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ParseResult Duplicate(string field) => new(ParseError.InvalidField, field, DuplicateMember);

    private const string DuplicateMember = "duplicate member";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ParseResult BadTimestamp(string field) => new(ParseError.InvalidField, field, "not an RFC 3339 timestamp with a zone");
}
