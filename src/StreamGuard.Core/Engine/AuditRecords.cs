using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Events;
using StreamGuard.Parsing;

namespace StreamGuard.Engine;

/// <summary>
/// The entries the engine writes (SPEC §7), one per input event, on the chain the <see cref="AuditLog"/> keeps: a read
/// (its ingest, push and alert decisions), a query (its search decisions), a hold record. Evictions are written by
/// <see cref="Evictions"/>.
/// </summary>
/// <remarks>
/// Member order is part of the format: blocks are hashed over the bytes as written. Entries name rules; citations are
/// in the rule table of the chain's <c>policy_load</c> entry. Each decision's index (its order in the entry) keys its
/// id. Nothing here allocates.
/// </remarks>
internal sealed class AuditRecords(AuditLog log)
{
    private enum Group : byte { None, Push, Alert, Search }

    private Group _open;

    public AuditLog Log => log;

    /// <summary>
    /// Starts the entry of a read: its id, owner, <c>plate_ref</c> and ingest decision (<c>allow.ingest</c>, or
    /// <c>drop.expired_on_arrival</c> when its window had closed). Its push and alert decisions follow; then
    /// <see cref="EndEvent"/>.
    /// </summary>
    public void BeginRead(int chain, long now, CompiledPolicy policy, int owner, ReadOnlySpan<byte> readId, ulong plate,
        DecisionCode ingest)
    {
        Utf8JsonWriter w = log.BeginEntry(chain, now);
        w.WriteString("read"u8, readId);
        w.WriteString("owner"u8, policy.Agencies.IdOf(owner));
        log.WritePlateRef(plate);
        w.WriteString("ingest"u8, DecisionCodes.Utf8(ingest));
        log.NextDecision();
    }

    /// <summary>
    /// A push decision for one recipient, in the read's <c>push</c> object: <c>"recipient":[code, rule]</c>, with the
    /// purposes allowed as a third element when they are not all the purposes the policy pushes to it under
    /// (<paramref name="pushedPurposes"/>). Returns the decision's index.
    /// </summary>
    public int Push(CompiledPolicy policy, int recipient, in Decision d, int allowedPurposes, int pushedPurposes)
    {
        Utf8JsonWriter w = log.Writer;
        if (_open != Group.Push)
        {
            Close();
            w.WriteStartObject("push"u8);
            _open = Group.Push;
        }
        w.WritePropertyName(policy.Agencies.IdOf(recipient));
        w.WriteStartArray();
        w.WriteStringValue(DecisionCodes.Utf8(d.Code));
        w.WriteStringValue(d.Rule);
        if (allowedPurposes != 0 && allowedPurposes != pushedPurposes) PolicyVersions.WritePurposes(w, allowedPurposes);
        w.WriteEndArray();
        return log.NextDecision();
    }

    /// <summary>An alert decision for one hotlist entry, in the read's <c>alert</c> array. Returns its index.</summary>
    public int Alert(CompiledPolicy policy, in Decision d, HotlistRow entry)
    {
        Utf8JsonWriter w = log.Writer;
        if (_open != Group.Alert)
        {
            Close();
            w.WriteStartArray("alert"u8);
            _open = Group.Alert;
        }
        w.WriteStartObject();
        w.WriteString("recipient"u8, policy.Agencies.IdOf(entry.Owner));
        w.WriteString("code"u8, DecisionCodes.Utf8(d.Code));
        w.WriteString("rule"u8, d.Rule);
        w.WriteString("purpose"u8, Purposes.Utf8Name(entry.Purpose));
        w.WriteString("hotlist_id"u8, entry.HotlistId);
        if (entry.CaseNumber is not null) w.WriteString("case_number"u8, entry.CaseNumber);
        w.WriteEndObject();
        return log.NextDecision();
    }

    /// <summary>
    /// Starts the entry of a query: who asked, why, for which case, the <c>plate_ref</c>; its search decisions follow
    /// in the <c>search</c> array; then <see cref="EndEvent"/>.
    /// </summary>
    public void BeginQuery(int chain, long now, EventParser parser, in Query q)
    {
        Utf8JsonWriter w = log.BeginEntry(chain, now);
        w.WriteString("query"u8, parser.Text(q.QueryId));
        w.WriteString("requester"u8, parser.Text(q.RequesterText));
        w.WriteString("purpose"u8, Purposes.Utf8Name(q.Purpose));
        w.WriteString("user"u8, parser.Text(q.User));
        if (!q.CaseNumber.IsEmpty) w.WriteString("case_number"u8, parser.Text(q.CaseNumber));
        log.WritePlateRef(q.Plate);
        w.WriteStartArray("search"u8);
        _open = Group.Search;
    }

