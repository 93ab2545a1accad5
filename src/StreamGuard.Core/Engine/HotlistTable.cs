using StreamGuard.Events;
using StreamGuard.Parsing;

namespace StreamGuard.Engine;

/// <summary>
/// The hotlist entries in force, by plate, from the compacted topic <c>alpr.hotlists</c> (key
/// <c>hotlist_id/plate</c>): a record adds or replaces an entry, a tombstone (empty value) removes it. A read matching
/// an entry in force alerts the entry's owner if the policy allows it (SPEC §3). A removed or expired entry never
/// alerts.
/// </summary>
/// <remarks>
/// A small table: every worker holds all of it, as Kafka Streams holds a global table, and applies every record
/// (<see cref="Apply"/>, silent); a bad record is dead-lettered once, by the worker that owns its partition
/// (<see cref="Check"/>), not once per worker and restart. A single process does both (<see cref="ApplyAndCheck"/>).
/// </remarks>
public sealed class HotlistTable
{
    /// <summary>
    /// Most entries in force for one plate: a read makes at most this many alerts (and alert decisions), so a plate
    /// put on thousands of lists cannot make one read's transaction outgrow its timeout. An entry past it is not
    /// applied and is dead-lettered (<c>invalid_field</c>); a removed or expired entry frees its place.
    /// </summary>
    public const int MaxEntriesPerPlate = 32;

    private static readonly ParseResult s_keyDiffers = new(ParseError.InvalidField, "key",
        "the key differs from hotlist_id/plate (its tombstone could not remove it)");

    private static readonly ParseResult s_plateFull = new(ParseError.InvalidField, "plate",
        "32 hotlist entries in force for this plate already (the most a plate may have)");

    private readonly StreamGuardEngine _engine;
    private readonly Dictionary<ulong, List<HotlistRow>> _byPlate = [];

    internal HotlistTable(StreamGuardEngine engine) => _engine = engine;

    /// <summary>Hotlist entries in force.</summary>
    public int Count { get; private set; }

    /// <summary>Applies a record to the table: a bad one is skipped without a dead letter.</summary>
    public void Apply(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _engine.Stats.HotlistEntries++;
        if (value.IsEmpty)
        {
            if (TombstoneKey(key, out ulong plate, out int slash)) Remove(plate, key[..slash]);
            return;
        }
        if (_engine.Parser.ParseHotlist(value, out HotlistEntry entry).IsOk && Admit(key, entry, keyless: false).IsOk)
        {
            Add(entry);
        }
    }

    /// <summary>Adds an entry, or replaces the one with its id and plate.</summary>
    private void Add(in HotlistEntry entry)
    {
        EventParser parser = _engine.Parser;
        ReadOnlySpan<byte> id = parser.Text(entry.HotlistId);
        Remove(entry.Plate, id);
        if (!_byPlate.TryGetValue(entry.Plate, out List<HotlistRow>? rows)) _byPlate.Add(entry.Plate, rows = []);
        rows.Add(new HotlistRow
        {
            HotlistId = id.ToArray(), Owner = entry.Owner, Purpose = entry.Purpose, ExpiresAtMs = entry.ExpiresAtMs,
            CaseNumber = entry.CaseNumber.IsEmpty ? null : parser.Text(entry.CaseNumber).ToArray(),
        });
        Count++;
    }

    /// <summary>
    /// Dead-letters a record that <see cref="Apply"/> does not apply — neither a valid entry nor a tombstone with a
    /// valid key, an entry keyed other than <c>hotlist_id/plate</c> (its tombstone could never remove it), or one past
    /// <see cref="MaxEntriesPerPlate"/>; applies nothing.
    /// </summary>
    public void Check(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source)
    {
        if (value.IsEmpty)
        {
            if (TombstoneKey(key, out _, out _)) return;
            var error = new ParseResult(ParseError.InvalidField, "key",
                "a hotlist tombstone needs the key hotlist_id/plate");
            _engine.DeadLetter(error, key, source);
            return;
        }
        ParseResult parsed = _engine.Parser.ParseHotlist(value, out HotlistEntry entry);
        if (parsed.IsOk) parsed = Admit(key, entry, keyless: false);
        if (!parsed.IsOk) _engine.DeadLetter(parsed, value, source);
    }

