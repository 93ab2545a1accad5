using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Text;

namespace StreamGuard.Engine;

/// <summary>
/// The members of each kind of audit record the engine writes (SPEC §7), on the chain the <see cref="AuditLog"/>
/// keeps. Each method writes one whole record and returns its id (valid until the next record).
/// </summary>
/// <remarks>
/// Member order is part of the audit format: chains are hashed over the bytes as written. Citations are
/// self-contained text: they name the rule, never a SPEC section number, so renumbering SPEC does not change the
/// format. Nothing here allocates.
/// </remarks>
internal sealed class AuditRecords(AuditLog log)
{
    private static ReadOnlySpan<byte> PrecheckCitation => "Query checks"u8;

    /// <summary>
    /// An <c>ingest</c> record: a read accepted into the store, or dropped because its window had closed.
    /// </summary>
    public void Ingest(in EventSource source, DecisionCode code, long now, CompiledPolicy policy, int owner,
        ReadOnlySpan<byte> readId, ulong plate, long retainUntilMs)
    {
        log.Begin(source.Partition, "ingest"u8, code == DecisionCode.AllowIngest, DecisionCodes.Utf8(code), now);
        Utf8JsonWriter w = log.Writer;
        WriteSource(w, source);
        w.WriteString("rule"u8, policy.RetentionRule(owner));
        w.WriteString("citation"u8, policy.RetentionCitation(owner));
        w.WriteString("owner"u8, policy.Agencies.IdOf(owner));
        WriteRead(w, readId);
        log.WritePlateRef(plate);
        Span<byte> until = stackalloc byte[Rfc3339.FormattedLength];
        Rfc3339.Format(retainUntilMs, until);
        w.WriteString("retain_until"u8, until);
        log.Complete();
    }

    /// <summary>
    /// A <c>push</c> record for one (read, recipient), with the purposes allowed (bits of <paramref
    /// name="allowedPurposes"/>).
    /// </summary>
    public ReadOnlySpan<byte> Push(in EventSource source, in Decision d, long now, CompiledPolicy policy, int owner,
        int recipient, int allowedPurposes, ReadOnlySpan<byte> readId, ulong plate)
    {
        Utf8JsonWriter w = BeginSharing("push"u8, source, d, now, policy, owner, recipient);
        w.WriteStartArray("purposes"u8);
        for (int p = 0; p < Purposes.Count; p++)
        {
            if ((allowedPurposes & (1 << p)) != 0) w.WriteStringValue(Purposes.Utf8Name((Purpose)p));
        }
        w.WriteEndArray();
        WriteRead(w, readId);
        log.WritePlateRef(plate);
        return log.Complete();
    }

    /// <summary>An <c>alert</c> record for one (read, hotlist entry).</summary>
    public ReadOnlySpan<byte> Alert(in EventSource source, in Decision d, long now, CompiledPolicy policy, int owner,
        HotlistRow entry, ReadOnlySpan<byte> readId, ulong plate)
    {
        Utf8JsonWriter w = BeginSharing("alert"u8, source, d, now, policy, owner, entry.Owner);
        w.WriteString("purpose"u8, Purposes.Utf8Name(entry.Purpose));
        w.WriteString("hotlist_id"u8, entry.HotlistId);
        if (entry.CaseNumber is not null) w.WriteString("case_number"u8, entry.CaseNumber);
        WriteRead(w, readId);
        log.WritePlateRef(plate);
        return log.Complete();
    }

    /// <summary>A <c>purge</c> record, on the chain of the partition the read came from.</summary>
    public void Purge(int chain, long now, CompiledPolicy policy, int owner, ReadOnlySpan<byte> readId, ulong plate)
    {
        log.Begin(chain, "purge"u8, true, DecisionCodes.Utf8(DecisionCode.Purged), now);
        Utf8JsonWriter w = log.Writer;
        w.WriteString("rule"u8, policy.RetentionRule(owner));
        w.WriteString("citation"u8, policy.RetentionCitation(owner));
        w.WriteString("owner"u8, policy.Agencies.IdOf(owner));
        WriteRead(w, readId);
        log.WritePlateRef(plate);
        log.Complete();
    }

    /// <summary>A <c>hold.retain</c> record: a read kept past its window by <paramref name="hold"/>.</summary>
    public void HoldRetained(int chain, long now, CompiledPolicy policy, HoldRow hold, ReadOnlySpan<byte> readId,
        ulong plate)
    {
        log.Begin(chain, "hold"u8, true, DecisionCodes.Utf8(DecisionCode.HoldRetained), now);
        WriteHold(log.Writer, policy, hold);
        WriteRead(log.Writer, readId);
        log.WritePlateRef(plate);
        log.Complete();
    }

    /// <summary>A <c>hold.place</c> or <c>hold.release</c> record of a hold whose terms are known.</summary>
    public void Hold(in EventSource source, DecisionCode code, long now, CompiledPolicy policy, HoldRow hold)
    {
        log.Begin(source.Partition, "hold"u8, true, DecisionCodes.Utf8(code), now);
        WriteSource(log.Writer, source);
        WriteHold(log.Writer, policy, hold);
        if (hold.Plate != 0) log.WritePlateRef(hold.Plate);
        log.Complete();
    }

