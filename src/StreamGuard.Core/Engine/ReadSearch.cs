using StreamGuard.Events;

namespace StreamGuard.Engine;

/// <summary>
/// Answers a query that passed its checks (SPEC §3): finds the plate's reads in the window, decides once per owner
/// whose reads it touches, discloses the allowed owners' reads newest first as far as the answer's byte bound allows,
/// and audits each decision.
/// </summary>
/// <remarks>
/// <para>One entry per query. Its search decisions: one per owner touched, allow or deny; an allowed owner's lists the
/// ids of its reads the answer disclosed (and <c>matched</c>, the number in the window, when the bound left some out);
/// a denied owner's gives only <c>matched</c>: a denial discloses nothing, and a count keeps the entry bounded whatever
/// the plate's history. When no owner is allowed, a first decision <c>allow.search</c> with no reads stands for the
/// empty answer.</para>
/// <para>The answer is bounded twice, by bytes: its value stays under <see cref="EngineOptions.MaxResultBytes"/> (one
/// Kafka message, key and overhead included) and the ids it discloses under <see cref="EntryIdBytes"/> (so the entry
/// fits a block); past either, it says <c>truncated</c>.</para>
/// <para>The result's <c>decision_id</c> names the first allowed owner's decision, else the empty answer's: never a
/// denial, so neither the result nor its id tells a requester that withheld reads exist.</para>
/// </remarks>
internal sealed class ReadSearch
{
    /// <summary>
    /// Escaped read-id bytes (quotes and comma included) one search entry lists at most, so that the entry, with one
    /// small decision per owner, stays far under the 128 KiB a block leaves its last entry.
    /// </summary>
    public const int EntryIdBytes = 64 * 1024;

    private readonly StreamGuardEngine _engine;
    private readonly List<StoredRead> _matches = [];
    private readonly Comparison<StoredRead> _newestFirst;
    private readonly List<int> _owners = [];
    private readonly List<Decision> _decisions = [];
    private int _maxResultBytes;

    /// <summary>Lowers the answer bound to <paramref name="bytes"/> (never raises it).</summary>
    public void Limit(int bytes) => _maxResultBytes = Math.Min(_maxResultBytes, bytes);

    public ReadSearch(StreamGuardEngine engine, int maxResultBytes)
    {
        _engine = engine;
        _maxResultBytes = maxResultBytes;
        ReadStore store = engine.Reads;
        _newestFirst = (a, b) =>
        {
            long ta = store.ObservedAtMs(a), tb = store.ObservedAtMs(b);
            return ta != tb ? tb.CompareTo(ta) : store.ReadId(a).SequenceCompareTo(store.ReadId(b));
        };
    }

    public void Answer(in Query q, in EventSource source, long now)
    {
        CompiledPolicy policy = _engine.Policy;
        ReadStore store = _engine.Reads;
        FindReads(q, policy, store, now);

        _decisions.Clear();
        bool documented = !q.CaseNumber.IsEmpty && !q.Reason.IsEmpty;
        bool anyAllowed = false;
        foreach (int owner in _owners)
        {
            Decision d = policy.Decide(owner, q.Requester, Access.Search, q.Purpose, documented, now);
            _engine.Stats.Count(d.Code);
            _decisions.Add(d);
            anyAllowed |= d.Allowed;
        }

        // The answer first (its bytes decide how many reads are disclosed), its decision id last.
        ReadOnlySpan<byte> queryId = _engine.Parser.Text(q.QueryId);
        ReadOnlySpan<byte> requester = policy.Agencies.IdOf(q.Requester);
        OutputRecords outputs = _engine.Outputs;
        outputs.BeginAnswer(requester, queryId);
        int disclosedEnd = _matches.Count, idBytes = 0;
        for (int i = 0; i < _matches.Count; i++)
        {
            StoredRead r = _matches[i];
            if (!_decisions[_owners.IndexOf(store.Owner(r))].Allowed) continue;
            int escaped = EscapedLength(store.ReadId(r)) + 3;
            if (idBytes + escaped > EntryIdBytes || !outputs.TryAnswerRead(store.Payload(r), _maxResultBytes))
            {
                // Newest first: what is left out is older than everything disclosed.
                disclosedEnd = i;
                break;
            }
            idBytes += escaped;
        }

        AuditRecords records = _engine.Records;
        records.BeginQuery(source.Partition, now, _engine.Parser, q);
        int answerDecision = -1;
        if (!anyAllowed)
        {
            _engine.Stats.Count(DecisionCode.AllowSearch);
            answerDecision = records.SearchNothingDisclosed();
        }
        for (int k = 0; k < _owners.Count; k++)
        {
            int index = records.SearchOwner(_decisions[k], policy, _owners[k], store, _matches, disclosedEnd);
            if (answerDecision < 0 && _decisions[k].Allowed) answerDecision = index;
        }
        Span<byte> answerId = stackalloc byte[Audit.DecisionIds.Length];
        records.DecisionId(answerDecision, answerId);
        records.EndEvent();

        _engine.Stats.Results++;
        outputs.EndAnswer(requester, queryId, truncated: disclosedEnd < _matches.Count, answerId);
    }

    /// <summary>The plate's reads in the query's window that are still kept, newest first, and their owners.</summary>
    private void FindReads(in Query q, CompiledPolicy policy, ReadStore store, long now)
    {
        long to = q.ToMs == long.MaxValue ? q.IssuedAtMs : q.ToMs;
        long from = q.FromMs == long.MinValue ? to - policy.MaxWindowMs : q.FromMs;
        _matches.Clear();
        _owners.Clear();
        foreach (StoredRead r in store.Find(q.Plate))
        {
            // The window in force now (a reload may have shortened it since the read was stored); past it, a read
            // kept by a hold is the holding agency's alone.
            long observed = store.ObservedAtMs(r);
            int owner = store.Owner(r);
            if (observed < from || observed > to || store.ExpiresAtMs(r) <= now) continue;
            if (observed + policy.RetentionMs(owner) <= now && owner != q.Requester) continue;
            _matches.Add(r);
            if (!_owners.Contains(owner)) _owners.Add(owner);
        }
        // Newest first, so an answer cut at its bound keeps the most recent reads.
        _matches.Sort(_newestFirst);
        _owners.Sort();
    }

    /// <summary>
    /// An upper bound of the bytes a read id takes as a JSON string's content: control characters become <c>\u00XX</c>,
    /// quote and backslash two bytes, and a non-ASCII byte is counted as if escaped (at most three bytes each).
    /// </summary>
    private static int EscapedLength(ReadOnlySpan<byte> id)
    {
        int n = 0;
        foreach (byte b in id) n += b < 0x20 ? 6 : b is (byte)'"' or (byte)'\\' ? 2 : b >= 0x80 ? 3 : 1;
        return n;
    }
}
