using System.Buffers;
using System.Text.Json;
using StreamGuard.Output;
using StreamGuard.Parsing;
using StreamGuard.Text;

namespace StreamGuard.Engine;

/// <summary>
/// The engine's outputs other than audit records (SPEC §6): push deliveries, purge notices, alerts, query results
/// and dead letters, each written into one reused buffer and handed to the sink.
/// </summary>
/// <remarks>Compact UTF-8 JSON; member order is part of the output format. Nothing here allocates.</remarks>
internal sealed class OutputRecords
{
    private readonly IOutputSink _sink;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _json;

    public OutputRecords(IOutputSink sink)
    {
        _sink = sink;
        _json = new Utf8JsonWriter(_buffer, RecordJson.Options);
    }

    /// <summary>
    /// A push delivery: the read as it arrived, for <paramref name="recipient"/>.
    /// </summary>
    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
        ReadOnlySpan<byte> read) => _sink.Shared(recipient, readId, decisionId, read);

    /// <summary>
    /// A purge notice for <paramref name="to"/> (the owner, or an agency the read was pushed to): the read, its owner,
    /// the agency the notice is for, when its window closed and the rule that set it.
    /// </summary>
    public void Purge(ReadOnlySpan<byte> to, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> owner, long expiredAtMs,
        ReadOnlySpan<byte> rule)
    {
        Span<byte> at = stackalloc byte[Rfc3339.FormattedLength];
        Rfc3339.Format(expiredAtMs, at);
        if (RecordJson.IsPlain(readId) && RecordJson.IsPlain(owner) && RecordJson.IsPlain(to)
            && RecordJson.IsPlain(rule))
        {
            // Nothing to escape (the rule for every read, ids nearly always): the writer's bytes, copied directly.
            _buffer.ResetWrittenCount();
            Raw("{\"read_id\":\""u8);
            Raw(readId);
            Raw("\",\"agency_id\":\""u8);
            Raw(owner);
            Raw("\",\"recipient\":\""u8);
            Raw(to);
            Raw("\",\"expired_at\":\""u8);
            Raw(at);
            Raw("\",\"rule\":\""u8);
            Raw(rule);
            Raw("\"}"u8);
            _sink.Purge(to, readId, _buffer.WrittenSpan);
            return;
        }
        Utf8JsonWriter w = Start();
        w.WriteString("read_id"u8, readId);
        w.WriteString("agency_id"u8, owner);
        w.WriteString("recipient"u8, to);
        w.WriteString("expired_at"u8, at);
        w.WriteString("rule"u8, rule);
        _sink.Purge(to, readId, Finish());
    }

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer.GetSpan(bytes.Length));
        _buffer.Advance(bytes.Length);
    }

    /// <summary>An alert for the hotlist's owner, carrying the read as it arrived.</summary>
    public void Alert(ReadOnlySpan<byte> decisionId, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> recipient,
        ReadOnlySpan<byte> read)
    {
        Utf8JsonWriter w = Start();
        w.WriteString("alert_id"u8, decisionId);
        w.WriteString("hotlist_id"u8, hotlistId);
        w.WriteString("recipient"u8, recipient);
        w.WritePropertyName("read"u8);
        w.WriteRawValue(read, skipInputValidation: true);
        w.WriteString("decision_id"u8, decisionId);
        _sink.Alert(recipient, hotlistId, Finish());
    }

    /// <summary>A result for <paramref name="requester"/>'s query refused with <paramref name="code"/>: no reads.
    /// </summary>
    public void Refused(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, DecisionCode code,
        ReadOnlySpan<byte> decisionId)
    {
        Utf8JsonWriter w = Start();
        w.WriteString("query_id"u8, queryId);
        w.WriteString("requester"u8, requester);
        w.WriteString("status"u8, "denied"u8);
        w.WriteString("code"u8, DecisionCodes.Utf8(code));
        w.WriteStartArray("reads"u8);
        w.WriteEndArray();
        w.WriteString("decision_id"u8, decisionId);
        _sink.Result(requester, queryId, Finish());
    }

    /// <summary>
    /// Starts an answered result; add its reads with <see cref="TryAnswerRead"/>, then <see cref="EndAnswer"/>.
    /// </summary>
    public void BeginAnswer(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId)
    {
        Utf8JsonWriter w = Start();
        w.WriteString("query_id"u8, queryId);
        w.WriteString("requester"u8, requester);
        w.WriteString("status"u8, "answered"u8);
        w.WriteString("code"u8, "ok"u8);
        w.WriteStartArray("reads"u8);
    }

    /// <summary>
    /// Adds a disclosed read, as it arrived, if the answer stays within <paramref name="maxBytes"/> once ended (with
    /// <c>"truncated":true</c> and its decision id); else adds nothing and returns false.
    /// </summary>
    public bool TryAnswerRead(ReadOnlySpan<byte> read, int maxBytes)
    {
        long written = _json.BytesCommitted + _json.BytesPending;
        if (written + 1 + read.Length + AnswerEndBytes > maxBytes) return false;
        _json.WriteRawValue(read, skipInputValidation: true);
        return true;
    }

    /// <summary>What <see cref="EndAnswer"/> adds at most: <c>],"truncated":true,"decision_id":"&lt;32 hex&gt;"}</c>,
    /// rounded up.</summary>
    private const int AnswerEndBytes = 80;

    /// <summary>Ends the answer (<paramref name="truncated"/>: reads were withheld for size) and sends it.</summary>
    public void EndAnswer(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, bool truncated,
        ReadOnlySpan<byte> decisionId)
    {
        _json.WriteEndArray();
        if (truncated) _json.WriteBoolean("truncated"u8, true);
        _json.WriteString("decision_id"u8, decisionId);
        _sink.Result(requester, queryId, Finish());
    }

    /// <summary>A rejected event on the dead-letter topic: code, detail, source and the payload in base64.</summary>
    /// <remarks>The payload kept is capped at <paramref name="maxPayloadBytes"/>, so a dead letter always fits a Kafka
    /// message.</remarks>
    public void DeadLetter(in ParseResult error, ReadOnlySpan<byte> payload, in EventSource source, int maxPayloadBytes)
    {
        Utf8JsonWriter w = Start();
        w.WriteString("error"u8, ParseErrorCodes.Utf8Code(error.Error));
        Span<char> text = stackalloc char[256];
        w.WriteString("detail"u8,
            error.TryFormatDetail(text, out int detailLength) ? text[..detailLength] : error.Detail);
        WriteSource(w, source);
        w.WriteBase64String("payload_b64"u8, payload.Length > maxPayloadBytes ? payload[..maxPayloadBytes] : payload);
        _sink.DeadLetter(Finish());
    }

    private Utf8JsonWriter Start()
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        return _json;
    }

    private ReadOnlySpan<byte> Finish()
    {
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.WrittenSpan;
    }

    /// <summary>
    /// Writes <c>source</c>: where the rejected input sits (<c>topic/partition/offset</c> or <c>file:line</c>).
    /// </summary>
    private static void WriteSource(Utf8JsonWriter w, in EventSource source)
    {
        Span<char> text = stackalloc char[256];
        w.WriteString("source"u8, source.TryFormat(text, out int n) ? text[..n] : source.ToString());
    }
}
