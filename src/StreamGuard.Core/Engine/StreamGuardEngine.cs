using StreamGuard.Audit;
using StreamGuard.Events;
using StreamGuard.Output;
using StreamGuard.Parsing;
using StreamGuard.Policy;

namespace StreamGuard.Engine;

/// <summary>
/// The policy enforcement point: turns each input event into decisions, outputs and audit entries.
/// </summary>
/// <remarks>
/// One engine per worker thread; not thread-safe. Every decided event writes exactly one audit entry listing all its
/// decisions; <see cref="FlushAudit"/> seals the entries into blocks, and the worker calls it before each commit, so an
/// output and the entry that explains it commit together. Every rejected event goes to the dead-letter sink with its
/// code and source.
/// The parse and decide path allocates nothing per event; storing a read copies its bytes once.
/// This type orders the steps; each step is a type of its own: <see cref="PushSharing"/>, <see cref="HotlistTable"/>
/// (alerts), <see cref="HoldTable"/>, <see cref="QueryGuard"/>, <see cref="ReadSearch"/>, and the writers
/// <see cref="AuditRecords"/> and <see cref="OutputRecords"/>.
/// </remarks>
public sealed partial class StreamGuardEngine
{
    private readonly AuditLog _audit;
    private readonly IReadOnlyList<byte[]> _retiredAuditKeys;
    private readonly ReadStore _store;
    private readonly List<string> _formerRecipientIds = [];
    private readonly List<byte[]> _formerRecipients = [];
    private readonly Func<string, int> _agencyIndex;
    private readonly QueryGuard _guard;
    private readonly PushSharing _push;
    private readonly ReadSearch _search;
    private readonly Evictions _evictions = new();

    /// <summary>
    /// An engine over <paramref name="policy"/>; <paramref name="change"/> is what the policy grants and revokes
    /// against the one before it, stated in the first <c>policy_load</c> records (see <see cref="PolicyDiff"/>).
    /// </summary>
    public StreamGuardEngine(CompiledPolicy policy, IOutputSink sink, byte[] auditKey, EngineOptions? options = null,
        PolicyChangeSummary? change = null)
        : this(policy, sink, auditKey, options, change, PartitionReads.MaxReads)
    {
    }

