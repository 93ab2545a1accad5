using StreamGuard.Events;

namespace StreamGuard.Engine;

/// <summary>
/// Answers a query that passed its checks (SPEC §3): finds the plate's reads in the window, decides once per owner
/// whose reads it touches, audits each decision and discloses the allowed owners' reads, newest first.
/// </summary>
/// <remarks>
/// One entry per query with one search decision per owner (allow or deny, with the ids of that owner's matching
/// reads), or one decision when no owner's reads match, so every search is audited. The result's
/// <c>decision_id</c> is the entry's first decision's id.
/// </remarks>
internal sealed class ReadSearch
{
    private readonly StreamGuardEngine _engine;
    private readonly List<StoredRead> _matches = [];
    private readonly Comparison<StoredRead> _newestFirst;
    private readonly List<int> _owners = [];
    private readonly List<bool> _ownerAllowed = [];

    public ReadSearch(StreamGuardEngine engine)
    {
        _engine = engine;
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

        _ownerAllowed.Clear();
        _engine.Records.BeginQuery(source.Partition, now, _engine.Parser, q);
        if (_owners.Count == 0)
        {
            _engine.Stats.Count(DecisionCode.AllowSearch);
            _engine.Records.SearchNothingFound();
        }
        bool documented = !q.CaseNumber.IsEmpty && !q.Reason.IsEmpty;
        foreach (int owner in _owners)
        {
            Decision d = policy.Decide(owner, q.Requester, Access.Search, q.Purpose, documented, now);
            _engine.Stats.Count(d.Code);
            _ownerAllowed.Add(d.Allowed);
            _engine.Records.SearchOwner(d, policy, owner, store, _matches);
        }
        // The answer names the entry's first decision: its id says nothing of how many owners were decided.
        Span<byte> firstId = stackalloc byte[Audit.DecisionIds.Length];
        _engine.Records.DecisionId(0, firstId);
        _engine.Records.EndEvent();

        ReadOnlySpan<byte> queryId = _engine.Parser.Text(q.QueryId);
        ReadOnlySpan<byte> requester = policy.Agencies.IdOf(q.Requester);
        OutputRecords outputs = _engine.Outputs;
        outputs.BeginAnswer(requester, queryId);
        int disclosed = 0;
        foreach (StoredRead r in _matches)
        {
            if (!_ownerAllowed[_owners.IndexOf(store.Owner(r))]) continue;
            // Kafka messages are bounded (1 MB by default): the newest reads are kept, and the answer says so.
            if (disclosed == StreamGuardEngine.MaxReadsPerResult) break;
            outputs.AnswerRead(store.Payload(r));
            disclosed++;
        }
        _engine.Stats.Results++;
        bool truncated = disclosed == StreamGuardEngine.MaxReadsPerResult;
        outputs.EndAnswer(requester, queryId, truncated, firstId);
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
        // Newest first, so an answer truncated at the cap keeps the most recent reads.
        _matches.Sort(_newestFirst);
        _owners.Sort();
    }
}
