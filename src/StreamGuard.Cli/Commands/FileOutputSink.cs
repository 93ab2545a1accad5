using System.Text.Encodings.Web;
using System.Text.Json;
using StreamGuard.Output;

namespace StreamGuard.Cli.Commands;

/// <summary>Replay's outputs: one NDJSON file per topic of SPEC §8, each line the topic's value.</summary>
internal sealed class FileOutputSink : IOutputSink, IDisposable
{
    private readonly Stream _shared, _alerts, _results, _purges, _audit, _dlq;
    private readonly Utf8JsonWriter _sharedWriter;

    public FileOutputSink(string directory)
    {
        Directory.CreateDirectory(directory);
        _shared = Open(directory, "shared.ndjson");
        _alerts = Open(directory, "alerts.ndjson");
        _results = Open(directory, "results.ndjson");
        _purges = Open(directory, "purges.ndjson");
        _audit = Open(directory, "audit.ndjson");
        _dlq = Open(directory, "dlq.ndjson");
        _sharedWriter = new Utf8JsonWriter(_shared,
            new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static FileStream Open(string dir, string name) =>
        new(Path.Combine(dir, name), FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);

    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> decisionId, ReadOnlySpan<byte> read)
    {
        _sharedWriter.Reset(_shared);
        _sharedWriter.WriteStartObject();
        _sharedWriter.WriteString("recipient"u8, recipient);
        _sharedWriter.WriteString("decision_id"u8, decisionId);
        _sharedWriter.WritePropertyName("read"u8);
        _sharedWriter.WriteRawValue(read, skipInputValidation: true);
        _sharedWriter.WriteEndObject();
        _sharedWriter.Flush();
        _shared.WriteByte((byte)'\n');
    }

    public void Alert(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> alert) => Line(_alerts, alert);

    public void Result(ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) => Line(_results, result);

    public void Purge(ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) => Line(_purges, notice);

    public void Audit(int partition, ReadOnlySpan<byte> record) => Line(_audit, record);

    public void DeadLetter(ReadOnlySpan<byte> record) => Line(_dlq, record);

    private static void Line(Stream s, ReadOnlySpan<byte> value)
    {
        s.Write(value);
        s.WriteByte((byte)'\n');
    }

    public void Dispose()
    {
        _sharedWriter.Dispose();
        foreach (Stream s in (Stream[])[_shared, _alerts, _results, _purges, _audit, _dlq]) s.Dispose();
    }
}
