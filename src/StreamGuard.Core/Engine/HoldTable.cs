using System.Text;
using StreamGuard.Events;
using StreamGuard.Parsing;

namespace StreamGuard.Engine;

/// <summary>
/// The legal holds in force (SPEC §5), from the compacted topic <c>alpr.holds</c> (key <c>hold_id</c>): a record
/// places or replaces a hold, a tombstone (empty value) releases it. A hold keeps the holding agency's own reads that
/// match it (plate if given, <c>observed_at</c> within <c>from</c>–<c>to</c>) past their window until <c>until</c>; a
/// released hold lets them expire at once.
/// </summary>
/// <remarks>
/// Applying a record and auditing it are separate, because with several workers every worker holds the whole table
/// (<see cref="Apply"/>, silent) while each record is audited once, by the worker that owns its partition
/// (<see cref="Audit"/>: <c>hold.place</c> / <c>hold.release</c>, or a dead letter). A single process does both
/// (<see cref="ApplyAndAudit"/>). The tombstone of a hold never seen is ignored (a compacted topic may keep one).
/// </remarks>
public sealed class HoldTable
{
    private const int MaxReleasedKept = 10_000;

    private static readonly ParseResult s_keyDiffers =
        new(ParseError.InvalidField, "key", "the key differs from hold_id (its tombstone could not release it)");

    private readonly StreamGuardEngine _engine;
    private readonly Dictionary<string, HoldRow> _holds = new(StringComparer.Ordinal);
    // A read's window end consults its owner's holds on its plate and its owner's holds on every plate only, so an
    // evaluation costs the holds that could keep the read, not the agency's whole table.
    private readonly Dictionary<int, AgencyHolds> _byAgency = [];
    // Holds released by Apply before Audit saw the release: kept so its record can state the hold's terms.
    private readonly Dictionary<string, HoldRow> _released = new(StringComparer.Ordinal);

    internal HoldTable(StreamGuardEngine engine) => _engine = engine;

    /// <summary>Holds in force.</summary>
    public int Count => _holds.Count;

    /// <summary>Holds examined by the evaluations of reads so far (what an evaluation costs, in holds).</summary>
    internal long Examined { get; private set; }

    /// <summary>
    /// The earliest <c>from</c> of the holds in force (reads to restore go back that far), or null without holds.
    /// </summary>
    public long? EarliestHeldMs => _holds.Count == 0 ? null : _holds.Values.Min(h => h.FromMs);

    /// <summary>Applies a record to the table: no audit record, no dead letter.</summary>
    public void Apply(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (Update(key, value) is not { } released) return;
        if (_released.Count >= MaxReleasedKept) _released.Clear(); // bounded: audited by another worker, or long ago
        _released[Encoding.UTF8.GetString(released.Id)] = released;
    }

    /// <summary>
    /// Audits a record without applying it: <c>hold.place</c> or <c>hold.release</c> on the chain of
    /// <paramref name="source"/>, or a dead letter for a record that is neither, or whose key is not its
    /// <c>hold_id</c> (its tombstone could never release it: no worker applies it).
    /// </summary>
    public void Audit(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source)
    {
        long now = _engine.NowMs;
        if (value.IsEmpty)
        {
            ParseResult keyCheck = EventParser.HoldTombstoneKey(key);
            if (!keyCheck.IsOk)
            {
                _engine.DeadLetter(keyCheck, key, source);
                return;
            }
            string id = Encoding.UTF8.GetString(key);
            // Apply may have released it already: what was released is kept for this record.
            if (!_holds.TryGetValue(id, out HoldRow? known)) _released.TryGetValue(id, out known);
            _engine.Stats.Count(DecisionCode.HoldReleased);
            if (known is not null)
            {
                _engine.Records.Hold(source.Partition, DecisionCode.HoldReleased, now, _engine.Policy, known);
            }
            else
            {
                _engine.Records.UnknownHoldReleased(source.Partition, now, key);
            }
            _released.Remove(id);
            return;
        }
        ParseResult parsed = _engine.Parser.ParseHold(value, out Hold hold);
        if (parsed.IsOk && !KeyIsId(key, hold, keyless: false)) parsed = s_keyDiffers;
        if (!parsed.IsOk)
        {
            _engine.DeadLetter(parsed, value, source);
            return;
        }
        AuditPlaced(Row(hold), source, now);
    }

