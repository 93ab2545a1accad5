using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Events;
using StreamGuard.Output;
using StreamGuard.Parsing;
using StreamGuard.Policy;
using StreamGuard.Security;
using StreamGuard.Text;

namespace StreamGuard.Engine;

/// <summary>Options of the engine; change with <c>with</c>.</summary>
public readonly record struct EngineOptions
{
    /// <summary>
    /// True in <c>replay</c>: the clock is the latest accepted event time (deterministic output).
    /// False in <c>run</c>: the wall clock.
    /// </summary>
    public bool EventTimeClock { get; init; }

    /// <summary>In replay, "now" for the future-timestamp check (SPEC §5); ignored with the wall clock.</summary>
    public long ReplayNowMs { get; init; }

    public int MaxEventBytes { get; init; }

    public static EngineOptions Default => new() { MaxEventBytes = EventParser.DefaultMaxEventBytes };
}

/// <summary>
/// The policy enforcement point: turns each input event into decisions, outputs and audit records.
/// </summary>
/// <remarks>
/// One engine per worker thread; not thread-safe. Every decision writes exactly one audit record before its
/// outputs are handed to the sink; every rejected event goes to the dead-letter sink with its code and source.
/// The parse and decide path allocates nothing per event; storing a read copies its bytes once.
/// </remarks>
public sealed class StreamGuardEngine
{
    private readonly IOutputSink _sink;
    private EventParser _parser;
    private readonly AuditLog _audit;
    private readonly ReadStore _store = new();
    private readonly EngineOptions _options;
    private readonly ArrayBufferWriter<byte> _out = new(4096);
    private readonly Utf8JsonWriter _json;
    private readonly Dictionary<UInt128, long> _seenQueries = [];
    private readonly PriorityQueue<UInt128, long> _seenExpiry = new();
    private readonly List<StoredRead> _matches = [];
    private readonly Comparison<StoredRead> _newestFirst;
    private readonly List<int> _owners = [];
    private readonly List<bool> _ownerAllowed = [];
    private IncrementalHash[]?[] _requesterMacs; // per requester, one keyed HMAC context per live key
    private long _eventClockMs = long.MinValue;

    /// <summary>Most reads in one answer (results beyond are withheld and the answer is marked <c>truncated</c>).</summary>
    public const int MaxReadsPerResult = 1000;

