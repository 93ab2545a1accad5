using System.IO.Pipelines;
using StreamGuard.Ingest;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// One NDJSON input of <c>streamguard replay</c>: its line reader and the line in hand (its head) with the head's
/// merge key, the event time replay merges the inputs by.
/// </summary>
internal sealed class ReplayInput : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly PipeReader _pipe;

    private readonly bool _timed;

    private ReplayInput(string path, bool isReads, Stream stream, int maxEventBytes, bool timed)
    {
        _timed = timed;
        Path = path;
        IsReads = isReads;
        _stream = stream;
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16));
        Reader = new NdjsonLineReader(_pipe, maxEventBytes);
    }

    public string Path { get; }
    public bool IsReads { get; }
    public NdjsonLineReader Reader { get; }
    public bool HasHead { get; private set; }
    public long HeadTime { get; private set; }

    /// <summary>The input's size in bytes, or -1 when it has none (standard input, a pipe).</summary>
    public long Length => _stream.CanSeek ? _stream.Length : -1;

    /// <summary>
    /// Bytes taken from the input so far (read ahead of the line in hand by at most the pipe's buffer).
    /// </summary>
    public long Position => _stream.CanSeek ? _stream.Position : 0;

    public static async Task<ReplayInput> OpenAsync(string path, bool isReads, int maxEventBytes, CancellationToken ct,
        bool timed = true)
    {
        Stream stream;
        if (path == "-") stream = Console.OpenStandardInput();
        else if (!File.Exists(path)) throw new UsageException($"{path}: no such file");
        else
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1,
                FileOptions.SequentialScan);
        }
        var input = new ReplayInput(path, isReads, stream, maxEventBytes, timed);
        await input.AdvanceAsync(ct);
        return input;
    }

    public async ValueTask AdvanceAsync(CancellationToken ct)
    {
        HasHead = await Reader.ReadAsync(ct);
        if (HasHead && _timed)
        {
            HeadTime = Reader.Status == LineStatus.Ok
                ? EventTime(Reader.Line.Span, IsReads ? "observed_at"u8 : "issued_at"u8)
                : long.MinValue;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _pipe.CompleteAsync();
        await _stream.DisposeAsync();
    }

    /// <summary>
    /// The merge key of a line: its top-level timestamp member. A line without a readable one sorts first
    /// (it is rejected at once, with its own code, by the engine).
    /// </summary>
    private static long EventTime(ReadOnlySpan<byte> line, ReadOnlySpan<byte> member) =>
        JsonMembers.TryGetString(line, member, out ReadOnlySpan<byte> text) && Rfc3339.TryParse(text, out long ms)
            ? ms
            : long.MinValue;
}
