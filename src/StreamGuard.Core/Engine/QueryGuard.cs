using System.Buffers.Binary;
using System.Security.Cryptography;
using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Security;

namespace StreamGuard.Engine;

/// <summary>
/// The checks a query passes before any read is looked at (SPEC §3): signed by its requester's key, issued within
/// the clock skew, not seen before, with the fields and the window the policy requires.
/// </summary>
/// <remarks>
/// Query ids are remembered per requester — the replay key is (requester, query_id), by SHA-256, so one agency
/// cannot claim another's ids, predictable as they may be — until they fall out of the skew, after which the time
/// check refuses them anyway, so the replay set stays bounded. Each requester's keys are keyed into reusable HMAC
/// contexts on its first query; a policy change drops them.
/// </remarks>
internal sealed class QueryGuard
{
    private readonly StreamGuardEngine _engine;
    private readonly Dictionary<UInt128, long> _seen = [];
    private readonly PriorityQueue<UInt128, long> _seenExpiry = new();
    private readonly IncrementalHash _replayKey = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private IncrementalHash[]?[] _requesterMacs; // per requester, one keyed HMAC context per live key

    public QueryGuard(StreamGuardEngine engine)
    {
        _engine = engine;
        _requesterMacs = new IncrementalHash[]?[engine.Policy.Agencies.Count];
    }

    /// <summary>
    /// <see cref="DecisionCode.AllowSearch"/> when the query passes every check, else the code refusing it.
    /// </summary>
    public DecisionCode Check(in Query q)
    {
        if (!Authentic(q)) return DecisionCode.DenyUnauthenticated;

        CompiledPolicy policy = _engine.Policy;
        long skew = policy.MaxClockSkewMs;
        if (q.IssuedAtMs > _engine.Clock.FutureLimitMs(skew)) return DecisionCode.DenyReplayed;
        long now = _engine.Clock.For(q.IssuedAtMs);
        if (q.IssuedAtMs < now - skew) return DecisionCode.DenyReplayed;

        // Forget ids that are too old to be accepted again anyway.
        while (_seenExpiry.TryPeek(out UInt128 old, out long issued) && issued < now - skew)
        {
            _seenExpiry.Dequeue();
            _seen.Remove(old);
        }
        if (!Remember(q)) return DecisionCode.DenyReplayed;

        if (policy.Search.RequireCaseNumber && q.CaseNumber.IsEmpty) return DecisionCode.DenyMissingCaseNumber;
        if (policy.Search.RequireReason && q.Reason.IsEmpty) return DecisionCode.DenyMissingReason;
        long to = q.ToMs == long.MaxValue ? q.IssuedAtMs : q.ToMs;
        long from = q.FromMs == long.MinValue ? to - policy.MaxWindowMs : q.FromMs;
        if (to - from > policy.MaxWindowMs) return DecisionCode.DenyWindowTooWide;
        return DecisionCode.AllowSearch;
    }

    /// <summary>
    /// Remembers the id of a query decided before a restart, so a replay of it is still refused. As when it was
    /// decided, only an authentic query inside the skew counts (a forged one must not block the genuine query), and
    /// not one that was future-dated when it arrived (<paramref name="arrivedAtMs"/>, its record's time): refused
    /// then, it was not remembered, so its id stays free as for a worker that never stopped.
    /// </summary>
    public bool Restore(in Query q, long arrivedAtMs)
    {
        long skew = _engine.Policy.MaxClockSkewMs;
        if (arrivedAtMs != long.MaxValue && q.IssuedAtMs > arrivedAtMs + skew) return false;
        return q.IssuedAtMs >= _engine.NowMs - skew && Authentic(q) && Remember(q);
    }

    /// <summary>A new policy is in force: its keys replace the ones keyed so far.</summary>
    public void PolicyChanged(CompiledPolicy next)
    {
        foreach (IncrementalHash[]? macs in _requesterMacs)
        {
            foreach (IncrementalHash mac in macs ?? []) mac.Dispose();
        }
        _requesterMacs = new IncrementalHash[]?[next.Agencies.Count];
    }

    /// <summary>The query is signed by a known requester's key (constant-time check).</summary>
    private bool Authentic(in Query q)
    {
        if (q.Requester < 0) return false;
        IReadOnlyList<byte[]> keys = _engine.Policy.Keys(q.Requester);
        if (keys.Count == 0) return false;
        IncrementalHash[] macs = _requesterMacs[q.Requester] ??=
            keys.Select(k => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, k)).ToArray();
        EventParser p = _engine.Parser;
        // During a key rotation every live key is tried, each comparison in constant time.
        bool valid = false;
        foreach (IncrementalHash mac in macs)
        {
            valid |= QuerySignature.Verify(mac, p.Text(q.Signature), p.Text(q.QueryId), p.Text(q.RequesterText),
                p.Text(q.User), p.Text(q.PurposeText), p.Text(q.CaseNumber), p.Text(q.PlateText), p.Text(q.FromText),
                p.Text(q.ToText), p.Text(q.IssuedAtText));
        }
        return valid;
    }

    /// <summary>
    /// Adds (requester, query id) to the replay set; false when it was already there. Called for authentic queries
    /// only, so the requester is known.
    /// </summary>
    private bool Remember(in Query q)
    {
        Span<byte> digest = stackalloc byte[32];
        // Agency ids are [a-z0-9-]: the newline cannot be part of one, so no two pairs hash the same text.
        _replayKey.AppendData(_engine.Policy.Agencies.IdOf(q.Requester));
        _replayKey.AppendData("\n"u8);
        _replayKey.AppendData(_engine.Parser.Text(q.QueryId));
        _replayKey.GetHashAndReset(digest);
        UInt128 idHash = BinaryPrimitives.ReadUInt128LittleEndian(digest);
        if (!_seen.TryAdd(idHash, q.IssuedAtMs)) return false;
        _seenExpiry.Enqueue(idHash, q.IssuedAtMs);
        return true;
    }
}
