using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using StreamGuard.Ingest;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// One NDJSON input of <c>streamguard replay</c>: the line in hand (its head), with its number, status and merge
/// key, the event time replay merges the inputs by.
/// </summary>
/// <remarks>
/// <para>
/// A thread of its own reads the input, splits it into lines (<see cref="NdjsonLineReader"/>: blank lines skipped,
/// CR trimmed, an oversized line cut at the cap and reported once) and, for a timed input, reads each line's merge
/// key; it copies the lines into batches that the engine's thread takes in order. So the engine's thread does no
/// file I/O, line splitting or timestamp parsing, and takes a line for the cost of an index.
/// </para>
/// <para>
/// A fixed number of batches circulates (bounded memory, back-pressure on the reader); a batch grows past its
/// usual size only for a line longer than that. A failure of the reader (an I/O error) is thrown on the engine's
/// thread by the <see cref="Advance"/> that reaches it, after every line read before it.
/// </para>
/// </remarks>
internal sealed class ReplayInput : IDisposable
{
    private const int BatchBytes = 1 << 20;
    private const int BatchLines = 8192;
    private const int BatchCount = 4;

    private sealed class Batch
    {
        public byte[] Bytes = new byte[BatchBytes];
        public int Used;
        public readonly LineRef[] Lines = new LineRef[BatchLines];
        public int Count;
    }

    private readonly record struct LineRef(int Offset, int Length, long Number, long Time, LineStatus Status);

    private readonly Stream _stream;
    private readonly bool _timed;
    private readonly int _maxEventBytes;
    private readonly BlockingCollection<Batch> _full = new(BatchCount);
    private readonly BlockingCollection<Batch> _free = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private ExceptionDispatchInfo? _failure;
    private Batch? _batch;
    private int _index;
    private long _position;
    private bool _disposed;

    private ReplayInput(string path, bool isReads, Stream stream, int maxEventBytes, bool timed)
    {
        Path = path;
        IsReads = isReads;
        _stream = stream;
        _timed = timed;
        _maxEventBytes = maxEventBytes;
        for (int i = 0; i < BatchCount; i++) _free.Add(new Batch());
        _thread = new Thread(ReadLoop)
        {
            Name = $"replay input {System.IO.Path.GetFileName(path)}", IsBackground = true,
        };
    }

    public string Path { get; }
    public bool IsReads { get; }
    public bool HasHead { get; private set; }

    /// <summary>
    /// The head's merge key (ms since the epoch; <see cref="long.MinValue"/> when it has no readable one). Read for
    /// every line of a timed input, and for the first line of any input (where the replay clock may start).
    /// </summary>
    public long HeadTime { get; private set; }

    public long LineNumber { get; private set; }
    public LineStatus Status { get; private set; }

    /// <summary>The head line; valid until the next <see cref="Advance"/>.</summary>
    public ReadOnlySpan<byte> Line
    {
        get
        {
            LineRef line = _batch!.Lines[_index];
            return new ReadOnlySpan<byte>(_batch.Bytes, line.Offset, line.Length);
        }
    }

    /// <summary>The input's size in bytes, or -1 when it has none (standard input, a pipe).</summary>
    public long Length => _stream.CanSeek ? _stream.Length : -1;