    /// <summary>The search decision of a query refused at its checks, before any read is looked at.</summary>
    public int SearchRefused(DecisionCode code)
    {
        Utf8JsonWriter w = log.Writer;
        w.WriteStartObject();
        w.WriteString("code"u8, DecisionCodes.Utf8(code));
        w.WriteString("rule"u8, PolicyVersions.PrecheckRule);
        w.WriteEndObject();
        return log.NextDecision();
    }

    /// <summary>
    /// The search decision of an answer that discloses nothing (no owner's reads touched, or none allowed): the empty
    /// answer's own decision, so the result never names a denial. Its rule is the query checks it passed.
    /// </summary>
    public int SearchNothingDisclosed()
    {
        Utf8JsonWriter w = log.Writer;
        w.WriteStartObject();
        w.WriteString("code"u8, DecisionCodes.Utf8(DecisionCode.AllowSearch));
        w.WriteString("rule"u8, PolicyVersions.PrecheckRule);
        w.WriteStartArray("reads"u8);
        w.WriteEndArray();
        w.WriteEndObject();
        return log.NextDecision();
    }

    /// <summary>
    /// The search decision over one owner's reads (<paramref name="matches"/>, newest first, of which those before
    /// <paramref name="disclosedEnd"/> were disclosed when their owner is allowed). Allowed: the ids disclosed, and
    /// <c>matched</c> when the answer's bound left some out. Denied: <c>matched</c> alone (a count: the denial
    /// disclosed nothing, and the entry stays bounded however many reads the plate has).
    /// </summary>
    public int SearchOwner(in Decision d, CompiledPolicy policy, int owner, ReadStore store, List<StoredRead> matches,
        int disclosedEnd)
    {
        Utf8JsonWriter w = log.Writer;
        w.WriteStartObject();
        w.WriteString("owner"u8, policy.Agencies.IdOf(owner));
        w.WriteString("code"u8, DecisionCodes.Utf8(d.Code));
        w.WriteString("rule"u8, d.Rule);
        int matched = 0, listed = 0;
        if (d.Allowed) w.WriteStartArray("reads"u8);
        for (int i = 0; i < matches.Count; i++)
        {
            StoredRead r = matches[i];
            if (store.Owner(r) != owner) continue;
            matched++;
            if (!d.Allowed || i >= disclosedEnd) continue;
            w.WriteStringValue(store.ReadId(r));
            listed++;
        }
        if (d.Allowed) w.WriteEndArray();
        if (matched != listed) w.WriteNumber("matched"u8, matched);
        w.WriteEndObject();
        return log.NextDecision();
    }

    /// <summary>Closes the entry of a read or a query.</summary>
    public void EndEvent()
    {
        Close();
        log.EndEntry();
    }

    /// <summary>The entry of a <c>hold.place</c> or <c>hold.release</c> of a hold whose terms are known.</summary>
    public void Hold(int chain, DecisionCode code, long now, CompiledPolicy policy, HoldRow hold)
    {
        Utf8JsonWriter w = log.BeginEntry(chain, now);
        w.WriteString("hold"u8, hold.Id);
        w.WriteString("code"u8, DecisionCodes.Utf8(code));
        WriteHoldTerms(w, policy, hold);
        if (hold.Plate != 0) log.WritePlateRef(hold.Plate);
        log.NextDecision();
        log.EndEntry();
    }

    /// <summary>The release of a hold not (yet) seen placed: recorded with its id alone.</summary>
    public void UnknownHoldReleased(int chain, long now, ReadOnlySpan<byte> holdId)
    {
        Utf8JsonWriter w = log.BeginEntry(chain, now);
        w.WriteString("hold"u8, holdId);
        w.WriteString("code"u8, DecisionCodes.Utf8(DecisionCode.HoldReleased));
        log.NextDecision();
        log.EndEntry();
    }

    /// <summary>Writes a hold's kind, agency, case number and end.</summary>
    public void WriteHoldTerms(Utf8JsonWriter w, CompiledPolicy policy, HoldRow hold)
    {
        w.WriteString("kind"u8, hold.Kind switch
        {
            HoldKind.Warrant => "warrant"u8,
            HoldKind.Preservation => "preservation"u8,
            _ => "investigation"u8,
        });
        w.WriteString("owner"u8, policy.Agencies.IdOf(hold.Agency));
        if (hold.CaseNumber is not null) w.WriteString("case_number"u8, hold.CaseNumber);
        log.WriteTime("until"u8, hold.UntilMs);
    }

    /// <summary>Writes the id of decision <paramref name="index"/> of the entry being built.</summary>
    public void DecisionId(int index, Span<byte> hex) => log.DecisionId(index, hex);

    private void Close()
    {
        if (_open == Group.Push) log.Writer.WriteEndObject();
        else if (_open is Group.Alert or Group.Search) log.Writer.WriteEndArray();
        _open = Group.None;
    }
}