    /// <summary>
    /// Audits a record, then applies it (a single process, as in <c>replay</c>), parsing it once. A record read from
    /// a file has no key (<paramref name="key"/> empty): its <c>hold_id</c> is its key.
    /// </summary>
    public void ApplyAndAudit(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source)
    {
        if (value.IsEmpty)
        {
            Audit(key, value, source);
            Update(key, value); // audited already: a release is not kept for a later record
            return;
        }
        _engine.Stats.HoldEvents++;
        ParseResult parsed = _engine.Parser.ParseHold(value, out Hold hold);
        if (parsed.IsOk && !KeyIsId(key, hold, keyless: true)) parsed = s_keyDiffers;
        if (!parsed.IsOk)
        {
            _engine.DeadLetter(parsed, value, source);
            return;
        }
        HoldRow row = Row(hold);
        AuditPlaced(row, source, _engine.NowMs);
        Place(row);
    }

    /// <summary>
    /// The latest <c>until</c> of the holds in force that keep a read (owner, plate, time) beyond
    /// <paramref name="nowMs"/>, and the hold that sets it; null when none does.
    /// </summary>
    internal long? HeldUntil(int owner, ulong plate, long observedAtMs, long nowMs, out HoldRow? by)
    {
        by = null;
        if (!_byAgency.TryGetValue(owner, out AgencyHolds? holds)) return null;
        long best = nowMs;
        if (holds.ByPlate.TryGetValue(plate, out List<HoldRow>? onPlate))
        {
            best = Latest(onPlate, observedAtMs, best, ref by);
        }
        best = Latest(holds.AnyPlate, observedAtMs, best, ref by);
        return by is null ? null : best;
    }

    /// <summary>The latest <c>until</c> past <paramref name="best"/> among <paramref name="holds"/> whose time range
    /// holds <paramref name="observedAtMs"/>; <paramref name="by"/> is set to the hold that gives it.</summary>
    private long Latest(List<HoldRow> holds, long observedAtMs, long best, ref HoldRow? by)
    {
        foreach (HoldRow h in holds)
        {
            Examined++;
            if (h.UntilMs <= best || observedAtMs < h.FromMs || observedAtMs > h.ToMs) continue;
            best = h.UntilMs;
            by = h;
        }
        return best;
    }

    /// <summary>After a retention window changed: every stored read's expiry back to its window or its holds.</summary>
    internal void RescheduleAllReads() => _engine.Reads.Reschedule(ExpiryInForce());