    /// <summary>Bytes taken from the input so far (the reader runs ahead of the head by at most its batches).</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary>
    /// Opens <paramref name="path"/> (<c>-</c>: standard input), starts its reader and takes the first line. A line
    /// longer than <paramref name="maxEventBytes"/> is reported as <see cref="LineStatus.Oversized"/>.
    /// <paramref name="timed"/>: every line's merge key is read (the input is merged with another by time).
    /// </summary>
    public static ReplayInput Open(string path, bool isReads, int maxEventBytes, bool timed, CancellationToken ct)
    {
        Stream stream;
        if (path == "-") stream = Console.OpenStandardInput();
        else if (!File.Exists(path))
        {
            throw new UsageException(
                Directory.Exists(path) ? $"{path}: a directory, not a file" : $"{path}: no such file");
        }
        else
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1,
                FileOptions.SequentialScan);
        }
        return Open(stream, path, isReads, maxEventBytes, timed, ct);
    }

    /// <summary>As <see cref="Open(string, bool, int, bool, CancellationToken)"/> over a stream, which the input owns.
    /// </summary>
    internal static ReplayInput Open(Stream stream, string path, bool isReads, int maxEventBytes, bool timed,
        CancellationToken ct)
    {
        var input = new ReplayInput(path, isReads, stream, maxEventBytes, timed);
        try
        {
            input._thread.Start();
            input.Advance(ct);
            return input;
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    /// <summary>Moves to the next line; <see cref="HasHead"/> is false past the last.</summary>
    public void Advance(CancellationToken ct)
    {
        if (_batch is not null && ++_index < _batch.Count)
        {
            Take(_batch.Lines[_index]);
            return;
        }
        while (true)
        {
            if (_batch is not null)
            {
                _free.Add(_batch, CancellationToken.None);
                _batch = null;
            }
            if (!_full.TryTake(out Batch? next, Timeout.Infinite, ct))
            {
                // The reader completed: every batch it read has been taken.
                _failure?.Throw();
                HasHead = false;
                return;
            }
            _batch = next;
            _index = 0;
            if (next.Count > 0)
            {
                Take(next.Lines[0]);
                return;
            }
        }
    }

    private void Take(LineRef line)
    {
        HasHead = true;
        LineNumber = line.Number;
        Status = line.Status;
        HeadTime = line.Time;
    }

    private void ReadLoop()
    {
        CancellationToken ct = _stop.Token;
        Batch? batch = null;
        try
        {
            PipeReader pipe = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 1 << 16));
            var reader = new NdjsonLineReader(pipe, _maxEventBytes);
            batch = _free.Take(ct);
            bool first = true;
            while (Wait(reader.ReadAsync(ct)))
            {
                ReadOnlySpan<byte> line = reader.Line.Span;
                if (batch.Count == BatchLines || batch.Bytes.Length - batch.Used < line.Length)
                {
                    if (batch.Count > 0)
                    {
                        _full.Add(batch, ct);
                        batch = _free.Take(ct);
                        batch.Used = batch.Count = 0;
                        // A batch grown for one long line goes back to the usual size: long lines are rare.
                        if (batch.Bytes.Length > BatchBytes) batch.Bytes = new byte[BatchBytes];
                    }
                    if (batch.Bytes.Length < line.Length) batch.Bytes = new byte[line.Length];
                }
                line.CopyTo(batch.Bytes.AsSpan(batch.Used));
                long time = (_timed || first) && reader.Status == LineStatus.Ok
                    ? EventTime(line, IsReads ? "observed_at"u8 : "issued_at"u8)
                    : long.MinValue;
                first = false;
                batch.Lines[batch.Count++] =
                    new LineRef(batch.Used, line.Length, reader.LineNumber, time, reader.Status);
                batch.Used += line.Length;
                if (_stream.CanSeek) Interlocked.Exchange(ref _position, _stream.Position);
            }
            _full.Add(batch, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Disposed before the end: nobody takes what is left.
        }
        catch (Exception e)
        {
            // The lines read before the failure are handed over first (a batch is always free for this: four
            // circulate and the reader holds this one), then the failure ends the input.
            if (batch is { Count: > 0 }) _full.Add(batch, CancellationToken.None);
            _failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            _full.CompleteAdding();
        }
    }

    private static bool Wait(ValueTask<bool> read) =>
        read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Stops the reader and closes the input. A reader blocked in a read that ignores cancellation (a terminal's
    /// standard input) is given a moment, then left to the process's exit: closing the stream fails its read.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(2));
        _stream.Dispose();
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