    /// <summary>An engine whose store holds at most <paramref name="maxReadsPerPartition"/> reads per partition.
    /// </summary>
    internal StreamGuardEngine(CompiledPolicy policy, IOutputSink sink, byte[] auditKey, EngineOptions? options,
        PolicyChangeSummary? change, int maxReadsPerPartition)
    {
        EngineOptions o = options ?? EngineOptions.Default;
        if (o.MaxEventBytes > PartitionReads.MaxPayloadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(options), o.MaxEventBytes,
                $"MaxEventBytes is at most {PartitionReads.MaxPayloadBytes} (the largest read the store keeps)");
        }
        _store = new ReadStore(maxReadsPerPartition);
        _agencyIndex = AgencyIndex;
        Policy = policy;
        Clock = new EngineClock(o);
        Parser = new EventParser(policy.Agencies,
            maxEventBytes: o.MaxEventBytes == 0 ? EventParser.DefaultMaxEventBytes : o.MaxEventBytes);
        _audit = new AuditLog(auditKey, sink);
        _retiredAuditKeys = o.RetiredAuditKeys ?? [];
        ChainTails = new AuditTailVerifier(auditKey, _retiredAuditKeys);
        _audit.SetPolicy(policy, change);
        Records = new AuditRecords(_audit);
        Outputs = new OutputRecords(sink);
        Holds = new HoldTable(this);
        Hotlists = new HotlistTable(this);
        _guard = new QueryGuard(this);
        _push = new PushSharing(this);
        _search = new ReadSearch(this,
            o.MaxResultBytes == 0 ? EngineOptions.DefaultMaxResultBytes : o.MaxResultBytes);
    }

    /// <summary>
    /// Lowers the bound of a query answer's value to <paramref name="bytes"/> (never raises it): the worker ties it to
    /// the largest record its sink produces, so a large answer is truncated rather than dead-lettered whole.
    /// </summary>
    public void LimitResults(int bytes) => _search.Limit(bytes);

    /// <summary>The policy in force.</summary>
    public CompiledPolicy Policy { get; private set; }

    public EngineStats Stats { get; } = new();

    /// <summary>The legal holds in force, from <c>alpr.holds</c>.</summary>
    public HoldTable Holds { get; }

    /// <summary>The hotlist entries in force, from <c>alpr.hotlists</c>.</summary>
    public HotlistTable Hotlists { get; }

    /// <summary>Reads resident in the store (kept until their window closes, or a hold ends).</summary>
    public int StoredReadCount => _store.Count;

    /// <summary>
    /// Bytes the read store holds: its arena chunks (the reads as received, ids copied, chunks' free tails) and its
    /// index (entries, plate buckets, expiry heap, chunk tables), as allocated. What grows with resident reads; the
    /// operator guide's sizing table sets it against the process's heap.
    /// </summary>
    public long StoreBytes => _store.ArenaBytes + _store.IndexBytes;

    /// <summary>Audit entries written since start (one per decided event, eviction pass and policy load).</summary>
    public long AuditEntryCount => _audit.Count;

    /// <summary>Decisions in the audit entries written since start.</summary>
    public long AuditDecisionCount => _audit.Decisions;

    /// <summary>The longest retention window of the policy in force: how far back reads may still be kept.</summary>
    public long LongestRetentionMs => Policy.LongestRetentionMs;

    /// <summary>The clock skew the policy in force allows an event's timestamp.</summary>
    public long MaxClockSkewMs => Policy.MaxClockSkewMs;

    /// <summary>
    /// The engine's clock in Unix milliseconds (SPEC §5); in replay, before any accepted event, the replay's "now".
    /// </summary>
    public long NowMs => Clock.NowMs;

    internal EngineClock Clock { get; }

    internal EventParser Parser { get; private set; }

    internal ReadStore Reads => _store;

    internal AuditRecords Records { get; }

    internal OutputRecords Outputs { get; }

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
                throw new ArgumentException(
                    "the new policy was not compiled on top of the policy in force", nameof(next));
            }
        }
        bool windowsChanged = false;
        for (int i = 0; i < Policy.Agencies.Count; i++) windowsChanged |= Policy.RetentionMs(i) != next.RetentionMs(i);
        _guard.PolicyChanged(next);
        Parser = new EventParser(next.Agencies, Parser.Cameras, Parser.MaxEventBytes);
        Policy = next;
        // A changed window applies to reads already stored: a shortened one purges them at the next event.
        if (windowsChanged) Holds.RescheduleAllReads();
        _audit.SetPolicy(next, change);
        Stats.PolicyLoads++;
    }

    // ---- plate reads -------------------------------------------------------------------------

    public void ProcessRead(ReadOnlySpan<byte> payload, in EventSource source)
    {
        Stats.Reads++;
        ParseResult parsed = Parser.ParseRead(payload, out PlateRead read);
        if (!parsed.IsOk) { DeadLetter(parsed, payload, source); return; }
        if (read.ObservedAtMs > Clock.FutureLimitMs(Policy.MaxClockSkewMs))
        {
            DeadLetter(new ParseResult(ParseError.InvalidField, "observed_at", "future timestamp"), payload, source);
            return;
        }

        Clock.Advance(read.ObservedAtMs);
        long now = Clock.For(read.ObservedAtMs);
        Evict(now);

        long expires = read.ObservedAtMs + Policy.RetentionMs(read.Owner);
        ReadOnlySpan<byte> readId = Parser.Text(read.ReadId);
        // A read is stored, pushed and alerted once: a copy of a resident read (same owner, id and plate) is not.
        // An owner's id names one resident read: another plate under it is bad input, not a second read, since
        // purge notices, the audit and a restore know the read by (owner, id) alone.
        // One the store has no room for is refused whole: stored nowhere, it could never be purged downstream.
        int recipients = 0;
        DecisionCode code;
        if (expires <= now) code = DecisionCode.DropExpiredOnArrival;
        else if (_store.TryFind(source.Partition, read.Owner, readId, out ulong residentPlate))
        {
            if (residentPlate != read.Plate)
            {
                DeadLetter(s_idInUse, payload, source);
                return;
            }
            code = DecisionCode.DropDuplicate;
        }
        else if (_store.IsFull(source.Partition) || (recipients = _push.Decide(read, now)) < 0)
        {
            code = DecisionCode.DropStoreFull;
        }
        else code = DecisionCode.AllowIngest;
        Stats.Count(code);
        if (code == DecisionCode.DropStoreFull) Refused(source.Partition);
        Records.BeginRead(source.Partition, now, Policy, read.Owner, readId, read.Plate, code);
        if (code == DecisionCode.AllowIngest)
        {
            StoredRead stored =
                _store.Add(source.Partition, read.Plate, read.Owner, read.ObservedAtMs, expires, readId, payload);
            _store.SetRecipients(stored, recipients);
            _push.Emit(read, payload);
            Hotlists.Alert(read, readId, payload, now);
        }
        Records.EndEvent();
    }

    private static readonly ParseResult s_idInUse = new(ParseError.InvalidField, "read_id",
        "already names a resident read of this owner with another plate");

    /// <summary>
    /// Raised with the partition when a read is refused because the partition's store is full, on the first refusal
    /// since the partition last had room (the worker logs it); refusals are counted as <c>drop.store_full</c>.
    /// </summary>
    public event Action<int>? StoreFull;

    /// <summary>The most reads one input partition's store holds; past it new reads are refused.</summary>
    public int MaxReadsPerPartition => _store.MaxReadsPerPartition;

    /// <summary>Reads restores put back into the store, over the engine's life (one already expired counts, though
    /// the next eviction purges it).</summary>
    public long RestoredReadCount { get; private set; }

    /// <summary>Reads a restore could not put back because their partition's store was full.</summary>
    public long RestoreRefusedCount { get; private set; }

    /// <summary>
    /// Reads a restore could not put back because no policy this engine knows names their owner (taken out of the
    /// file, not kept as <c>retired: true</c>, while its reads were resident): their window is unknown, so they are
    /// neither stored nor purged here. Only reads the chain's history shows resident (or does not reach back to) are
    /// counted; without a history, every such read read back. <see cref="TakeRestoreUnknownOwners"/> names the owners.
    /// </summary>
    public long RestoreUnknownOwnerCount { get; private set; }

    private readonly List<string> _restoreUnknownOwners = [];
    private readonly HashSet<string> _restoreUnknownReads = new(StringComparer.Ordinal); // owner \n read_id

    /// <summary>
    /// The distinct owners counted in <see cref="RestoreUnknownOwnerCount"/> since the last call (the first 16), and
    /// forgets them: each restore names its own.
    /// </summary>
    public IReadOnlyList<string> TakeRestoreUnknownOwners()
    {
        string[] owners = [.. _restoreUnknownOwners];
        _restoreUnknownOwners.Clear();
        _restoreUnknownReads.Clear();
        _restoreUnknownReads.TrimExcess(); // a large restore's set is not kept for the engine's life
        return owners;
    }

    private void Refused(int partition)
    {
        // The recipient-set table full (a new set past 65,535) refuses too; logged every time, it never happens.
        if (!_store.IsFull(partition) || _store.CountRefused(partition)) StoreFull?.Invoke(partition);
    }

    /// <summary>
    /// Evicts every read whose window has closed by the engine's clock. The worker calls this when idle, so a quiet
    /// partition still purges on time.
    /// </summary>
    public void Tick() => Evict(NowMs);

    /// <summary>
    /// Evicts every read whose window closed at or before <paramref name="nowMs"/>, with a purge notice and an
    /// audit entry per chain listing them (a read's decision goes on the chain of the partition it came from).
    /// </summary>
    public void Evict(long nowMs)
    {
        while (_store.TryPeekExpired(nowMs, out StoredRead read))
        {
            // The read's bytes live in the store's arena: everything is written before the store lets go of them.
            int owner = _store.Owner(read);
            ulong plate = _store.Plate(read);
            ReadOnlySpan<byte> readId = _store.ReadId(read);
            if (Holds.HeldUntil(owner, plate, _store.ObservedAtMs(read), nowMs, out HoldRow? hold) is long until)
            {
                // A hold keeps the holding agency's read past its window (SPEC §5): recorded, then kept until `until`.
                Stats.Count(DecisionCode.HoldRetained);
                _evictions.Retain(read.Partition, hold!, readId);
                _store.ExtendHead(until);
                continue;
            }
            Stats.Purges++;
            Stats.Count(DecisionCode.Purged);
            _evictions.Purge(read.Partition, owner, readId);
            // One notice per addressee (SPEC §5): the owner, and every agency the read was pushed to.
            ReadOnlySpan<byte> ownerId = Policy.Agencies.IdOf(owner);
            long expiredAt = _store.ExpiresAtMs(read);
            ReadOnlySpan<byte> rule = Policy.RetentionRuleUtf8(owner);
            Outputs.Purge(ownerId, readId, ownerId, expiredAt, rule);
            foreach (int to in _store.Recipients(read))
            {
                if (to != owner) Outputs.Purge(AgencyId(to), readId, ownerId, expiredAt, rule);
            }
            _store.RemoveHead();
        }
        if (!_evictions.IsEmpty) _evictions.Write(Records, nowMs, Policy);
    }

    /// <summary>
    /// Seals the audit entries written since the last call into one block per chain and hands each to the sink
    /// (SPEC §7). The worker calls it before committing a transaction; replay at its end.
    /// </summary>
    public void FlushAudit() => _audit.Flush();

    /// <summary>Whether audit entries wait for <see cref="FlushAudit"/>.</summary>
    public bool AuditPending => _audit.Pending;

    // ---- queries -----------------------------------------------------------------------------

    public void ProcessQuery(ReadOnlySpan<byte> payload, in EventSource source)
    {
        Stats.Queries++;
        ParseResult parsed = Parser.ParseQuery(payload, out Query q);
        if (!parsed.IsOk) { DeadLetter(parsed, payload, source); return; }

        DecisionCode checks = _guard.Check(q);
        if (checks == DecisionCode.AllowSearch) Clock.Advance(q.IssuedAtMs);
        long now = Clock.For(q.IssuedAtMs);
        Evict(now);
        if (checks == DecisionCode.AllowSearch)
        {
            _search.Answer(q, source, now);
            return;
        }
        Stats.Count(checks);
        Records.BeginQuery(source.Partition, now, Parser, q);
        Span<byte> id = stackalloc byte[DecisionIds.Length];
        Records.DecisionId(Records.SearchRefused(checks), id);
        Records.EndEvent();
        // A query that fails authentication has no trustworthy requester: audited (and counted), answered nowhere,
        // so nobody can write into another agency's results.
        if (checks == DecisionCode.DenyUnauthenticated) return;
        Stats.Results++;
        Outputs.Refused(Policy.Agencies.IdOf(q.Requester), Parser.Text(q.QueryId), checks, id);
    }

    // ---- restoring state after a restart or a rebalance --------------------------------------

    /// <summary>
    /// Puts back into the store a read that was already decided (read again from <c>alpr.reads</c> when a worker is
    /// assigned its partition), as the partition's audit chain says: no audit entry, no output. A read
    /// <paramref name="history"/> says was stored and not purged comes back with the agencies it was pushed to; one
    /// it says was purged, or never stored (expired on arrival, a duplicate, refused — or dead-lettered, such as a
    /// future-dated read, which has no entry), does not, whatever the policy in force now says. A read the history
    /// does not reach back to is judged by the time-based rule of <see cref="RestoreRead(ReadOnlySpan{byte}, int,
    /// long, long)"/> with the history's head. Then, as the worker that never stopped would at this moment: a read
    /// past its window under the policy in force is kept if a hold in force keeps it (holds are loaded before reads are
    /// restored), else it comes back expired and the next eviction purges it with its notices and audit decision.
    /// Returns whether the read is resident.
    /// </summary>
    public bool RestoreRead(ReadOnlySpan<byte> payload, int partition, long arrivedAtMs, ReadHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (!ParseRestored(payload, arrivedAtMs, history, out PlateRead read)) return false;
        ReadOnlySpan<byte> readId = Parser.Text(read.ReadId);
        switch (history.Judge(Policy.Agencies.IdOf(read.Owner), readId, arrivedAtMs, _agencyIndex,
            _store.RecipientSets, out int recipients, out ulong? plateRef, out int refKey))
        {
            case ReadHistory.Verdict.Gone:
                return false;
            case ReadHistory.Verdict.Unknown:
                return RestoreRead(payload, partition, arrivedAtMs, history.HeadAtMs);
        }
        // The resident read is the plate the id's last allow.ingest names: not a read the live engine dead-lettered
        // (its id named a resident read), nor the read of an id used before, whose read was purged — whatever order
        // the restore reads them back in.
        if (plateRef is ulong last && refKey <= _retiredAuditKeys.Count
            && last != _audit.PlateRefPrefix(read.Plate, refKey == 0 ? null : _retiredAuditKeys[refKey - 1]))
        {
            return false;
        }
        // A second copy of a restored read.
        if (_store.TryFind(partition, read.Owner, readId, out _)) return false;
        if (!Restore(read, partition, payload, recipients)) return false;
        history.RestoredCount++;
        return true;
    }

    /// <summary>
    /// Puts back a read without its chain's history (no audit topic): skips what the engine would have rejected —
    /// bad input, a timestamp that was in the future when it arrived (<paramref name="arrivedAtMs"/>: the record's
    /// timestamp, which its producer sets) — and what expired while its chain was still written (at or before
    /// <paramref name="chainHeadAtMs"/>, the time of the chain's last record: its previous owner purged it). A read
    /// that expired after that is restored already expired, so the next eviction purges it with its notice (to its
    /// owner only: who it was pushed to is in the history). Returns whether the read is resident.
    /// </summary>
    public bool RestoreRead(ReadOnlySpan<byte> payload, int partition, long arrivedAtMs,
        long chainHeadAtMs = long.MaxValue)
    {
        if (!ParseRestored(payload, arrivedAtMs, null, out PlateRead read)) return false;
        if (arrivedAtMs > 0 && read.ObservedAtMs > arrivedAtMs + Policy.MaxClockSkewMs) return false;
        if (_store.TryFind(partition, read.Owner, Parser.Text(read.ReadId), out _)) return false;
        long expires = read.ObservedAtMs + Policy.RetentionMs(read.Owner);
        long now = NowMs;
        if (expires <= now && expires <= chainHeadAtMs
            && Holds.HeldUntil(read.Owner, read.Plate, read.ObservedAtMs, now, out _) is null)
        {
            return false;
        }
        return Restore(read, partition, payload, 0);
    }

    /// <summary>
    /// Parses a read being restored, its owner looked up among retired agencies too; counts one whose owner no policy
    /// of this engine names and that <paramref name="history"/> (when given) shows may be resident
    /// (<see cref="RestoreUnknownOwnerCount"/>): a read purged long ago, or dead-lettered live for naming no agency,
    /// owes nothing.
    /// </summary>
    private bool ParseRestored(ReadOnlySpan<byte> payload, long arrivedAtMs, ReadHistory? history,
        out PlateRead read)
    {
        read = default;
        if (payload.Length > Parser.MaxEventBytes) return false;
        ParseResult parsed = Parser.ParseRestoredRead(payload, out read);
        if (parsed.IsOk) return true;
        if (parsed.Error == ParseError.UnknownAgency && OwnerAndId(payload) is var (owner, id)
            && (history is null || history.MayBeResident(System.Text.Encoding.UTF8.GetBytes(owner),
                System.Text.Encoding.UTF8.GetBytes(id), arrivedAtMs))
            // A copy of a read counted once; past 2^20 reads in one restore, every one counts (memory stays bounded).
            && (_restoreUnknownReads.Count >= 1 << 20 || _restoreUnknownReads.Add(owner + "\n" + id)))
        {
            RestoreUnknownOwnerCount++;
            // Named in the log only when it could be an agency's id: the text is whatever a producer wrote (a plate,
            // line breaks); anything else is named by what it is not.
            string text = PolicyLoader.IsId(owner) ? owner : NotAnAgencyId;
            if (_restoreUnknownOwners.Count < 16 && !_restoreUnknownOwners.Contains(text))
            {
                _restoreUnknownOwners.Add(text);
            }
        }
        return false;
    }

    /// <summary>How <see cref="TakeRestoreUnknownOwners"/> names an owner text that is no agency id.</summary>
    public const string NotAnAgencyId = "(not an agency id)";

    /// <summary>
    /// The <c>agency_id</c> and <c>read_id</c> of a read that parsed but for its owner, unescaped (a rare path: it
    /// allocates); null when either is missing.
    /// </summary>
    private static (string Owner, string ReadId)? OwnerAndId(ReadOnlySpan<byte> payload)
    {
        string? owner = null, id = null;
        var reader = new System.Text.Json.Utf8JsonReader(payload);
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth != 1 || reader.TokenType != System.Text.Json.JsonTokenType.PropertyName)
                {
                    continue;
                }
                bool isOwner = reader.ValueTextEquals("agency_id"u8), isId = reader.ValueTextEquals("read_id"u8);
                if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.String) continue;
                if (isOwner) owner = reader.GetString();
                else if (isId) id = reader.GetString();
            }
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
        return owner is null || id is null ? null : (owner, id);
    }

    /// <summary>
    /// Raised with the id of an agency a restored read was pushed to that is in none of this engine's policies (a
    /// reload retired it before the worker restarted): its purge notices are still owed, so the worker makes its
    /// topics before the next eviction. Raised once per agency.
    /// </summary>
    public event Action<string>? FormerRecipientFound;

    /// <summary>
    /// Where former recipients are numbered in sets of recipients: above every agency index a policy can have, so
    /// their notices come after the policy's agencies'.
    /// </summary>
    private const int FormerRecipientBase = 1 << 20;

    /// <summary>
    /// The engine's index of agency <paramref name="id"/> for a restored read's set of recipients: the policy's
    /// (retired agencies included), else a former recipient's (<see cref="AgencyId"/>); -1 for a text that is no
    /// agency id (a log no policy wrote), which cannot be addressed.
    /// </summary>
    private int AgencyIndex(string id)
    {
        int agency = Policy.Agencies.FindAny(System.Text.Encoding.UTF8.GetBytes(id));
        if (agency >= 0) return agency;
        if (!PolicyLoader.IsId(id)) return -1;
        int former = _formerRecipientIds.IndexOf(id);
        if (former >= 0) return FormerRecipientBase + former;
        _formerRecipientIds.Add(id);
        _formerRecipients.Add(System.Text.Encoding.UTF8.GetBytes(id));
        FormerRecipientFound?.Invoke(id);
        return FormerRecipientBase + _formerRecipients.Count - 1;
    }

    /// <summary>The id of an agency in a set of recipients: a policy's agency, or a former recipient.</summary>
    private ReadOnlySpan<byte> AgencyId(int agency) =>
        agency < FormerRecipientBase ? Policy.Agencies.IdOf(agency) : _formerRecipients[agency - FormerRecipientBase];

    /// <summary>
    /// Stores a read being restored with the expiry the policy and holds in force give it now; false when its
    /// partition's store is full (counted in <see cref="RestoreRefusedCount"/>).
    /// </summary>
    private bool Restore(in PlateRead read, int partition, ReadOnlySpan<byte> payload, int recipients)
    {
        long expires = read.ObservedAtMs + Policy.RetentionMs(read.Owner);
        long now = NowMs;
        if (expires <= now && Holds.HeldUntil(read.Owner, read.Plate, read.ObservedAtMs, now, out _) is long until)
        {
            expires = until;
        }
        if (_store.IsFull(partition) || recipients < 0)
        {
            RestoreRefusedCount++;
            if (_store.IsFull(partition)) _store.CountRefused(partition);
            return false;
        }
        ReadOnlySpan<byte> readId = Parser.Text(read.ReadId);
        StoredRead stored = _store.Add(partition, read.Plate, read.Owner, read.ObservedAtMs, expires, readId, payload);
        _store.SetRecipients(stored, recipients);
        RestoredReadCount++;
        return true;
    }

    /// <summary>
    /// Remembers the id of a query already decided (read again from <c>alpr.queries</c>), so a replay of it after a
    /// restart is still <c>deny.replayed</c>. Only ids that could still be accepted (inside the clock skew) are kept.
    /// </summary>
    public bool RestoreQueryId(ReadOnlySpan<byte> payload, long arrivedAtMs = long.MaxValue)
    {
        if (payload.Length > Parser.MaxEventBytes || !Parser.ParseQuery(payload, out Query q).IsOk) return false;
        return _guard.Restore(q, arrivedAtMs);
    }

    /// <summary>
    /// Continues the audit chain of source partition <paramref name="partition"/> after its last record written
    /// elsewhere (by this engine's predecessor): the next record gets <paramref name="lastSeq"/> + 1 and links to
    /// <paramref name="lastHashHex"/>.
    /// </summary>
    public void ResumeChain(int partition, long lastSeq, string lastHashHex) =>
        _audit.ResumeChain(partition, lastSeq, lastHashHex);

    /// <summary>Checks the tail of a chain written elsewhere before <see cref="ResumeChain"/> continues it (the keyed
    /// salts need this engine's audit key).</summary>
    public AuditTailVerifier ChainTails { get; }

    /// <summary>
    /// Drops what belongs to source partition <paramref name="partition"/> once another engine continues it — its
    /// resident reads and its audit chain — so this engine never purges or audits on a chain it no longer owns.
    /// </summary>
    public void DropSourcePartition(int partition)
    {
        _store.RemovePartition(partition);
        _audit.ForgetChain(partition);
    }

    /// <summary>
    /// Sends a rejected event to the dead-letter sink: code, detail, source and the payload in base64.
    /// </summary>
    /// <remarks>
    /// The payload kept is capped at the event size cap, so a dead letter always fits a Kafka message.
    /// </remarks>
    public void DeadLetter(in ParseResult error, ReadOnlySpan<byte> payload, in EventSource source)
    {
        Stats.Count(error.Error);
        Outputs.DeadLetter(error, payload, source, Parser.MaxEventBytes);
    }
}
