using System.Buffers;
using StreamGuard.Events;
using StreamGuard.Parsing.Scan;
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
internal sealed partial class EventParser
{
    /// <summary>Default cap on one event's size in bytes.</summary>
    public const int DefaultMaxEventBytes = 64 * 1024;

    /// <summary>Longest camera id accepted (bounds the camera interner's memory).</summary>
    public const int MaxCameraIdBytes = 128;

    private readonly AgencyDirectory _agencies;
    private bool _retiredOwnersKnown;
    private readonly Utf8Interner _cameras;
    private readonly byte[] _scratch;
    private readonly MemberLayout[] _layouts = [new(), new(), new(), new()]; // by IEventSchema.Index
    private Rfc3339.DayCache _observedDay, _issuedDay; // consecutive reads (queries) mostly share their day

    public EventParser(
        AgencyDirectory agencies, Utf8Interner? cameras = null, int maxEventBytes = DefaultMaxEventBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEventBytes, 64);
        _agencies = agencies;
        _cameras = cameras ?? new Utf8Interner();
        MaxEventBytes = maxEventBytes;
        _scratch = new byte[maxEventBytes];
    }

    public int MaxEventBytes { get; }

    /// <summary>
    /// Off: every event goes through <see cref="ReaderFallback"/> (the scanner's reference, for differential tests
    /// and benchmarks).
    /// </summary>
    internal bool ScannerEnabled { get; set; } = true;

    /// <summary>Whether the last event was taken by the one-pass scanner (for tests).</summary>
    internal bool LastScanned { get; private set; }

    public AgencyDirectory Agencies => _agencies;

    public Utf8Interner Cameras => _cameras;

    /// <summary>The text of a string member of the last parsed event.</summary>
    public ReadOnlySpan<byte> Text(Utf8Range range) => new(_scratch, range.Start, range.Length);

    public ParseResult ParseRead(ReadOnlySpan<byte> utf8, out PlateRead read) =>
        Parse<ReadSchema, PlateRead>(utf8, out read);

    /// <summary>
    /// Parses a read being restored into the store: as <see cref="ParseRead(ReadOnlySpan{byte}, out PlateRead)"/>,
    /// but an owner a reload retired is known, since its stored reads keep their window (a new read naming it is
    /// <c>unknown_agency</c>).
    /// </summary>
    public ParseResult ParseRestoredRead(ReadOnlySpan<byte> utf8, out PlateRead read)
    {
        _retiredOwnersKnown = true;
        try
        {
            return Parse<ReadSchema, PlateRead>(utf8, out read);
        }
        finally
        {
            _retiredOwnersKnown = false;
        }
    }

    public ParseResult ParseRead(in ReadOnlySequence<byte> utf8, out PlateRead read) =>
        Parse<ReadSchema, PlateRead>(utf8, out read);

    public ParseResult ParseQuery(ReadOnlySpan<byte> utf8, out Query query) =>
        Parse<QuerySchema, Query>(utf8, out query);

    public ParseResult ParseQuery(in ReadOnlySequence<byte> utf8, out Query query) =>
        Parse<QuerySchema, Query>(utf8, out query);

    public ParseResult ParseHotlist(ReadOnlySpan<byte> utf8, out HotlistEntry entry) =>
        Parse<HotlistSchema, HotlistEntry>(utf8, out entry);

    public ParseResult ParseHotlist(in ReadOnlySequence<byte> utf8, out HotlistEntry entry) =>
        Parse<HotlistSchema, HotlistEntry>(utf8, out entry);

    public ParseResult ParseHold(ReadOnlySpan<byte> utf8, out Hold hold) => Parse<HoldSchema, Hold>(utf8, out hold);

    public ParseResult ParseHold(in ReadOnlySequence<byte> utf8, out Hold hold) =>
        Parse<HoldSchema, Hold>(utf8, out hold);

    /// <summary>
    /// Size cap, then the scanner, or the reader fallback (which checks UTF-8 first); then the schema's checks.
    /// </summary>
    private ParseResult Parse<TSchema, T>(ReadOnlySpan<byte> utf8, out T value)
        where TSchema : struct, IEventSchema<T>
        where T : struct
    {
        value = default;
        if (utf8.Length > MaxEventBytes) return Rejections.Oversized();
        var members = default(EventMembers);
        members.Reset();
        bool validUtf8 = false;
        LastScanned = ScannerEnabled && EventScanner.TryScan(
            utf8, TSchema.Names, TSchema.Numbers, _layouts[TSchema.Index], ref members, out validUtf8);
        if (LastScanned)
        {
            // Without escapes a string's text is its bytes in the event: one copy of the event, at the start of
            // scratch, and every range points into it where the string stands.
            utf8.CopyTo(_scratch);
            return TSchema.Validate(this, ref members, out value);
        }

        // Anything the scanner does not take is parsed again from the start by the reader, which decides what is
        // wrong and reports it.
        members.Reset();
        ParseResult collected = ReaderFallback.Collect(
            utf8, validUtf8, TSchema.Names, TSchema.Fields, TSchema.Numbers, _scratch, ref members);
        return collected.IsOk ? TSchema.Validate(this, ref members, out value) : collected;
    }

    /// <summary>
    /// A single segment is parsed in place; split data (rare: a record across pipe buffers) is first copied into
    /// a pooled contiguous buffer, after the size cap is checked.
    /// </summary>
    private ParseResult Parse<TSchema, T>(in ReadOnlySequence<byte> utf8, out T value)
        where TSchema : struct, IEventSchema<T>
        where T : struct
    {
        if (utf8.IsSingleSegment) return Parse<TSchema, T>(utf8.FirstSpan, out value);
        if (utf8.Length > MaxEventBytes)
        {
            value = default;
            return Rejections.Oversized();
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)utf8.Length);
        try
        {
            utf8.CopyTo(rented);
            return Parse<TSchema, T>(rented.AsSpan(0, (int)utf8.Length), out value);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