    /// <summary>The record's effect on the table; returns the hold a tombstone released, if any.</summary>
    private HoldRow? Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _engine.Stats.HoldEvents++;
        if (value.IsEmpty)
        {
            // A key that can be no hold_id is dead-lettered by Audit, so it releases nothing either: decoded, its
            // invalid bytes could name a hold that was placed (U+FFFD is a character of a valid id).
            if (!EventParser.HoldTombstoneKey(key).IsOk
                || !_holds.Remove(Encoding.UTF8.GetString(key), out HoldRow? removed))
            {
                return null;
            }
            Unindex(removed);
            RescheduleHeldReads();
            return removed;
        }
        // A hold keyed other than by its id is not applied: its tombstone (keyed by hold_id) could never release it.
        if (_engine.Parser.ParseHold(value, out Hold hold).IsOk && KeyIsId(key, hold, keyless: false)) Place(Row(hold));
        return null;
    }

    private void AuditPlaced(HoldRow row, in EventSource source, long now)
    {
        _engine.Stats.Count(DecisionCode.HoldPlaced);
        _engine.Records.Hold(source.Partition, DecisionCode.HoldPlaced, now, _engine.Policy, row);
    }

    /// <summary>Places a hold, or replaces the one with its id.</summary>
    private void Place(HoldRow row)
    {
        string holdId = Encoding.UTF8.GetString(row.Id);
        bool replaced = _holds.Remove(holdId, out HoldRow? before);
        if (before is not null) Unindex(before);
        _holds[holdId] = row;
        if (!_byAgency.TryGetValue(row.Agency, out AgencyHolds? ofAgency)) _byAgency.Add(row.Agency, ofAgency = new());
        if (row.Plate == 0) ofAgency.AnyPlate.Add(row);
        else if (ofAgency.ByPlate.TryGetValue(row.Plate, out List<HoldRow>? onPlate)) onPlate.Add(row);
        else ofAgency.ByPlate.Add(row.Plate, [row]);
        // A new hold needs nothing now: eviction consults the holds when a read's window ends. A replaced one may end
        // sooner than the one before, so reads it was keeping are re-evaluated.
        if (replaced) RescheduleHeldReads();
    }

    private void Unindex(HoldRow row)
    {
        AgencyHolds ofAgency = _byAgency[row.Agency];
        if (row.Plate == 0)
        {
            ofAgency.AnyPlate.Remove(row);
        }
        else if (ofAgency.ByPlate.TryGetValue(row.Plate, out List<HoldRow>? onPlate))
        {
            onPlate.Remove(row);
            if (onPlate.Count == 0) ofAgency.ByPlate.Remove(row.Plate);
        }
    }

    /// <summary>
    /// Whether a record's key is its <c>hold_id</c>, as the tombstone that releases it will be keyed; a record read
    /// from a file (<paramref name="keyless"/>, no key given) is keyed by its id.
    /// </summary>
    private bool KeyIsId(ReadOnlySpan<byte> key, in Hold hold, bool keyless) =>
        (keyless && key.IsEmpty) || key.SequenceEqual(_engine.Parser.Text(hold.HoldId));

    /// <summary>After a hold was released or replaced: the reads a hold kept past their window.</summary>
    private void RescheduleHeldReads() => _engine.Reads.RescheduleExtended(ExpiryInForce());

    /// <summary>
    /// A read's expiry by the windows and holds in force: its window, or past it the holds that keep it.
    /// </summary>
    private Func<StoredRead, long> ExpiryInForce()
    {
        long now = _engine.NowMs;
        ReadStore store = _engine.Reads;
        CompiledPolicy policy = _engine.Policy;
        return r =>
        {
            int owner = store.Owner(r);
            long observed = store.ObservedAtMs(r);
            long window = observed + policy.RetentionMs(owner);
            return window > now ? window : HeldUntil(owner, store.Plate(r), observed, now, out _) ?? window;
        };
    }

    private HoldRow Row(in Hold hold) => new()
    {
        Id = _engine.Parser.Text(hold.HoldId).ToArray(), Agency = hold.Agency, Plate = hold.Plate,
        FromMs = hold.FromMs, ToMs = hold.ToMs, Kind = hold.Kind, UntilMs = hold.UntilMs,
        CaseNumber = hold.CaseNumber.IsEmpty ? null : _engine.Parser.Text(hold.CaseNumber).ToArray(),
    };
}

/// <summary>One agency's holds in force: by plate, and those on every plate (no plate given).</summary>
internal sealed class AgencyHolds
{
    public Dictionary<ulong, List<HoldRow>> ByPlate { get; } = [];
    public List<HoldRow> AnyPlate { get; } = [];
}

/// <summary>
/// A hold in force: whose reads it keeps (plate if not 0, observed within from–to), why and until when.
/// </summary>
internal sealed class HoldRow
{
    public required byte[] Id { get; init; }
    public required int Agency { get; init; }
    public ulong Plate { get; init; }
    public long FromMs { get; init; }
    public long ToMs { get; init; }
    public required HoldKind Kind { get; init; }
    public byte[]? CaseNumber { get; init; }
    public required long UntilMs { get; init; }
}