    /// <summary>
    /// An engine over <paramref name="policy"/>; <paramref name="change"/> is what the policy grants and revokes
    /// against the one before it, stated in the first <c>policy_load</c> records (see <see cref="PolicyDiff"/>).
    /// </summary>
    public StreamGuardEngine(CompiledPolicy policy, IOutputSink sink, byte[] auditKey, EngineOptions? options = null, PolicyChangeSummary? change = null)
    {
        Policy = policy;
        _sink = sink;
        _options = options ?? EngineOptions.Default;
        _parser = new EventParser(policy.Agencies, maxEventBytes: _options.MaxEventBytes == 0 ? EventParser.DefaultMaxEventBytes : _options.MaxEventBytes);
        _audit = new AuditLog(auditKey, sink);
        _audit.SetPolicy(policy, change);
        _json = new Utf8JsonWriter(_out, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _requesterMacs = new IncrementalHash[]?[policy.Agencies.Count];
        _newestFirst = (a, b) =>
        {
            long ta = _store.ObservedAtMs(a), tb = _store.ObservedAtMs(b);
            return ta != tb ? tb.CompareTo(ta) : _store.ReadId(a).SequenceCompareTo(_store.ReadId(b));
        };
    }

    public CompiledPolicy Policy { get; private set; }

    /// <summary>
    /// Puts <paramref name="next"/> in force from the next event on. It must be compiled with the policy in force as
    /// its <c>previous</c> (agency indexes stay stable, so stored reads keep their owner). Every chain then opens
    /// the new version with a <c>policy_load</c> record carrying <paramref name="change"/>.
    /// </summary>
    public void SwapPolicy(CompiledPolicy next, PolicyChangeSummary? change)
    {
        for (int i = 0; i < next.Agencies.Count; i++)
        {
            if (i < Policy.Agencies.Count && !next.Agencies.IdOf(i).SequenceEqual(Policy.Agencies.IdOf(i)))
            {
                throw new ArgumentException("the new policy was not compiled on top of the policy in force", nameof(next));
            }
        }
        bool windowsChanged = false;
        for (int i = 0; i < Policy.Agencies.Count; i++) windowsChanged |= Policy.RetentionMs(i) != next.RetentionMs(i);
        foreach (IncrementalHash[]? macs in _requesterMacs)
        {
            foreach (IncrementalHash mac in macs ?? []) mac.Dispose();
        }
        _requesterMacs = new IncrementalHash[]?[next.Agencies.Count];
        _parser = new EventParser(next.Agencies, _parser.Cameras, _parser.MaxEventBytes);
        Policy = next;
        // A changed window applies to reads already stored: a shortened one purges them at the next event.
        if (windowsChanged) RescheduleHeld(allReads: true);
        _audit.SetPolicy(next, change);
        Stats.PolicyLoads++;
    }

    public EngineStats Stats { get; } = new();

    public ReadStore Store => _store;

    public AuditLog Audit => _audit;

    /// <summary>The engine's clock in Unix milliseconds (SPEC §5); in replay, before any accepted event, the replay's "now".</summary>
    public long NowMs => _options.EventTimeClock
        ? _eventClockMs == long.MinValue ? _options.ReplayNowMs : _eventClockMs
        : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>
    /// The clock as seen by an event stamped <paramref name="eventMs"/> that has passed the future check: in replay,
    /// the latest accepted event time, or the event's own time when it is the first.
    /// </summary>
    private long ClockFor(long eventMs) => _options.EventTimeClock
        ? _eventClockMs == long.MinValue ? Math.Min(eventMs, _options.ReplayNowMs) : _eventClockMs
        : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private long FutureLimitMs => (_options.EventTimeClock ? _options.ReplayNowMs : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) + Policy.MaxClockSkewMs;

    // ---- plate reads -------------------------------------------------------------------------

    public void ProcessRead(ReadOnlySpan<byte> payload, in EventSource source)
    {
        Stats.Reads++;
        ParseResult parsed = _parser.ParseRead(payload, out PlateRead read);
        if (!parsed.IsOk) { DeadLetter(parsed, payload, source); return; }
        if (read.ObservedAtMs > FutureLimitMs) { DeadLetter(new ParseResult(ParseError.InvalidField, "observed_at", "future timestamp"), payload, source); return; }

        Advance(read.ObservedAtMs);
        long now = ClockFor(read.ObservedAtMs);
        Evict(now);

        long retention = Policy.RetentionMs(read.Owner);
        long expires = read.ObservedAtMs + retention;
        bool expired = expires <= now;
        ReadOnlySpan<byte> readId = _parser.Text(read.ReadId);
        DecisionCode code = expired ? DecisionCode.DropExpiredOnArrival : DecisionCode.AllowIngest;
        Stats.Count(code);

        _audit.Begin(source.Partition, "ingest"u8, !expired, DecisionCodes.Utf8(code), now);
        Utf8JsonWriter w = _audit.Writer;
        WriteSource(w, source);
        WriteRetentionRule(w, read.Owner);
        w.WriteString("owner"u8, Policy.Agencies.IdOf(read.Owner));
        w.WriteStartArray("reads"u8);
        w.WriteStringValue(readId);
        w.WriteEndArray();
        _audit.WritePlateRef(read.Plate);
        Span<byte> until = stackalloc byte[Rfc3339.FormattedLength];
        Rfc3339.Format(expires, until);
        w.WriteString("retain_until"u8, until);
        _audit.Complete();
        if (expired) return;

        _store.Add(source.Partition, read.Plate, read.Owner, read.ObservedAtMs, expires, readId, payload);
        Push(read, readId, payload, source, now);
        Alert(read, readId, payload, source, now);
    }

    /// <summary>
    /// Push sharing (SPEC §3): for every recipient an agreement names for the owner's pushes, one decision per purpose
    /// granted; the read goes to <c>alpr.shared</c> when at least one purpose is allowed. One audit record per
    /// (read, recipient), allow or deny, listing the purposes allowed.
    /// </summary>
    private void Push(in PlateRead read, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> payload, in EventSource source, long now)
    {
        ReadOnlySpan<PushTarget> targets = Policy.PushTargets(read.Owner);
        for (int t = 0; t < targets.Length; t++)
        {
            PushTarget target = targets[t];
            int allowedMask = 0;
            Decision first = default, firstAllow = default;
            bool any = false;
            for (int p = 0; p < Purposes.Count; p++)
            {
                if ((target.Purposes & (1 << p)) == 0) continue;
                Decision d = Policy.Decide(read.Owner, target.Recipient, Access.Push, (Purpose)p, documented: true, now);
                if (!any) { first = d; any = true; }
                if (d.Allowed)
                {
                    if (allowedMask == 0) firstAllow = d;
                    allowedMask |= 1 << p;
                }
            }
            Decision decided = allowedMask != 0 ? firstAllow : first;
            Utf8JsonWriter w = BeginSharingRecord("push"u8, decided, read.Owner, target.Recipient, source, now);
            w.WriteStartArray("purposes"u8);
            for (int p = 0; p < Purposes.Count; p++)
            {
                if ((allowedMask & (1 << p)) != 0) w.WriteStringValue(Purposes.Utf8Name((Purpose)p));
            }
            w.WriteEndArray();
            w.WriteStartArray("reads"u8);
            w.WriteStringValue(readId);
            w.WriteEndArray();
            _audit.WritePlateRef(read.Plate);
            ReadOnlySpan<byte> id = _audit.Complete();
            if (allowedMask != 0)
            {
                Stats.Shared++;
                _sink.Shared(Policy.Agencies.IdOf(target.Recipient), id, payload);
            }
        }
    }

    /// <summary>Counts a push or alert decision and starts its audit record: source, rule, citation, owner, recipient.</summary>
    private Utf8JsonWriter BeginSharingRecord(ReadOnlySpan<byte> eventKind, in Decision d, int owner, int recipient, in EventSource source, long now)
    {
        Stats.Count(d.Code);
        _audit.Begin(source.Partition, eventKind, d.Allowed, DecisionCodes.Utf8(d.Code), now);
        Utf8JsonWriter w = _audit.Writer;
        WriteSource(w, source);
        w.WriteString("rule"u8, d.Rule);
        w.WriteString("citation"u8, d.Citation);
        w.WriteString("owner"u8, Policy.Agencies.IdOf(owner));
        w.WriteString("recipient"u8, Policy.Agencies.IdOf(recipient));
        return w;
    }

    /// <summary>Writes <c>source</c>: where the input event that was decided sits (<c>topic/partition/offset</c> or <c>file:line</c>).</summary>
    private static void WriteSource(Utf8JsonWriter w, in EventSource source)
    {
        Span<char> text = stackalloc char[256];
        w.WriteString("source"u8, source.TryFormat(text, out int n) ? text[..n] : source.ToString());
    }

    private void WriteRetentionRule(Utf8JsonWriter w, int owner)
    {
        w.WriteString("rule"u8, Policy.RetentionRule(owner));
        w.WriteString("citation"u8, Policy.RetentionCitation(owner));
    }

    /// <summary>
    /// Evicts every read whose window has closed by the engine's clock. The worker calls this when idle, so a quiet
    /// partition still purges on time.
    /// </summary>
    public void Tick() => Evict(NowMs);

    /// <summary>
    /// Evicts every read whose window closed at or before <paramref name="nowMs"/>, with a purge notice and an
    /// audit record (on the chain of the partition the read came from) for each.
    /// </summary>
    public void Evict(long nowMs)
    {
        Span<byte> at = stackalloc byte[Rfc3339.FormattedLength];
        while (_store.TryPeekExpired(nowMs, out StoredRead read))
        {
            // The read's bytes live in the store's arena: everything is written before the store lets go of them.
            int owner = _store.Owner(read);
            ulong plate = _store.Plate(read);
            ReadOnlySpan<byte> readId = _store.ReadId(read);
            if (HeldUntil(owner, plate, _store.ObservedAtMs(read), nowMs, out HoldRow? hold) is long until)
            {
                // A hold keeps the holding agency's read past its window (SPEC §5): recorded, then kept until `until`.
                Stats.Count(DecisionCode.HoldRetained);
                _audit.Begin(read.Partition, "hold"u8, true, DecisionCodes.Utf8(DecisionCode.HoldRetained), nowMs);
                WriteHoldMembers(_audit.Writer, hold!);
                _audit.Writer.WriteStartArray("reads"u8);
                _audit.Writer.WriteStringValue(readId);
                _audit.Writer.WriteEndArray();
                _audit.WritePlateRef(plate);
                _audit.Complete();
                _store.ExtendHead(until);
                continue;
            }
            Stats.Purges++;
            Stats.Count(DecisionCode.Purged);
            _audit.Begin(read.Partition, "purge"u8, true, DecisionCodes.Utf8(DecisionCode.Purged), nowMs);
            Utf8JsonWriter w = _audit.Writer;
            WriteRetentionRule(w, owner);
            w.WriteString("owner"u8, Policy.Agencies.IdOf(owner));
            w.WriteStartArray("reads"u8);
            w.WriteStringValue(readId);
            w.WriteEndArray();
            _audit.WritePlateRef(plate);
            _audit.Complete();

            _out.ResetWrittenCount();
            _json.Reset(_out);
            _json.WriteStartObject();
            _json.WriteString("read_id"u8, readId);
            _json.WriteString("agency_id"u8, Policy.Agencies.IdOf(owner));
            Rfc3339.Format(_store.ExpiresAtMs(read), at);
            _json.WriteString("expired_at"u8, at);
            _json.WriteString("rule"u8, Policy.RetentionRule(owner));
            _json.WriteEndObject();
            _json.Flush();
            _sink.Purge(readId, _out.WrittenSpan);
            _store.RemoveHead();
        }
    }

    // ---- restoring state after a restart or a rebalance --------------------------------------

    /// <summary>
    /// Puts back into the store a read that was already decided (read again from <c>alpr.reads</c> when a worker is
    /// assigned its partition): no audit record, no output. Skips what the engine would have rejected — bad input, a
    /// timestamp that was in the future when it arrived (<paramref name="arrivedAtMs"/>: the record's timestamp) — and
    /// what expired while its chain was still written (at or before <paramref name="chainHeadAtMs"/>, the time of the
    /// chain's last record: its previous owner purged it). A read that expired after that, while the partition had no
    /// owner, is restored already expired, so the next eviction purges it with its notice and audit record. Returns
    /// whether the read is resident.
    /// </summary>
    public bool RestoreRead(ReadOnlySpan<byte> payload, int partition, long arrivedAtMs, long chainHeadAtMs = long.MaxValue)
    {
        if (payload.Length > _parser.MaxEventBytes || !_parser.ParseRead(payload, out PlateRead read).IsOk) return false;
        if (arrivedAtMs > 0 && read.ObservedAtMs > arrivedAtMs + Policy.MaxClockSkewMs) return false;
        long expires = read.ObservedAtMs + Policy.RetentionMs(read.Owner);
        long now = NowMs;
        if (expires <= now)
        {
            // Past its window: kept if a hold in force keeps it (holds are loaded before reads are restored); else
            // purged at the next eviction if nobody has purged it yet.
            if (HeldUntil(read.Owner, read.Plate, read.ObservedAtMs, now, out _) is long until) expires = until;
            else if (expires <= chainHeadAtMs) return false;
        }
        _store.Add(partition, read.Plate, read.Owner, read.ObservedAtMs, expires, _parser.Text(read.ReadId), payload);
        return true;
    }

    /// <summary>
    /// Remembers the id of a query already decided (read again from <c>alpr.queries</c>), so a replay of it after a
    /// restart is still <c>deny.replayed</c>. Only ids that could still be accepted (inside the clock skew) are kept.
    /// </summary>
    public bool RestoreQueryId(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _parser.MaxEventBytes || !_parser.ParseQuery(payload, out Query q).IsOk) return false;
        // As when it was decided: only an authentic query's id counts (a forged one must not block the genuine query).
        return q.IssuedAtMs >= NowMs - Policy.MaxClockSkewMs && Authentic(q) && RememberQueryId(q);
    }