    /// <summary>
    /// Checks a record, then applies it (a single process, as in <c>replay</c>), parsing it once. A record read from a
    /// file has no key (<paramref name="key"/> empty): its <c>hotlist_id/plate</c> is its key.
    /// </summary>
    public void ApplyAndCheck(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source)
    {
        if (value.IsEmpty)
        {
            Check(key, value, source);
            Apply(key, value);
            return;
        }
        _engine.Stats.HotlistEntries++;
        ParseResult parsed = _engine.Parser.ParseHotlist(value, out HotlistEntry entry);
        if (parsed.IsOk) parsed = Admit(key, entry, keyless: true);
        if (parsed.IsOk) Add(entry);
        else _engine.DeadLetter(parsed, value, source);
    }

    /// <summary>
    /// Whether a valid entry may be applied: keyed <c>hotlist_id/plate</c> as its tombstone will be (the plate
    /// compared normalised; a record read from a file, <paramref name="keyless"/> with no key, is keyed by its ids),
    /// and a place for it among its plate's entries in force (replacing itself takes none). The same answer for
    /// <see cref="Apply"/> and <see cref="Check"/> whichever runs first: the entry itself is never counted.
    /// </summary>
    private ParseResult Admit(ReadOnlySpan<byte> key, in HotlistEntry entry, bool keyless)
    {
        ReadOnlySpan<byte> id = _engine.Parser.Text(entry.HotlistId);
        bool keyed = keyless && key.IsEmpty
            || TombstoneKey(key, out ulong plate, out int slash) && plate == entry.Plate
            && key[..slash].SequenceEqual(id);
        if (!keyed) return s_keyDiffers;
        if (!_byPlate.TryGetValue(entry.Plate, out List<HotlistRow>? rows)) return ParseResult.Ok;
        // An entry expired by the engine's clock takes no place (a read's alerts drop it); it is not removed here,
        // as a replay's reads may be older than its clock.
        long now = _engine.NowMs;
        int others = 0;
        foreach (HotlistRow row in rows)
        {
            if (row.ExpiresAtMs > now && !row.HotlistId.AsSpan().SequenceEqual(id)) others++;
        }
        return others < MaxEntriesPerPlate ? ParseResult.Ok : s_plateFull;
    }

    /// <summary>
    /// Hotlist alerts (SPEC §3): a read matching an entry in force alerts the entry's owner only if the policy allows
    /// <c>alert</c> for the entry's purpose. One decision in the read's audit entry per (read, entry), allow or deny.
    /// </summary>
    internal void Alert(in PlateRead read, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> payload, long now)
    {
        if (!_byPlate.TryGetValue(read.Plate, out List<HotlistRow>? rows)) return;
        CompiledPolicy policy = _engine.Policy;
        Span<byte> id = stackalloc byte[Audit.DecisionIds.Length];
        for (int i = rows.Count - 1; i >= 0; i--)
        {
            HotlistRow row = rows[i];
            if (row.ExpiresAtMs <= now)
            {
                rows.RemoveAt(i);
                Count--;
                continue;
            }
            Decision d = policy.Decide(read.Owner, row.Owner, Access.Alert, row.Purpose,
                documented: row.CaseNumber is not null, now);
            _engine.Stats.Count(d.Code);
            int decision = _engine.Records.Alert(policy, d, row);
            if (!d.Allowed) continue;
            _engine.Stats.Alerts++;
            _engine.Records.DecisionId(decision, id);
            _engine.Outputs.Alert(id, row.HotlistId, policy.Agencies.IdOf(row.Owner), payload);
        }
        if (rows.Count == 0) _byPlate.Remove(read.Plate);
    }

    /// <summary>A tombstone's key <c>hotlist_id/plate</c>: the plate, and where the id ends.</summary>
    private static bool TombstoneKey(ReadOnlySpan<byte> key, out ulong plate, out int slash)
    {
        slash = key.LastIndexOf((byte)'/');
        plate = 0;
        return slash > 0 && Text.Plate.TryPack(key[(slash + 1)..], out plate);
    }

    private void Remove(ulong plate, ReadOnlySpan<byte> hotlistId)
    {
        if (!_byPlate.TryGetValue(plate, out List<HotlistRow>? rows)) return;
        for (int i = rows.Count - 1; i >= 0; i--)
        {
            if (rows[i].HotlistId.AsSpan().SequenceEqual(hotlistId)) { rows.RemoveAt(i); Count--; }
        }
        if (rows.Count == 0) _byPlate.Remove(plate);
    }
}

/// <summary>A hotlist entry in force: whose it is, for what purpose, and until when.</summary>
internal sealed class HotlistRow
{
    public required byte[] HotlistId { get; init; }
    public required int Owner { get; init; }
    public required Purpose Purpose { get; init; }
    public byte[]? CaseNumber { get; init; }
    public required long ExpiresAtMs { get; init; }
}
