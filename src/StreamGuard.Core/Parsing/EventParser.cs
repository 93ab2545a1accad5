using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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

    // Member names per event type, in the order of their bit in the parser's `seen` mask and their slot in Members.
    private static readonly string[] s_readFields = ["read_id", "camera_id", "agency_id", "plate", "observed_at", "plate_state", "confidence", "lat", "lon"];
    private static readonly string[] s_queryFields = ["query_id", "requester", "user", "purpose", "case_number", "reason", "plate", "from", "to", "issued_at", "signature"];
    private static readonly string[] s_hotlistFields = ["hotlist_id", "owner", "plate", "purpose", "case_number", "expires_at"];
    private static readonly string[] s_holdFields = ["hold_id", "agency", "plate", "from", "to", "kind", "case_number", "until"];
    private static readonly MemberNames s_readMembers = new(s_readFields);
    private static readonly MemberNames s_queryMembers = new(s_queryFields);
    private static readonly MemberNames s_hotlistMembers = new(s_hotlistFields);
    private static readonly MemberNames s_holdMembers = new(s_holdFields);

    /// <summary>The read members that are numbers (confidence, lat, lon); every other known member is a string.</summary>
    private const uint ReadNumbers = 1u << 6 | 1u << 7 | 1u << 8;

    /// <summary>
    /// One event type's member names with a perfect hash over (length, first byte, last byte): finding a member costs
    /// one table read and one comparison, however many names the type has.
    /// </summary>
    internal sealed class MemberNames
    {
        private const int Slots = 64;
        private readonly byte[][] _names;
        private readonly sbyte[] _slots = new sbyte[Slots];
        private readonly uint _multiplier;
        private readonly bool _linear;

        public MemberNames(string[] names)
        {
            _names = [.. names.Select(System.Text.Encoding.UTF8.GetBytes)];
            for (uint k = 1; k < 1u << 16; k++)
            {
                uint m = k * 0x9E3779B9u; // spread the candidates over the whole word: the slot is the top 6 bits
                Array.Fill(_slots, (sbyte)-1);
                bool perfect = true;
                for (int i = 0; i < _names.Length && perfect; i++)
                {
                    ref sbyte slot = ref _slots[Slot(_names[i], m)];
                    perfect = slot < 0;
                    slot = (sbyte)i;
                }
                if (perfect)
                {
                    _multiplier = m;
                    return;
                }
            }
            // Two names alike in length, first and last byte: no multiplier separates them; find by comparing each.
            _linear = true;
        }

        public int Count => _names.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int Slot(ReadOnlySpan<byte> name, uint multiplier) =>
            (int)(((uint)name.Length * 0x9E3779B1u + name[0] * multiplier + name[^1] * 0x85EBCA6Bu) >> 26);

        /// <summary>The member's index, or -1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Find(ReadOnlySpan<byte> name)
        {
            if (name.IsEmpty) return -1;
            if (_linear)
            {
                for (int k = 0; k < _names.Length; k++)
                {
                    if (name.SequenceEqual(_names[k])) return k;
                }
                return -1;
            }
            int i = _slots[Slot(name, _multiplier)];
            return i >= 0 && Same(name, _names[i]) ? i : -1;
        }

        /// <summary>Short spans compared as two overlapping words each (member names are at most 16 bytes).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Same(ReadOnlySpan<byte> a, byte[] b)
        {
            int n = a.Length;
            if (n != b.Length) return false;
            if (n > 16 || n < 4) return a.SequenceEqual(b);
            ref byte x = ref MemoryMarshal.GetReference(a);
            ref byte y = ref MemoryMarshal.GetArrayDataReference(b);
            if (n >= 8)
            {
                return Unsafe.ReadUnaligned<ulong>(ref x) == Unsafe.ReadUnaligned<ulong>(ref y) &&
                    Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref x, n - 8)) == Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref y, n - 8));
            }
            return Unsafe.ReadUnaligned<uint>(ref x) == Unsafe.ReadUnaligned<uint>(ref y) &&
                Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref x, n - 4)) == Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref y, n - 4));
        }
    }

    private readonly AgencyDirectory _agencies;
    private readonly Utf8Interner _cameras;
    private readonly byte[] _scratch;
    private int _scratchUsed;
    private readonly Layout[] _layouts = [new(), new(), new(), new()];
    private Rfc3339.DayCache _observedDay, _issuedDay; // consecutive reads (queries) mostly share their day

    public EventParser(AgencyDirectory agencies, Utf8Interner? cameras = null, int maxEventBytes = DefaultMaxEventBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEventBytes, 64);
        _agencies = agencies;
        _cameras = cameras ?? new Utf8Interner();
        MaxEventBytes = maxEventBytes;
        _scratch = new byte[maxEventBytes];
    }

    public int MaxEventBytes { get; }

    /// <summary>
    /// Off: every event goes through <see cref="Utf8JsonReader"/> (the scanner's reference, for differential tests and
    /// benchmarks).
    /// </summary>
    internal bool ScannerEnabled { get; set; } = true;

    /// <summary>Whether the last event was taken by the one-pass scanner (for tests).</summary>
    internal bool LastScanned { get; private set; }

    public AgencyDirectory Agencies => _agencies;

    public Utf8Interner Cameras => _cameras;

    /// <summary>The text of a string member of the last parsed event.</summary>
    public ReadOnlySpan<byte> Text(Utf8Range range) => new(_scratch, range.Start, range.Length);

    // ---- plate reads -------------------------------------------------------------------------

    public ParseResult ParseRead(ReadOnlySpan<byte> utf8, out PlateRead read) => Parse<ReadKind, PlateRead>(utf8, out read);

    public ParseResult ParseRead(in ReadOnlySequence<byte> utf8, out PlateRead read) => Parse<ReadKind, PlateRead>(utf8, out read);

    private ParseResult ValidateRead(ref Members m, out PlateRead read)
    {
        read = default;
        Utf8Range readId = m.Str[0], camera = m.Str[1], agency = m.Str[2], plate = m.Str[3], observed = m.Str[4], plateState = m.Str[5];
        double confidence = m.Num[6], lat = m.Num[7], lon = m.Num[8];
        uint seen = m.Seen;
        ParseResult first = m.First;
        if (ReferenceEquals(first.Reason, DuplicateMember)) return first; // a repeated member, even null once, is not "missing"

        if ((seen & (1u << 0)) == 0) return Missing("read_id");
        if ((seen & (1u << 2)) == 0) return Missing("agency_id");
        if ((seen & (1u << 3)) == 0) return Missing("plate");
        if ((seen & (1u << 4)) == 0) return Missing("observed_at");
        if (!first.IsOk) return first;
        // Characters never outnumber bytes: only an id over 64 bytes needs counting.
        if (readId.Length == 0 || (readId.Length > 64 && CharacterCount(Text(readId)) > 64)) return Invalid("read_id", "must be 1-64 characters");
        if (!Plate.TryPack(Text(plate), out ulong packed)) return new ParseResult(ParseError.InvalidPlate, "plate", "must be 1-10 letters or digits after normalisation");
        if (!Rfc3339.TryParse(Text(observed), ref _observedDay, out long observedMs)) return BadTimestamp("observed_at");
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

    private ParseResult ValidateQuery(ref Members m, out Query query)
    {
        query = default;
        Utf8Range queryId = m.Str[0], requester = m.Str[1], user = m.Str[2], purpose = m.Str[3], caseNumber = m.Str[4], reason = m.Str[5],
            plate = m.Str[6], from = m.Str[7], to = m.Str[8], issued = m.Str[9], signature = m.Str[10];
        uint seen = m.Seen;
        ParseResult first = m.First;
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
        if (!Rfc3339.TryParse(Text(issued), ref _issuedDay, out long issuedMs)) return BadTimestamp("issued_at");
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

    private ParseResult ValidateHotlist(ref Members m, out HotlistEntry entry)
    {
        entry = default;
        Utf8Range hotlistId = m.Str[0], owner = m.Str[1], plate = m.Str[2], purpose = m.Str[3], caseNumber = m.Str[4], expires = m.Str[5];
        uint seen = m.Seen;
        ParseResult first = m.First;
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

    private ParseResult ValidateHold(ref Members m, out Hold hold)
    {
        hold = default;
        Utf8Range holdId = m.Str[0], agency = m.Str[1], plate = m.Str[2], from = m.Str[3], to = m.Str[4], kind = m.Str[5], caseNumber = m.Str[6], until = m.Str[7];
        uint seen = m.Seen;
        ParseResult first = m.First;
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

    /// <summary>One event type: its members (names, which are numbers) and the checks on their values.</summary>
    private interface IEventKind<T>
    {
        static abstract MemberNames Names { get; }
        static abstract string[] Fields { get; }
        static abstract uint Numbers { get; }
        /// <summary>0-3: which of the parser's layouts (<see cref="Layout"/>) this kind's events use.</summary>
        static abstract int Index { get; }
        static abstract ParseResult Validate(EventParser parser, ref Members members, out T value);
    }

    private readonly struct ReadKind : IEventKind<PlateRead>
    {
        public static MemberNames Names => s_readMembers;
        public static string[] Fields => s_readFields;
        public static uint Numbers => ReadNumbers;
        public static int Index => 0;
        public static ParseResult Validate(EventParser parser, ref Members members, out PlateRead value) => parser.ValidateRead(ref members, out value);
    }

    private readonly struct QueryKind : IEventKind<Query>
    {
        public static MemberNames Names => s_queryMembers;
        public static string[] Fields => s_queryFields;
        public static uint Numbers => 0;
        public static int Index => 1;
        public static ParseResult Validate(EventParser parser, ref Members members, out Query value) => parser.ValidateQuery(ref members, out value);
    }

    private readonly struct HotlistKind : IEventKind<HotlistEntry>
    {
        public static MemberNames Names => s_hotlistMembers;
        public static string[] Fields => s_hotlistFields;
        public static uint Numbers => 0;
        public static int Index => 2;
        public static ParseResult Validate(EventParser parser, ref Members members, out HotlistEntry value) => parser.ValidateHotlist(ref members, out value);
    }

    private readonly struct HoldEventKind : IEventKind<Hold>
    {
        public static MemberNames Names => s_holdMembers;
        public static string[] Fields => s_holdFields;
        public static uint Numbers => 0;
        public static int Index => 3;
        public static ParseResult Validate(EventParser parser, ref Members members, out Hold value) => parser.ValidateHold(ref members, out value);
    }

    private const int MaxMembers = 11;

    [InlineArray(MaxMembers)]
    private struct RangeArray
    {
        private Utf8Range _first;
    }

    [InlineArray(MaxMembers)]
    private struct DoubleArray
    {
        private double _first;
    }

    /// <summary>
    /// The known members of one event as found, by slot: string members as ranges of the scratch buffer, number members
    /// as doubles (NaN when absent), the <c>seen</c> masks and the first bad value.
    /// </summary>
    private struct Members
    {
        public RangeArray Str;
        public DoubleArray Num;
        public uint Seen;
        public ParseResult First;

        public void Reset()
        {
            this = default;
            ((Span<double>)Num).Fill(double.NaN);
        }
    }

    /// <summary>Size cap, UTF-8 check, then the scanner, or the member loop over Utf8JsonReader; a JSON syntax error is <c>malformed_json</c>.</summary>
    private ParseResult Parse<TKind, T>(ReadOnlySpan<byte> utf8, out T value)
        where TKind : struct, IEventKind<T>
        where T : struct
    {
        value = default;
        _scratchUsed = 0;
        if (utf8.Length > MaxEventBytes) return Oversized();
        var members = default(Members);
        members.Reset();
        bool validUtf8 = false;
        LastScanned = ScannerEnabled && TryScan(utf8, TKind.Names, TKind.Numbers, _layouts[TKind.Index], ref members, out validUtf8);
        if (LastScanned) return TKind.Validate(this, ref members, out value);

        // Anything the scanner does not take (escapes, nulls, exponents, duplicates, deep nesting, errors of any kind)
        // is parsed again from the start by Utf8JsonReader, which decides what is wrong and reports it.
        _scratchUsed = 0;
        members.Reset();
        if (!validUtf8 && !Utf8.IsValid(utf8)) return new ParseResult(ParseError.InvalidUtf8, null, "not valid UTF-8");
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return NotAnObject();
            ParseResult r = Collect(ref reader, TKind.Names, TKind.Fields, TKind.Numbers, ref members);
            if (!r.IsOk) return r;
            return TKind.Validate(this, ref members, out value);
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

    /// <summary>The member loop over <see cref="Utf8JsonReader"/>, called with the reader on the opening brace.</summary>
    private ParseResult Collect(ref Utf8JsonReader reader, MemberNames names, string[] fields, uint numbers, ref Members m)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int i = Member(ref reader, names);
            if (i < 0) Keep(ref m.First, SkipValue(ref reader));
            else if ((numbers & (1u << i)) != 0) Keep(ref m.First, Num(ref reader, ref m.Seen, 1u << i, fields[i], out m.Num[i]));
            else Keep(ref m.First, Str(ref reader, ref m.Seen, 1u << i, fields[i], out m.Str[i]));
        }
        return End(ref reader);
    }

    // ---- the scanner: well-formed events without escapes, in one pass -------------------------

    /// <summary>Longest event the scanner takes (its quote bitmap lives on the stack); longer ones go to Utf8JsonReader.</summary>
    internal const int MaxScanBytes = 4096;

    private const int MaxScanDepth = 16;

    /// <summary>
    /// Collects the known members of a well-formed event without a tokenizer. First one vector pass over the bytes
    /// (<see cref="Classify"/>) marks every quote; an event with a backslash or a control character inside a string
    /// stops there. Then one walk over the structure finds each string's end from the quote bitmap instead of
    /// scanning for it. Takes only what it can decide alone: strings without escapes, plain decimals for number
    /// members, and unknown members of any JSON type. Anything else — an escape, a null or a repeated known member,
    /// an exponent, a syntax error — returns false and the event is parsed again by <see cref="Utf8JsonReader"/>, so
    /// both paths accept exactly the same events with the same values and every rejection keeps its reason.
    /// </summary>
    // validUtf8: true once the event is known to be valid UTF-8, so the reader path need not check it again.
    [SkipLocalsInit] // the quote bitmap: Classify writes every word the scanner reads
    private bool TryScan(ReadOnlySpan<byte> s, MemberNames names, uint numbers, Layout layout, ref Members m, out bool validUtf8)
    {
        validUtf8 = false;
        if (s.Length > MaxScanBytes) return false;
        Span<ulong> quotes = stackalloc ulong[MaxScanBytes / 64];
        quotes = quotes[..((s.Length + 63) >> 6)];
        if (!Classify(s, quotes, out bool ascii)) return false;
        // ASCII is valid UTF-8; anything else is checked whole, as the reader path would (which reports it).
        validUtf8 = ascii || Utf8.IsValid(s);
        if (!validUtf8) return false;
        // The walk keeps its state in locals — the position, and a cursor over the quote bitmap (Walk.NextQuote) — so
        // that the JIT holds them in registers: a scanner struct passed to calls lived in memory, and every step of the
        // position went through a store and a load.
        ref byte p = ref MemoryMarshal.GetReference(s);
        int n = s.Length, i = 0;
        int word = 0;
        ulong bits = quotes.IsEmpty ? 0 : quotes[0];

        Walk.SkipWhitespace(ref p, n, ref i);
        if (!Walk.Take(ref p, n, ref i, '{')) return false;
        Walk.SkipWhitespace(ref p, n, ref i);
        if (Walk.Take(ref p, n, ref i, '}')) return Walk.AtEnd(ref p, n, i); // no member: no text
        for (int ordinal = 0; ; ordinal++)
        {
            // The name this place had in the last event of this kind, as its exact bytes "name": — or found and learnt.
            int member;
            if (layout.TryTake(ordinal, ref p, n, ref i, out member))
            {
                // The learnt bytes hold the name's two quotes: the cursor moves past them.
                if (!Walk.NextQuote(quotes, ref word, ref bits, out _) || !Walk.NextQuote(quotes, ref word, ref bits, out _)) return false;
            }
            else
            {
                if (!Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out int nameStart, out int nameLength)) return false;
                member = names.Find(s.Slice(nameStart, nameLength));
                layout.Learn(ordinal, s, nameStart, nameLength, member);
                Walk.SkipWhitespace(ref p, n, ref i);
                if (!Walk.Take(ref p, n, ref i, ':')) return false;
            }
            Walk.SkipWhitespace(ref p, n, ref i);
            if (member < 0)
            {
                if ((uint)i < (uint)n && Unsafe.Add(ref p, i) == '"')
                {
                    if (!Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out _, out _)) return false;
                }
                else
                {
                    // An object of compact string members (the usual unknown object), or else any value by the general
                    // skip; then the cursor is set again from the position.
                    int end = Walk.SkipCompactStringObject(s, quotes, i);
                    if (end < 0)
                    {
                        var scan = new Scanner(s, quotes, i);
                        if (!scan.SkipValue(0)) return false;
                        end = scan.Position;
                    }
                    i = end;
                    word = i >> 6;
                    bits = word < quotes.Length ? quotes[word] & (ulong.MaxValue << (i & 63)) : 0;
                }
            }
            else
            {
                uint bit = 1u << member;
                if ((m.Seen & bit) != 0) return false;
                m.Seen |= bit | bit << 16;
                if ((numbers & bit) != 0)
                {
                    if (!Walk.Decimal(ref p, n, ref i, out m.Num[member])) return false;
                }
                else
                {
                    if (!Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out int start, out int length)) return false;
                    m.Str[member] = new Utf8Range(start, length); // the event is copied whole into scratch below
                }
            }
            Walk.SkipWhitespace(ref p, n, ref i);
            if (Walk.Take(ref p, n, ref i, ','))
            {
                Walk.SkipWhitespace(ref p, n, ref i);
                continue;
            }
            if (!Walk.Take(ref p, n, ref i, '}') || !Walk.AtEnd(ref p, n, i)) return false;
            // Without escapes a string's text is its bytes in the event: one copy of the event, at the start of scratch,
            // and every range points into it where the string stands (the reader path copies each string instead).
            s.CopyTo(_scratch);
            return true;
        }
    }

    /// <summary>
    /// One vector pass: sets a bit in <paramref name="quotes"/> for every <c>"</c>, and returns false when the event
    /// has a backslash (an escape: the scanner leaves those to Utf8JsonReader), a control character other than
    /// whitespace, or whitespace control characters (tab, CR, LF) inside a string. With no backslash every quote
    /// opens or closes a string, so "inside a string" is the prefix parity of the quote bits.
    /// </summary>
    private static bool Classify(ReadOnlySpan<byte> s, Span<ulong> quotes, out bool ascii)
    {
        ascii = false;
        Vector256<byte> high = Vector256<byte>.Zero; // OR of every byte: its top bit says whether any is >= 0x80
        ref byte start = ref MemoryMarshal.GetReference(s);
        ulong insideCarry = 0; // all ones when the previous word ended inside a string
        Span<byte> tail = s.Length < 64 ? stackalloc byte[64] : default; // zeroed: the padding of a short event
        int words = (s.Length + 63) >> 6;
        for (int w = 0; w < words; w++)
        {
            int at = w << 6;
            // The word's 64 bytes: in place; for the last, partial word the 64 bytes that end the event (overlapping
            // the word before, shifted so that bit 0 is byte `at`) or a zero-padded copy of a short event (masked).
            scoped ref byte word = ref Unsafe.Add(ref start, at);
            int shift = 0;
            ulong valid = ulong.MaxValue;
            if (at + 64 > s.Length)
            {
                if (s.Length >= 64)
                {
                    word = ref Unsafe.Add(ref start, s.Length - 64);
                    shift = at + 64 - s.Length;
                }
                else
                {
                    s.CopyTo(tail);
                    word = ref MemoryMarshal.GetReference(tail);
                    valid = (1UL << s.Length) - 1;
                }
            }
            Vector256<byte> lo = Vector256.LoadUnsafe(ref word);
            Vector256<byte> hi = Vector256.LoadUnsafe(ref word, 32);
            ulong q = (Bits(Vector256.Equals(lo, Vector256.Create((byte)'"')), Vector256.Equals(hi, Vector256.Create((byte)'"'))) >> shift) & valid;
            ulong special = (Bits(Special(lo), Special(hi)) >> shift) & valid;
            high |= lo | hi;
            quotes[w] = q;
            if (special == 0) { insideCarry = (ulong)-(long)(BitOperations.PopCount(q) & 1) ^ insideCarry; continue; }
            // Rare: a backslash or a control character somewhere in these 64 bytes. Which, from the same bytes.
            ulong b = Bits(Vector256.Equals(lo, Vector256.Create((byte)'\\')), Vector256.Equals(hi, Vector256.Create((byte)'\\'))) >> shift;
            ulong ws = Bits(Whitespace(lo), Whitespace(hi)) >> shift;
            if ((special & b) != 0) return false;
            // Control characters: whitespace outside strings only.
            if ((special & ~ws) != 0) return false;
            // Prefix XOR: bit k set when an odd number of quotes precede or sit at k (k itself a quote: an opening one).
            ulong inside = q;
            inside ^= inside << 1;
            inside ^= inside << 2;
            inside ^= inside << 4;
            inside ^= inside << 8;
            inside ^= inside << 16;
            inside ^= inside << 32;
            inside ^= insideCarry;
            if ((special & inside) != 0) return false;
            insideCarry = (ulong)((long)inside >> 63);
        }
        ascii = high.ExtractMostSignificantBits() == 0;
        return true;

        static ulong Bits(Vector256<byte> lo, Vector256<byte> hi) => lo.ExtractMostSignificantBits() | (ulong)hi.ExtractMostSignificantBits() << 32;

        // A backslash or a byte below 0x20.
        static Vector256<byte> Special(Vector256<byte> v) =>
            Vector256.LessThan(v, Vector256.Create((byte)0x20)) | Vector256.Equals(v, Vector256.Create((byte)'\\'));

        static Vector256<byte> Whitespace(Vector256<byte> v) =>
            Vector256.Equals(v, Vector256.Create((byte)'\t')) | Vector256.Equals(v, Vector256.Create((byte)'\n')) | Vector256.Equals(v, Vector256.Create((byte)'\r'));
    }

    /// <summary>
    /// The member names of the last event of one kind, in order, as the exact bytes <c>"name":</c>. Producers write
    /// their members in the same order every time, so the scanner first checks whether the next bytes are the name the
    /// last event had in this place — one or two word comparisons instead of finding the string's end and looking the
    /// name up. On a miss the name is found as usual and replaces the one learnt. Equal bytes mean the same name: the
    /// scanner only runs on events without escapes, so the quote in those bytes closes the name. Per parser (a parser is
    /// single-threaded); nothing allocated after construction.
    /// </summary>
    private sealed class Layout
    {
        private const int Places = 16;
        private readonly Token[] _tokens = new Token[Places];

        private struct Token
        {
            public ulong First, Last; // the first and last 8 (or 4) bytes of "name":
            public int Length;        // 0: nothing learnt
            public int Member;
        }

        /// <summary>If the bytes at position <paramref name="i"/> of the event <paramref name="p"/> (<paramref name="n"/>
        /// bytes) are the name learnt for <paramref name="ordinal"/> and its colon, moves past them and gives that name's
        /// member: its first and last 8 bytes (under 8: 4) compared as words.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryTake(int ordinal, ref byte p, int n, ref int i, out int member)
        {
            member = -1;
            if ((uint)ordinal >= Places) return false;
            ref Token t = ref _tokens[ordinal];
            int length = t.Length;
            if (length == 0 || length > n - i) return false;
            ref byte at = ref Unsafe.Add(ref p, i);
            bool same = length >= 8
                ? Unsafe.ReadUnaligned<ulong>(ref at) == t.First && Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref at, length - 8)) == t.Last
                : Unsafe.ReadUnaligned<uint>(ref at) == (uint)t.First && Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref at, length - 4)) == (uint)t.Last;
            if (!same) return false;
            i += length;
            member = t.Member;
            return true;
        }

        /// <summary>Remembers the name found at <paramref name="ordinal"/> when it stands as <c>"name":</c> (compact);
        /// names of 14 bytes and more are not learnt (their token would not fit two words).</summary>
        public void Learn(int ordinal, ReadOnlySpan<byte> s, int nameStart, int nameLength, int member)
        {
            if ((uint)ordinal >= Places) return;
            ref Token t = ref _tokens[ordinal];
            int n = nameLength + 3, at = nameStart - 1;
            if (nameLength == 0 || n > 16 || at + n > s.Length || s[at + n - 1] != ':')
            {
                t.Length = 0;
                return;
            }
            ref byte p = ref Unsafe.Add(ref MemoryMarshal.GetReference(s), at);
            if (n >= 8)
            {
                t.First = Unsafe.ReadUnaligned<ulong>(ref p);
                t.Last = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, n - 8));
            }
            else
            {
                t.First = Unsafe.ReadUnaligned<uint>(ref p);
                t.Last = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, n - 4));
            }
            t.Length = n;
            t.Member = member;
        }
    }

    /// <summary>
    /// The steps of <see cref="TryScan"/>'s walk over the event <c>p</c> of <c>n</c> bytes at position <c>i</c>, as
    /// static methods the JIT inlines, so the walk's position and quote cursor stay in registers. Every read is
    /// checked against <c>n</c> first.
    /// </summary>
    private static class Walk
    {
        /// <summary>Outside strings, Classify let through no byte up to 0x20 but space, tab, CR and LF: one comparison each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void SkipWhitespace(ref byte p, int n, ref int i)
        {
            while ((uint)i < (uint)n && Unsafe.Add(ref p, i) <= (byte)' ') i++;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Take(ref byte p, int n, ref int i, char c)
        {
            if ((uint)i >= (uint)n || Unsafe.Add(ref p, i) != c) return false;
            i++;
            return true;
        }

        /// <summary>Only whitespace from <paramref name="i"/> to the end.</summary>
        public static bool AtEnd(ref byte p, int n, int i)
        {
            SkipWhitespace(ref p, n, ref i);
            return i == n;
        }

        /// <summary>
        /// The next quote's position from the cursor over the quote bitmap: <paramref name="word"/>, the word it is in,
        /// and <paramref name="bits"/>, that word's quotes not yet met. The walk meets every quote in order (each opens
        /// or closes a string it reads, skips, or takes as a learnt name), so a string's quotes are the cursor's next two:
        /// taking one clears the lowest bit of a register instead of loading the bitmap word at the position, which keeps
        /// the position out of the walk's dependency chain. False past the last quote.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool NextQuote(ReadOnlySpan<ulong> quotes, ref int word, ref ulong bits, out int position)
        {
            while (bits == 0)
            {
                if (++word >= quotes.Length)
                {
                    position = 0;
                    return false;
                }
                bits = quotes[word];
            }
            position = (word << 6) + BitOperations.TrailingZeroCount(bits);
            bits &= bits - 1;
            return true;
        }

        /// <summary>A string at the position: its content; the position moves past its closing quote. The cursor's next
        /// quote must be this one (a walk out of step falls back to the reader, never misreads); the one after closes the
        /// string (Classify ruled out escapes).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool String(ref byte p, int n, ref int i, ReadOnlySpan<ulong> quotes, ref int word, ref ulong bits, out int start, out int length)
        {
            start = i + 1;
            length = 0;
            if ((uint)i >= (uint)n || Unsafe.Add(ref p, i) != '"') return false;
            if (!NextQuote(quotes, ref word, ref bits, out int open) || open != i || !NextQuote(quotes, ref word, ref bits, out int end)) return false;
            length = end - start;
            i = end + 1;
            return true;
        }

        /// <summary>
        /// A plain decimal (<c>-?(0|[1-9]d*)(.d+)?</c>, at most 15 digits) read as <see cref="TryFastDouble"/> reads it;
        /// false for anything else (an exponent, more digits, bad syntax), which Utf8JsonReader then decides.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Decimal(ref byte p, int n, ref int position, out double value)
        {
            value = 0;
            int i = position;
            bool negative = (uint)i < (uint)n && Unsafe.Add(ref p, i) == '-';
            if (negative) i++;
            if ((uint)i >= (uint)n) return false;
            uint d = (uint)(Unsafe.Add(ref p, i) - '0');
            if (d > 9) return false;
            long mantissa = d;
            int integerStart = i;
            i++;
            if (d == 0)
            {
                if ((uint)i < (uint)n && (uint)(Unsafe.Add(ref p, i) - '0') <= 9) return false; // a leading zero
            }
            else
            {
                Digits(ref p, n, ref i, ref mantissa);
            }
            int digits = i - integerStart, fraction = 0;
            if ((uint)i < (uint)n && Unsafe.Add(ref p, i) == '.')
            {
                int first = ++i;
                Digits(ref p, n, ref i, ref mantissa);
                fraction = i - first;
                if (fraction == 0) return false;
                digits += fraction;
            }
            // Past 15 digits the mantissa may have lost digits (or wrapped): the reader path decides those.
            if (digits > 15) return false;
            if ((uint)i < (uint)n && (Unsafe.Add(ref p, i) | 0x20) == 'e') return false;
            value = fraction > 0 ? mantissa / s_powersOf10[fraction] : mantissa;
            if (negative) value = -value;
            position = i;
            return true;
        }

        /// <summary>The digits from <paramref name="i"/> on, appended to <paramref name="mantissa"/> (which wraps harmlessly
        /// past 18 digits: the caller counts them and rejects more than 15). One at a time: reading eight at once by word
        /// arithmetic was measured twice as slow on coordinates' short runs.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Digits(ref byte p, int n, ref int i, ref long mantissa)
        {
            uint d;
            while ((uint)i < (uint)n && (d = (uint)(Unsafe.Add(ref p, i) - '0')) <= 9)
            {
                mantissa = unchecked((mantissa * 10) + d);
                i++;
            }
        }

        /// <summary>
        /// An object of string members written without whitespace (<c>{"make":"TOYOTA","model":"CAMRY"}</c>, the usual
        /// unknown object) at <paramref name="open"/>, skipped from quote to quote in the bitmap: between a name's closing
        /// quote and its value's opening quote only <c>:</c>, between a value and the next name only <c>,</c>, after the
        /// last value <c>}</c>. The position after the object, or -1 for anything else — whitespace, another type of
        /// value, nesting, an empty object, no object — which the general skip then takes or rejects.
        /// </summary>
        public static int SkipCompactStringObject(ReadOnlySpan<byte> s, ReadOnlySpan<ulong> quotes, int open)
        {
            if ((uint)(open + 1) >= (uint)s.Length || s[open] != '{') return -1;
            int word = (open + 1) >> 6;
            ulong bits = quotes[word] & (ulong.MaxValue << ((open + 1) & 63));
            int expect = open + 1; // where the next name's opening quote must stand
            while (true)
            {
                // Four quotes a member: name open, name close, value open, value close.
                if (!NextQuote(quotes, ref word, ref bits, out int nameOpen) || nameOpen != expect ||
                    !NextQuote(quotes, ref word, ref bits, out int nameClose) ||
                    !NextQuote(quotes, ref word, ref bits, out int valueOpen) || valueOpen != nameClose + 2 || s[nameClose + 1] != ':' ||
                    !NextQuote(quotes, ref word, ref bits, out int valueClose) || valueClose + 1 >= s.Length)
                {
                    return -1;
                }
                byte after = s[valueClose + 1];
                if (after == '}') return valueClose + 2;
                if (after != ',') return -1;
                expect = valueClose + 2;
            }
        }
    }

    /// <summary>
    /// The general skip of an unknown member's value of any type (<see cref="SkipValue"/>), for what the walk's fast
    /// paths do not take: a position in the event and the event's quote bitmap, each string's end found from the bitmap.
    /// </summary>
    private ref struct Scanner(ReadOnlySpan<byte> s, ReadOnlySpan<ulong> quotes, int position)
    {
        private readonly ReadOnlySpan<byte> _s = s;
        private readonly ReadOnlySpan<ulong> _quotes = quotes;
        private int _i = position;

        public readonly int Position => _i;

        /// <summary>Outside strings, Classify let through no byte up to 0x20 but space, tab, CR and LF: one comparison each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void SkipWhitespace()
        {
            while ((uint)_i < (uint)_s.Length && _s[_i] <= (byte)' ') _i++;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Take(char c)
        {
            if ((uint)_i >= (uint)_s.Length || _s[_i] != c) return false;
            _i++;
            return true;
        }

        /// <summary>A string at the position: its content; the position moves past its closing quote.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool String(out int start, out int length)
        {
            start = _i + 1;
            length = 0;
            if ((uint)_i >= (uint)_s.Length || _s[_i] != '"') return false;
            // The next quote after the opening one closes the string (Classify ruled out escapes).
            int word = start >> 6;
            if (word >= _quotes.Length) return false;
            ulong bits = (start & 63) == 0 ? _quotes[word] : _quotes[word] & (ulong.MaxValue << (start & 63));
            while (bits == 0)
            {
                if (++word >= _quotes.Length) return false;
                bits = _quotes[word];
            }
            int end = (word << 6) + BitOperations.TrailingZeroCount(bits);
            length = end - start;
            _i = end + 1;
            return true;
        }

        /// <summary>A JSON number (RFC 8259 §6 grammar) at the position; the position moves past it.</summary>
        public bool Number()
        {
            if ((uint)_i < (uint)_s.Length && _s[_i] == '-') _i++;
            if ((uint)_i >= (uint)_s.Length) return false;
            if (_s[_i] == '0') _i++;
            else if ((uint)(_s[_i] - '1') <= 8) SkipDigits(_i + 1);
            else return false;
            if ((uint)_i < (uint)_s.Length && _s[_i] == '.')
            {
                int fraction = _i + 1;
                SkipDigits(fraction);
                if (_i == fraction) return false;
            }
            if ((uint)_i < (uint)_s.Length && (_s[_i] | 0x20) == 'e')
            {
                _i++;
                if ((uint)_i < (uint)_s.Length && _s[_i] is (byte)'+' or (byte)'-') _i++;
                int exponent = _i;
                SkipDigits(exponent);
                if (_i == exponent) return false;
            }
            return true;
        }

        /// <summary>Skips one value of any type (an unknown member's), checking its syntax.</summary>
        public bool SkipValue(int depth)
        {
            if ((uint)_i >= (uint)_s.Length) return false;
            switch (_s[_i])
            {
                case (byte)'"':
                    return String(out _, out _);
                case (byte)'t':
                    return Literal("true"u8);
                case (byte)'f':
                    return Literal("false"u8);
                case (byte)'n':
                    return Literal("null"u8);
                case (byte)'{':
                    if (depth >= MaxScanDepth) return false;
                    _i++;
                    SkipWhitespace();
                    if (Take('}')) return true;
                    while (true)
                    {
                        if (!String(out _, out _)) return false;
                        SkipWhitespace();
                        if (!Take(':')) return false;
                        SkipWhitespace();
                        if (!SkipMember(depth + 1)) return false;
                        SkipWhitespace();
                        if (Take('}')) return true;
                        if (!Take(',')) return false;
                        SkipWhitespace();
                    }
                case (byte)'[':
                    if (depth >= MaxScanDepth) return false;
                    _i++;
                    SkipWhitespace();
                    if (Take(']')) return true;
                    while (true)
                    {
                        if (!SkipMember(depth + 1)) return false;
                        SkipWhitespace();
                        if (Take(']')) return true;
                        if (!Take(',')) return false;
                        SkipWhitespace();
                    }
                default:
                    return Number();
            }
        }

        /// <summary>A value inside an object or array: a string (the usual case) without the call and the switch.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool SkipMember(int depth) =>
            (uint)_i < (uint)_s.Length && _s[_i] == '"' ? String(out _, out _) : SkipValue(depth);

        private bool Literal(ReadOnlySpan<byte> literal)
        {
            if (!_s[_i..].StartsWith(literal)) return false;
            _i += literal.Length;
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void SkipDigits(int from)
        {
            _i = from;
            while ((uint)_i < (uint)_s.Length && (uint)(_s[_i] - '0') <= 9) _i++;
        }
    }


    /// <summary>
    /// The index of the current property name in <paramref name="names"/>, or -1.
    /// </summary>
    private static int Member(ref Utf8JsonReader reader, MemberNames names)
    {
        if (reader.ValueIsEscaped)
        {
            // Rare: an escaped property name. Unescaping never lengthens it; names we know are short.
            const int Longest = 192;
            if (reader.ValueSpan.Length > Longest) return -1;
            Span<byte> unescaped = stackalloc byte[Longest];
            int written = reader.CopyString(unescaped);
            return names.Find(unescaped[..written]);
        }
        return names.Find(reader.ValueSpan);
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