    /// <summary>Adds a query id to the replay set; false when it was already there.</summary>
    private bool RememberQueryId(in Query q)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(_parser.Text(q.QueryId), digest);
        UInt128 idHash = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest);
        if (!_seenQueries.TryAdd(idHash, q.IssuedAtMs)) return false;
        _seenExpiry.Enqueue(idHash, q.IssuedAtMs);
        return true;
    }

    /// <summary>
    /// Drops what belongs to input partition <paramref name="partition"/> (revoked: another worker continues it) —
    /// its resident reads and its audit chain — so this engine never purges or audits on a chain it no longer owns.
    /// </summary>
    public void ForgetPartition(int partition)
    {
        _store.RemovePartition(partition);
        _audit.ForgetChain(partition);
    }

    // ---- holds -------------------------------------------------------------------------------

    private readonly Dictionary<string, HoldRow> _holds = new(StringComparer.Ordinal);
    private readonly Dictionary<int, List<HoldRow>> _holdsByAgency = []; // a read's window end consults its owner's holds only
    private readonly Dictionary<string, HoldRow> _released = new(StringComparer.Ordinal);
    private const int MaxReleasedKept = 10_000;

    private sealed class HoldRow
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

    /// <summary>Holds in force.</summary>
    public int HoldCount => _holds.Count;

    /// <summary>The earliest <c>from</c> of the holds in force (reads to restore go back that far), or null without holds.</summary>
    public long? EarliestHeldMs => _holds.Count == 0 ? null : _holds.Values.Min(h => h.FromMs);

    /// <summary>
    /// A record of <c>alpr.holds</c> (compacted; key <c>hold_id</c>): a hold placed or replaced, or, with an empty
    /// value, released. Each is audited (event <c>hold</c>, <c>hold.place</c> / <c>hold.release</c>). A hold keeps the
    /// holding agency's own reads that match it (plate if given, <c>observed_at</c> within <c>from</c>–<c>to</c>) past
    /// their window until <c>until</c>; a released hold lets them expire at once. The tombstone of a hold never seen is
    /// ignored (a compacted topic may keep one).
    /// </summary>
    public void ProcessHold(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source) => HoldRecord(key, value, source, audit: true, apply: true);

    /// <summary>
    /// The worker's two paths for a record of <c>alpr.holds</c>: every worker applies the whole table
    /// (<see cref="ApplyHold"/>, silent), and only the worker assigned the record's partition in the group audits it
    /// (<see cref="AuditHoldRecord"/>: <c>hold.place</c> / <c>hold.release</c> on that partition's chain, or the
    /// dead-letter topic), inside its transaction — so each hold and release is audited exactly once.
    /// </summary>
    public void ApplyHold(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => HoldRecord(key, value, default, audit: false, apply: true);

    /// <inheritdoc cref="ApplyHold"/>
    public void AuditHoldRecord(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source) => HoldRecord(key, value, source, audit: true, apply: false);

    private void HoldRecord(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source, bool audit, bool apply)
    {
        if (apply) Stats.HoldEvents++;
        long now = NowMs;
        if (value.IsEmpty)
        {
            if (key.IsEmpty)
            {
                if (audit) DeadLetter(new ParseResult(ParseError.InvalidField, "key", "a hold tombstone needs the key hold_id"), key, source);
                return;
            }
            string id = System.Text.Encoding.UTF8.GetString(key);
            // The table path may apply a release before the group path audits it: keep what was released for the audit.
            if (!_holds.TryGetValue(id, out HoldRow? known)) _released.TryGetValue(id, out known);
            if (audit)
            {
                if (known is not null) AuditHold(known, DecisionCode.HoldReleased, source, now);
                else AuditRelease(key, source, now);
                _released.Remove(id);
            }
            if (apply && _holds.Remove(id, out HoldRow? removed))
            {
                _holdsByAgency[removed.Agency].Remove(removed);
                if (!audit)
                {
                    if (_released.Count >= MaxReleasedKept) _released.Clear(); // bounded: audited by another worker, or long ago
                    _released[id] = removed;
                }
                RescheduleHeld(allReads: false);
            }
            return;
        }
        ParseResult parsed = _parser.ParseHold(value, out Hold hold);
        if (!parsed.IsOk)
        {
            if (audit) DeadLetter(parsed, value, source);
            return;
        }
        var row = new HoldRow
        {
            Id = _parser.Text(hold.HoldId).ToArray(), Agency = hold.Agency, Plate = hold.Plate, FromMs = hold.FromMs, ToMs = hold.ToMs,
            Kind = hold.Kind, CaseNumber = hold.CaseNumber.IsEmpty ? null : _parser.Text(hold.CaseNumber).ToArray(), UntilMs = hold.UntilMs,
        };
        if (audit) AuditHold(row, DecisionCode.HoldPlaced, source, now);
        if (!apply) return;
        string holdId = System.Text.Encoding.UTF8.GetString(row.Id);
        bool replaced = _holds.Remove(holdId, out HoldRow? before);
        if (before is not null) _holdsByAgency[before.Agency].Remove(before);
        _holds[holdId] = row;
        if (!_holdsByAgency.TryGetValue(row.Agency, out List<HoldRow>? ofAgency)) _holdsByAgency.Add(row.Agency, ofAgency = []);
        ofAgency.Add(row);
        // A new hold needs nothing now: eviction consults the holds when a read's window ends. A replaced one may end
        // sooner than the one before, so reads it was keeping are re-evaluated.
        if (replaced) RescheduleHeld(allReads: false);
    }

    /// <summary>The release of a hold this engine has not (yet) seen placed: recorded with its id alone.</summary>
    private void AuditRelease(ReadOnlySpan<byte> holdId, in EventSource source, long now)
    {
        Stats.Count(DecisionCode.HoldReleased);
        _audit.Begin(source.Partition, "hold"u8, true, DecisionCodes.Utf8(DecisionCode.HoldReleased), now);
        Utf8JsonWriter w = _audit.Writer;
        WriteSource(w, source);
        w.WriteString("rule"u8, holdId);
        w.WriteString("citation"u8, "Hold released (SPEC §5)"u8);
        w.WriteString("hold_id"u8, holdId);
        _audit.Complete();
    }

    private void AuditHold(HoldRow row, DecisionCode code, in EventSource source, long now)
    {
        Stats.Count(code);
        _audit.Begin(source.Partition, "hold"u8, true, DecisionCodes.Utf8(code), now);
        Utf8JsonWriter w = _audit.Writer;
        WriteSource(w, source);
        WriteHoldMembers(w, row);
        if (row.Plate != 0) _audit.WritePlateRef(row.Plate);
        _audit.Complete();
    }

    private void WriteHoldMembers(Utf8JsonWriter w, HoldRow row)
    {
        w.WriteString("rule"u8, row.Id);
        w.WriteString("citation"u8, row.Kind switch
        {
            HoldKind.Warrant => "Hold: warrant (SPEC §5)"u8,
            HoldKind.Preservation => "Hold: preservation request (SPEC §5)"u8,
            _ => "Hold: investigation (SPEC §5)"u8,
        });
        w.WriteString("owner"u8, Policy.Agencies.IdOf(row.Agency));
        w.WriteString("hold_id"u8, row.Id);
        if (row.CaseNumber is not null) w.WriteString("case_number"u8, row.CaseNumber);
        Span<byte> until = stackalloc byte[Rfc3339.FormattedLength];
        Rfc3339.Format(row.UntilMs, until);
        w.WriteString("until"u8, until);
    }

    /// <summary>The latest <c>until</c> of the holds in force that keep a read (owner, plate, time) beyond <paramref name="nowMs"/>, or null.</summary>
    private long? HeldUntil(int owner, ulong plate, long observedAtMs, long nowMs, out HoldRow? by)
    {
        by = null;
        long best = nowMs;
        if (!_holdsByAgency.TryGetValue(owner, out List<HoldRow>? holds)) return null;
        foreach (HoldRow h in holds)
        {
            if (h.UntilMs <= best) continue;
            if (h.Plate != 0 && h.Plate != plate) continue;
            if (observedAtMs < h.FromMs || observedAtMs > h.ToMs) continue;
            best = h.UntilMs;
            by = h;
        }
        return by is null ? null : best;
    }

    /// <summary>
    /// After a window changed (<paramref name="allReads"/>) or a hold was released or replaced (only the reads a hold
    /// kept past their window): each read's expiry back to its window, or the holds still in force.
    /// </summary>
    private void RescheduleHeld(bool allReads)
    {
        long now = NowMs;
        Func<StoredRead, long> expiresAt = r =>
        {
            int owner = _store.Owner(r);
            long observed = _store.ObservedAtMs(r);
            long window = observed + Policy.RetentionMs(owner);
            return window > now ? window : HeldUntil(owner, _store.Plate(r), observed, now, out _) ?? window;
        };
        if (allReads) _store.Reschedule(expiresAt);
        else _store.RescheduleExtended(expiresAt);
    }

    // ---- hotlists and alerts ----------------------------------------------------------------

    /// <summary>Active hotlist entries by plate (a small table: every worker holds all of it, as Kafka Streams holds a global table).</summary>
    private readonly Dictionary<ulong, List<HotlistRow>> _hotlists = [];

    private sealed class HotlistRow
    {
        public required byte[] HotlistId { get; init; }
        public required int Owner { get; init; }
        public required Purpose Purpose { get; init; }
        public byte[]? CaseNumber { get; init; }
        public required long ExpiresAtMs { get; init; }
    }

    /// <summary>Hotlist entries in force.</summary>
    public int HotlistCount { get; private set; }

    /// <summary>
    /// A record of <c>alpr.hotlists</c> (compacted; key <c>hotlist_id/plate</c>): an entry added or replaced, or, with
    /// an empty value (a tombstone), removed. A removed or expired entry never alerts.
    /// </summary>
    public void ProcessHotlist(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source) => Hotlist(key, value, source, report: true, apply: true);

    /// <summary>
    /// The worker's two paths for a record of <c>alpr.hotlists</c>: every worker applies the whole table
    /// (<see cref="ApplyHotlist"/>, silent), and only the worker assigned the record's partition in the group reports a bad
    /// one to the dead-letter topic (<see cref="CheckHotlist"/>), so a bad entry is dead-lettered once, not once per
    /// worker and restart.
    /// </summary>
    public void ApplyHotlist(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Hotlist(key, value, default, report: false, apply: true);

    /// <inheritdoc cref="ApplyHotlist"/>
    public void CheckHotlist(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source) => Hotlist(key, value, source, report: true, apply: false);

    private void Hotlist(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source, bool report, bool apply)
    {
        if (apply) Stats.HotlistEntries++;
        if (value.IsEmpty)
        {
            int slash = key.LastIndexOf((byte)'/');
            if (slash <= 0 || !Text.Plate.TryPack(key[(slash + 1)..], out ulong plate))
            {
                if (report) DeadLetter(new ParseResult(ParseError.InvalidField, "key", "a hotlist tombstone needs the key hotlist_id/plate"), key, source);
                return;
            }
            if (apply) RemoveHotlist(plate, key[..slash]);
            return;
        }
        ParseResult parsed = _parser.ParseHotlist(value, out HotlistEntry entry);
        if (!parsed.IsOk)
        {
            if (report) DeadLetter(parsed, value, source);
            return;
        }
        if (!apply) return;
        ReadOnlySpan<byte> id = _parser.Text(entry.HotlistId);
        RemoveHotlist(entry.Plate, id);
        if (!_hotlists.TryGetValue(entry.Plate, out List<HotlistRow>? rows)) _hotlists.Add(entry.Plate, rows = []);
        rows.Add(new HotlistRow
        {
            HotlistId = id.ToArray(), Owner = entry.Owner, Purpose = entry.Purpose, ExpiresAtMs = entry.ExpiresAtMs,
            CaseNumber = entry.CaseNumber.IsEmpty ? null : _parser.Text(entry.CaseNumber).ToArray(),
        });
        HotlistCount++;
    }

    private void RemoveHotlist(ulong plate, ReadOnlySpan<byte> hotlistId)
    {
        if (!_hotlists.TryGetValue(plate, out List<HotlistRow>? rows)) return;
        for (int i = rows.Count - 1; i >= 0; i--)
        {
            if (rows[i].HotlistId.AsSpan().SequenceEqual(hotlistId)) { rows.RemoveAt(i); HotlistCount--; }
        }
        if (rows.Count == 0) _hotlists.Remove(plate);
    }

    /// <summary>
    /// Hotlist alerts (SPEC §3): a read matching an entry in force alerts the entry's owner only if the policy allows
    /// <c>alert</c> for the entry's purpose. One audit record per (read, entry), allow or deny.
    /// </summary>
    private void Alert(in PlateRead read, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> payload, in EventSource source, long now)
    {
        if (!_hotlists.TryGetValue(read.Plate, out List<HotlistRow>? rows)) return;
        for (int i = rows.Count - 1; i >= 0; i--)
        {
            HotlistRow row = rows[i];
            if (row.ExpiresAtMs <= now)
            {
                rows.RemoveAt(i);
                HotlistCount--;
                continue;
            }
            Decision d = Policy.Decide(read.Owner, row.Owner, Access.Alert, row.Purpose, documented: row.CaseNumber is not null, now);
            Utf8JsonWriter w = BeginSharingRecord("alert"u8, d, read.Owner, row.Owner, source, now);
            w.WriteString("purpose"u8, Purposes.Utf8Name(row.Purpose));
            w.WriteString("hotlist_id"u8, row.HotlistId);
            if (row.CaseNumber is not null) w.WriteString("case_number"u8, row.CaseNumber);
            w.WriteStartArray("reads"u8);
            w.WriteStringValue(readId);
            w.WriteEndArray();
            _audit.WritePlateRef(read.Plate);
            ReadOnlySpan<byte> id = _audit.Complete();
            if (!d.Allowed) continue;

            _out.ResetWrittenCount();
            _json.Reset(_out);
            _json.WriteStartObject();
            _json.WriteString("alert_id"u8, id);
            _json.WriteString("hotlist_id"u8, row.HotlistId);
            _json.WriteString("recipient"u8, Policy.Agencies.IdOf(row.Owner));
            _json.WritePropertyName("read"u8);
            _json.WriteRawValue(payload, skipInputValidation: true);
            _json.WriteString("decision_id"u8, id);
            _json.WriteEndObject();
            _json.Flush();
            Stats.Alerts++;
            _sink.Alert(Policy.Agencies.IdOf(row.Owner), _out.WrittenSpan);
        }
        if (rows.Count == 0) _hotlists.Remove(read.Plate);
    }

    // ---- queries -----------------------------------------------------------------------------

    public void ProcessQuery(ReadOnlySpan<byte> payload, in EventSource source)
    {
        Stats.Queries++;
        ParseResult parsed = _parser.ParseQuery(payload, out Query q);
        if (!parsed.IsOk) { DeadLetter(parsed, payload, source); return; }

        DecisionCode pre = Precheck(q);
        if (pre == DecisionCode.AllowSearch) Advance(q.IssuedAtMs);
        long now = ClockFor(q.IssuedAtMs);
        Evict(now);
        if (pre != DecisionCode.AllowSearch)
        {
            Stats.Count(pre);
            BeginSearchRecord(source, q, false, pre, now);
            _audit.Writer.WriteString("rule"u8, "SEARCH.PRECHECK"u8);
            _audit.Writer.WriteString("citation"u8, "Query checks (SPEC §3)"u8);
            ReadOnlySpan<byte> id = _audit.Complete();
            WriteResult(q, denied: pre, id);
            return;
        }

        long to = q.ToMs == long.MaxValue ? q.IssuedAtMs : q.ToMs;
        long from = q.FromMs == long.MinValue ? to - Policy.MaxWindowMs : q.FromMs;

        _matches.Clear();
        _owners.Clear();
        foreach (StoredRead r in _store.Find(q.Plate))
        {
            // The window in force now (a reload may have shortened it since the read was stored); past it, a read
            // kept by a hold is the holding agency's alone.
            long observed = _store.ObservedAtMs(r);
            int owner = _store.Owner(r);
            if (observed < from || observed > to || _store.ExpiresAtMs(r) <= now) continue;
            if (observed + Policy.RetentionMs(owner) <= now && owner != q.Requester) continue;
            _matches.Add(r);
            if (!_owners.Contains(owner)) _owners.Add(owner);
        }
        // Newest first, so an answer truncated at MaxReadsPerResult keeps the most recent reads.
        _matches.Sort(_newestFirst);
        _owners.Sort();

        Span<byte> firstId = stackalloc byte[64];
        int firstIdLength = 0;
        _ownerAllowed.Clear();
        if (_owners.Count == 0)
        {
            Stats.Count(DecisionCode.AllowSearch);
            BeginSearchRecord(source, q, true, DecisionCode.AllowSearch, now);
            _audit.Writer.WriteStartArray("reads"u8);
            _audit.Writer.WriteEndArray();
            ReadOnlySpan<byte> id = _audit.Complete();
            id.CopyTo(firstId);
            firstIdLength = id.Length;
        }
        for (int i = 0; i < _owners.Count; i++)
        {
            int owner = _owners[i];
            Decision d = Policy.Decide(owner, q.Requester, Access.Search, q.Purpose, documented: !q.CaseNumber.IsEmpty && !q.Reason.IsEmpty, now);
            Stats.Count(d.Code);
            _ownerAllowed.Add(d.Allowed);
            BeginSearchRecord(source, q, d.Allowed, d.Code, now);
            Utf8JsonWriter w = _audit.Writer;
            w.WriteString("rule"u8, d.Rule);
            w.WriteString("citation"u8, d.Citation);
            w.WriteString("owner"u8, Policy.Agencies.IdOf(owner));
            w.WriteStartArray("reads"u8);
            foreach (StoredRead r in _matches)
            {
                if (_store.Owner(r) == owner) w.WriteStringValue(_store.ReadId(r));
            }
            w.WriteEndArray();
            ReadOnlySpan<byte> id = _audit.Complete();
            if (i == 0) { id.CopyTo(firstId); firstIdLength = id.Length; }
        }

        _out.ResetWrittenCount();
        _json.Reset(_out);
        _json.WriteStartObject();
        _json.WriteString("query_id"u8, _parser.Text(q.QueryId));
        _json.WriteString("status"u8, "answered"u8);
        _json.WriteString("code"u8, "ok"u8);
        _json.WriteStartArray("reads"u8);
        int disclosed = 0;
        foreach (StoredRead r in _matches)
        {
            if (!_ownerAllowed[_owners.IndexOf(_store.Owner(r))]) continue;
            // Kafka messages are bounded (1 MB by default): the newest reads are kept, and the answer says so.
            if (disclosed == MaxReadsPerResult) break;
            _json.WriteRawValue(_store.Payload(r), skipInputValidation: true);
            disclosed++;
        }
        _json.WriteEndArray();
        if (disclosed == MaxReadsPerResult) _json.WriteBoolean("truncated"u8, true);
        _json.WriteString("decision_id"u8, firstId[..firstIdLength]);
        _json.WriteEndObject();
        _json.Flush();
        Stats.Results++;
        _sink.Result(_parser.Text(q.QueryId), _out.WrittenSpan);
    }

    /// <summary>The query is signed by a known requester's key (constant-time check).</summary>
    private bool Authentic(in Query q)
    {
        if (q.Requester < 0) return false;
        IReadOnlyList<byte[]> keys = Policy.Keys(q.Requester);
        if (keys.Count == 0) return false;
        IncrementalHash[] macs = _requesterMacs[q.Requester] ??= keys.Select(k => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, k)).ToArray();
        // During a key rotation every live key is tried, each comparison in constant time.
        bool valid = false;
        foreach (IncrementalHash mac in macs)
        {
            valid |= QuerySignature.Verify(mac, _parser.Text(q.Signature), _parser.Text(q.QueryId), _parser.Text(q.RequesterText),
                _parser.Text(q.User), _parser.Text(q.PurposeText), _parser.Text(q.CaseNumber), _parser.Text(q.PlateText),
                _parser.Text(q.FromText), _parser.Text(q.ToText), _parser.Text(q.IssuedAtText));
        }
        return valid;
    }

    private DecisionCode Precheck(in Query q)
    {
        if (!Authentic(q)) return DecisionCode.DenyUnauthenticated;

        long skew = Policy.MaxClockSkewMs;
        if (q.IssuedAtMs > FutureLimitMs) return DecisionCode.DenyReplayed;
        long now = ClockFor(q.IssuedAtMs);
        if (q.IssuedAtMs < now - skew) return DecisionCode.DenyReplayed;

        // Forget ids that are too old to be accepted again anyway.
        while (_seenExpiry.TryPeek(out UInt128 old, out long issued) && issued < now - skew)
        {
            _seenExpiry.Dequeue();
            _seenQueries.Remove(old);
        }
        if (!RememberQueryId(q)) return DecisionCode.DenyReplayed;

        if (Policy.Search.RequireCaseNumber && q.CaseNumber.IsEmpty) return DecisionCode.DenyMissingCaseNumber;
        if (Policy.Search.RequireReason && q.Reason.IsEmpty) return DecisionCode.DenyMissingReason;
        long to = q.ToMs == long.MaxValue ? q.IssuedAtMs : q.ToMs;
        long from = q.FromMs == long.MinValue ? to - Policy.MaxWindowMs : q.FromMs;
        if (to - from > Policy.MaxWindowMs) return DecisionCode.DenyWindowTooWide;
        return DecisionCode.AllowSearch;
    }

    private void BeginSearchRecord(in EventSource source, in Query q, bool allow, DecisionCode code, long now)
    {
        _audit.Begin(source.Partition, "search"u8, allow, DecisionCodes.Utf8(code), now);
        Utf8JsonWriter w = _audit.Writer;
        WriteSource(w, source);
        w.WriteString("recipient"u8, _parser.Text(q.RequesterText));
        w.WriteString("purpose"u8, Purposes.Utf8Name(q.Purpose));
        w.WriteString("query_id"u8, _parser.Text(q.QueryId));
        w.WriteString("user"u8, _parser.Text(q.User));
        if (!q.CaseNumber.IsEmpty) w.WriteString("case_number"u8, _parser.Text(q.CaseNumber));
        _audit.WritePlateRef(q.Plate);
    }

    private void WriteResult(in Query q, DecisionCode denied, ReadOnlySpan<byte> decisionId)
    {
        _out.ResetWrittenCount();
        _json.Reset(_out);
        _json.WriteStartObject();
        _json.WriteString("query_id"u8, _parser.Text(q.QueryId));
        _json.WriteString("status"u8, "denied"u8);
        _json.WriteString("code"u8, DecisionCodes.Utf8(denied));
        _json.WriteStartArray("reads"u8);
        _json.WriteEndArray();
        _json.WriteString("decision_id"u8, decisionId);
        _json.WriteEndObject();
        _json.Flush();
        Stats.Results++;
        _sink.Result(_parser.Text(q.QueryId), _out.WrittenSpan);
    }

    // ---- shared ------------------------------------------------------------------------------

    private void Advance(long eventMs)
    {
        if (_options.EventTimeClock && eventMs > _eventClockMs) _eventClockMs = eventMs;
    }

    /// <summary>Sends a rejected event to the dead-letter sink: code, detail, source and the payload in base64.</summary>
    /// <remarks>The payload kept is capped at the event size cap, so a dead letter always fits a Kafka message.</remarks>
    public void DeadLetter(in ParseResult error, ReadOnlySpan<byte> payload, in EventSource source)
    {
        Stats.Count(error.Error);
        _out.ResetWrittenCount();
        _json.Reset(_out);
        _json.WriteStartObject();
        _json.WriteString("error"u8, ParseErrorCodes.Utf8Code(error.Error));
        Span<char> text = stackalloc char[256];
        _json.WriteString("detail"u8, error.TryFormatDetail(text, out int detailLength) ? text[..detailLength] : error.Detail);
        _json.WriteString("source"u8, source.TryFormat(text, out int sourceLength) ? text[..sourceLength] : source.ToString());
        _json.WriteBase64String("payload_b64"u8, payload.Length > _parser.MaxEventBytes ? payload[.._parser.MaxEventBytes] : payload);
        _json.WriteEndObject();
        _json.Flush();
        _sink.DeadLetter(_out.WrittenSpan);
    }
}