    /// <summary>The release of a hold not (yet) seen placed: recorded with its id alone.</summary>
    public void UnknownHoldReleased(in EventSource source, long now, ReadOnlySpan<byte> holdId)
    {
        log.Begin(source.Partition, "hold"u8, true, DecisionCodes.Utf8(DecisionCode.HoldReleased), now);
        Utf8JsonWriter w = log.Writer;
        WriteSource(w, source);
        w.WriteString("rule"u8, holdId);
        w.WriteString("citation"u8, "Hold released"u8);
        w.WriteString("hold_id"u8, holdId);
        log.Complete();
    }

    /// <summary>The <c>search</c> record of a query refused at its checks, before any read is looked at.</summary>
    public ReadOnlySpan<byte> SearchRefused(in EventSource source, DecisionCode code, long now, EventParser parser,
        in Query q)
    {
        BeginSearch(source, false, code, now, parser, q);
        log.Writer.WriteString("rule"u8, "SEARCH.PRECHECK"u8);
        log.Writer.WriteString("citation"u8, PrecheckCitation);
        return log.Complete();
    }

    /// <summary>The one <c>search</c> record of a query that touched no owner's reads.</summary>
    public ReadOnlySpan<byte> SearchNothingFound(in EventSource source, long now, EventParser parser, in Query q)
    {
        BeginSearch(source, true, DecisionCode.AllowSearch, now, parser, q);
        log.Writer.WriteStartArray("reads"u8);
        log.Writer.WriteEndArray();
        return log.Complete();
    }

    /// <summary>
    /// The <c>search</c> record of one owner's reads: the decision and the ids of the reads it covers.
    /// </summary>
    public ReadOnlySpan<byte> SearchOwner(in EventSource source, in Decision d, long now, EventParser parser,
        in Query q, CompiledPolicy policy, int owner, ReadStore store, List<StoredRead> matches)
    {
        BeginSearch(source, d.Allowed, d.Code, now, parser, q);
        Utf8JsonWriter w = log.Writer;
        w.WriteString("rule"u8, d.Rule);
        w.WriteString("citation"u8, d.Citation);
        w.WriteString("owner"u8, policy.Agencies.IdOf(owner));
        w.WriteStartArray("reads"u8);
        foreach (StoredRead r in matches)
        {
            if (store.Owner(r) == owner) w.WriteStringValue(store.ReadId(r));
        }
        w.WriteEndArray();
        return log.Complete();
    }

    /// <summary>
    /// Writes <c>source</c>: where the decided input event sits (<c>topic/partition/offset</c> or <c>file:line</c>).
    /// </summary>
    internal static void WriteSource(Utf8JsonWriter w, in EventSource source)
    {
        Span<char> text = stackalloc char[256];
        w.WriteString("source"u8, source.TryFormat(text, out int n) ? text[..n] : source.ToString());
    }

    private Utf8JsonWriter BeginSharing(ReadOnlySpan<byte> eventKind, in EventSource source, in Decision d, long now,
        CompiledPolicy policy, int owner, int recipient)
    {
        log.Begin(source.Partition, eventKind, d.Allowed, DecisionCodes.Utf8(d.Code), now);
        Utf8JsonWriter w = log.Writer;
        WriteSource(w, source);
        w.WriteString("rule"u8, d.Rule);
        w.WriteString("citation"u8, d.Citation);
        w.WriteString("owner"u8, policy.Agencies.IdOf(owner));
        w.WriteString("recipient"u8, policy.Agencies.IdOf(recipient));
        return w;
    }

    private void BeginSearch(in EventSource source, bool allow, DecisionCode code, long now, EventParser parser,
        in Query q)
    {
        log.Begin(source.Partition, "search"u8, allow, DecisionCodes.Utf8(code), now);
        Utf8JsonWriter w = log.Writer;
        WriteSource(w, source);
        w.WriteString("recipient"u8, parser.Text(q.RequesterText));
        w.WriteString("purpose"u8, Purposes.Utf8Name(q.Purpose));
        w.WriteString("query_id"u8, parser.Text(q.QueryId));
        w.WriteString("user"u8, parser.Text(q.User));
        if (!q.CaseNumber.IsEmpty) w.WriteString("case_number"u8, parser.Text(q.CaseNumber));
        log.WritePlateRef(q.Plate);
    }

    private static void WriteRead(Utf8JsonWriter w, ReadOnlySpan<byte> readId)
    {
        w.WriteStartArray("reads"u8);
        w.WriteStringValue(readId);
        w.WriteEndArray();
    }

    private static void WriteHold(Utf8JsonWriter w, CompiledPolicy policy, HoldRow hold)
    {
        w.WriteString("rule"u8, hold.Id);
        w.WriteString("citation"u8, hold.Kind switch
        {
            HoldKind.Warrant => "Hold: warrant"u8,
            HoldKind.Preservation => "Hold: preservation request"u8,
            _ => "Hold: investigation"u8,
        });
        w.WriteString("owner"u8, policy.Agencies.IdOf(hold.Agency));
        w.WriteString("hold_id"u8, hold.Id);
        if (hold.CaseNumber is not null) w.WriteString("case_number"u8, hold.CaseNumber);
        Span<byte> until = stackalloc byte[Rfc3339.FormattedLength];
        Rfc3339.Format(hold.UntilMs, until);
        w.WriteString("until"u8, until);
    }
}
