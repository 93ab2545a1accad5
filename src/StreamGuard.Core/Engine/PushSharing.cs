using StreamGuard.Events;

namespace StreamGuard.Engine;

/// <summary>
/// Push sharing (SPEC §3): for every recipient an agreement names for the owner's pushes, one decision per purpose
/// granted; the read goes to <c>alpr.shared</c> when at least one purpose is allowed.
/// </summary>
/// <remarks>
/// One push decision per (read, recipient), allow or deny, in the read's audit entry; it carries the first allowing
/// decision, or the first decision when none allows. Deciding (<see cref="Decide"/>) comes before the read's entry is
/// begun, so the engine knows the set of recipients the read goes to — the agencies that must get its purge notice —
/// before it stores the read; <see cref="Emit"/> then writes the decisions and deliveries. Nothing here allocates.
/// </remarks>
internal sealed class PushSharing(StreamGuardEngine engine)
{
    private Decision[] _decided = new Decision[8];
    private int[] _allowed = new int[8];
    private int[] _recipients = new int[8];
    private int _count;

    /// <summary>
    /// Decides the pushes of <paramref name="read"/> at <paramref name="now"/> and returns the number of the set of
    /// recipients allowed (<see cref="RecipientSets"/>: 0 when none; -1 when the set is new and the table is full).
    /// </summary>
    public int Decide(in PlateRead read, long now)
    {
        CompiledPolicy policy = engine.Policy;
        ReadOnlySpan<PushTarget> targets = policy.PushTargets(read.Owner);
        if (_decided.Length < targets.Length)
        {
            _decided = new Decision[targets.Length];
            _allowed = new int[targets.Length];
            _recipients = new int[targets.Length];
        }
        _count = targets.Length;
        int pushed = 0;
        for (int t = 0; t < targets.Length; t++)
        {
            PushTarget target = targets[t];
            int allowedMask = 0;
            Decision first = default, firstAllow = default;
            bool any = false;
            for (int p = 0; p < Purposes.Count; p++)
            {
                if ((target.Purposes & (1 << p)) == 0) continue;
                Decision d = policy.Decide(read.Owner, target.Recipient, Access.Push, (Purpose)p,
                    documented: true, now);
                if (!any) { first = d; any = true; }
                if (d.Allowed)
                {
                    if (allowedMask == 0) firstAllow = d;
                    allowedMask |= 1 << p;
                }
            }
            _decided[t] = allowedMask != 0 ? firstAllow : first;
            _allowed[t] = allowedMask;
            if (allowedMask != 0 && _recipients.AsSpan(0, pushed).IndexOf(target.Recipient) < 0)
            {
                _recipients[pushed++] = target.Recipient;
            }
        }
        Span<int> set = _recipients.AsSpan(0, pushed);
        set.Sort();
        return engine.Reads.RecipientSets.Find(set);
    }

    /// <summary>Writes the decisions <see cref="Decide"/> made into the read's entry and delivers the read.</summary>
    public void Emit(in PlateRead read, ReadOnlySpan<byte> payload)
    {
        CompiledPolicy policy = engine.Policy;
        ReadOnlySpan<PushTarget> targets = policy.PushTargets(read.Owner);
        Span<byte> id = stackalloc byte[Audit.DecisionIds.Length];
        for (int t = 0; t < _count; t++)
        {
            PushTarget target = targets[t];
            Decision decided = _decided[t];
            engine.Stats.Count(decided.Code);
            int decision = engine.Records.Push(policy, target.Recipient, decided, _allowed[t], target.Purposes);
            if (_allowed[t] == 0) continue;
            engine.Stats.Shared++;
            engine.Records.DecisionId(decision, id);
            engine.Outputs.Shared(policy.Agencies.IdOf(target.Recipient), engine.Parser.Text(read.ReadId), id, payload);
        }
    }
}
