using StreamGuard.Events;

namespace StreamGuard.Engine;

/// <summary>
/// Push sharing (SPEC §3): for every recipient an agreement names for the owner's pushes, one decision per purpose
/// granted; the read goes to <c>alpr.shared</c> when at least one purpose is allowed.
/// </summary>
/// <remarks>
/// One push decision per (read, recipient), allow or deny, in the read's audit entry; it carries the first allowing
/// decision, or the first decision when none allows.
/// </remarks>
internal sealed class PushSharing(StreamGuardEngine engine)
{
    public void Share(in PlateRead read, ReadOnlySpan<byte> payload, long now)
    {
        CompiledPolicy policy = engine.Policy;
        ReadOnlySpan<PushTarget> targets = policy.PushTargets(read.Owner);
        Span<byte> id = stackalloc byte[Audit.DecisionIds.Length];
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
            Decision decided = allowedMask != 0 ? firstAllow : first;
            engine.Stats.Count(decided.Code);
            int decision = engine.Records.Push(policy, target.Recipient, decided, allowedMask, target.Purposes);
            if (allowedMask == 0) continue;
            engine.Stats.Shared++;
            engine.Records.DecisionId(decision, id);
            engine.Outputs.Shared(policy.Agencies.IdOf(target.Recipient), engine.Parser.Text(read.ReadId), id, payload);
        }
    }
}
