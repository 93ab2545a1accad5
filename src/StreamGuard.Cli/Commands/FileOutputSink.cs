using System.Buffers;
using System.Text.Json;
using StreamGuard.Output;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// Replay's outputs: one NDJSON file per topic of SPEC §8, each line the topic's value. The engine's thread copies
/// lines into large chunks; a full chunk is handed to a writer thread, which writes the files, so the engine's
/// thread does no file I/O while the writer keeps up.
/// </summary>
/// <remarks>
/// <para>
/// A fixed number of chunks circulates, allocated up front and reused: when every one is full and queued,
/// the engine's thread waits for the writer (back-pressure, bounded memory). Copying a line allocates nothing.
/// </para>
/// <para>
/// One writer takes the chunks in the order they were handed over, so each file holds exactly its lines in the
/// order the engine gave them, whatever the chunk size.
/// </para>
/// <para>
/// A failed write (a full disk) stops the writer; the engine thread's next hand-over, or <see cref="Complete"/>,
/// throws it as an <see cref="OutputWriteException"/> naming the file. Only <see cref="Complete"/> guarantees that
/// every line is in its file: replay calls it before it reports success. <see cref="Dispose"/> without it (replay
/// failing on another error) stops the writer and closes the files without waiting for the queue.
/// </para>
/// </remarks>
internal sealed class FileOutputSink : IOutputSink, IDisposable
{
    /// <summary>
    /// A chunk the writer copies into the page cache while it is still in a processor cache: larger chunks (1 MiB)
    /// made that copy several times dearer (bench/RESULTS.md, "Replay: where the time goes").
    /// </summary>
    public const int DefaultChunkBytes = 256 << 10;

    public const int DefaultChunkCount = 12;

    private readonly OutputFile _shared, _alerts, _results, _purges, _audit, _dlq;
    private readonly OutputFile[] _files;
    private readonly ArrayBufferWriter<byte> _sharedLine = new(1024);
    private readonly Utf8JsonWriter _sharedWriter;
    private readonly Thread _writer;

    // Everything below is guarded by _lock. The queue is a ring as long as the number of chunks: a chunk is in it
    // at most once, so it never overflows.
    private readonly object _lock = new();
    private readonly Stack<byte[]> _free;
    private readonly Pending[] _queue;
    private int _queueHead;
    private int _queueCount;
    private bool _draining;
    private bool _abandoned;
    private OutputWriteException? _failure;

    private bool _completed;
    private bool _disposed;

    /// <summary>The files a sink writes in its directory, each replaced when the sink is made.</summary>
    public static readonly string[] FileNames =
        ["shared.ndjson", "alerts.ndjson", "results.ndjson", "purges.ndjson", "audit.ndjson", "dlq.ndjson"];

    /// <param name="directory">created if missing; the six files in it are created or truncated.</param>
    /// <param name="chunkBytes">size of one chunk: the writer's unit of work.</param>
    /// <param name="chunkCount">chunks in circulation, at least one more than the files (each file keeps one).</param>
    public FileOutputSink(string directory, int chunkBytes = DefaultChunkBytes, int chunkCount = DefaultChunkCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkCount, 7);
        _free = new Stack<byte[]>(chunkCount);
        // All up front: how many a run needs depends on how far the writer falls behind, which no warm-up can tell.
        for (int i = 0; i < chunkCount; i++) _free.Push(new byte[chunkBytes]);
        _queue = new Pending[chunkCount];
        Directory.CreateDirectory(directory);
        _files = new OutputFile[6];
        try
        {
            _files[0] = _shared = new OutputFile(directory, FileNames[0]);
            _files[1] = _alerts = new OutputFile(directory, FileNames[1]);
            _files[2] = _results = new OutputFile(directory, FileNames[2]);
            _files[3] = _purges = new OutputFile(directory, FileNames[3]);
            _files[4] = _audit = new OutputFile(directory, FileNames[4]);
            _files[5] = _dlq = new OutputFile(directory, FileNames[5]);
        }
        catch
        {
            foreach (OutputFile? f in _files) f?.Stream.Dispose();
            throw;
        }
        _sharedWriter = new Utf8JsonWriter(_sharedLine, RecordJson.Options);
        _writer = new Thread(WriteLoop) { Name = "replay output writer", IsBackground = true };
        _writer.Start();
    }

    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
        ReadOnlySpan<byte> read)
    {
        ObjectDisposedException.ThrowIf(_completed || _disposed, this);
        if (!RecordJson.IsPlain(recipient) || !RecordJson.IsPlain(decisionId))
        {
            // Something to escape (never in an agency id the policy accepted, nor in a hex id): the writer does it.
            _sharedLine.ResetWrittenCount();
            _sharedWriter.Reset(_sharedLine);
            _sharedWriter.WriteStartObject();
            _sharedWriter.WriteString("recipient"u8, recipient);
            _sharedWriter.WriteString("decision_id"u8, decisionId);
            _sharedWriter.WritePropertyName("read"u8);
            _sharedWriter.WriteRawValue(read, skipInputValidation: true);
            _sharedWriter.WriteEndObject();
            _sharedWriter.Flush();
            Line(_shared, _sharedLine.WrittenSpan);
            return;
        }
        // The same bytes the writer would write, copied straight into the chunk.
        Append(_shared, "{\"recipient\":\""u8);
        Append(_shared, recipient);
        Append(_shared, "\",\"decision_id\":\""u8);
        Append(_shared, decisionId);
        Append(_shared, "\",\"read\":"u8);
        Append(_shared, read);
        Append(_shared, "}\n"u8);
    }

    public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert) =>
        Line(_alerts, alert);

    public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) =>
        Line(_results, result);

    public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) =>
        Line(_purges, notice);

    public void Audit(int partition, ReadOnlySpan<byte> block) => Line(_audit, block);

    public void DeadLetter(ReadOnlySpan<byte> record) => Line(_dlq, record);

    /// <summary>Appends <paramref name="value"/> and a newline, handing over each chunk it fills.</summary>
    private void Line(OutputFile file, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_completed || _disposed, this);
        Append(file, value);
        Append(file, "\n"u8);
    }

    /// <summary>Appends <paramref name="value"/>, handing over each chunk it fills.</summary>
    private void Append(OutputFile file, ReadOnlySpan<byte> value)
    {
        while (true)
        {
            file.Chunk ??= TakeChunk();
            int room = file.Chunk.Length - file.Length;
            if (value.Length < room)
            {
                value.CopyTo(file.Chunk.AsSpan(file.Length));
                file.Length += value.Length;
                return;
            }
            // The value (or what is left of it) fills the chunk: the rest goes in the next one.
            value[..room].CopyTo(file.Chunk.AsSpan(file.Length));
            file.Length += room;
            value = value[room..];
            HandOver(file);
            if (value.IsEmpty) return;
        }
    }

    private byte[] TakeChunk()
    {
        lock (_lock)
        {
            // Chunks not held by a file are queued or being written: the writer frees one, or fails.
            while (_free.Count == 0 && _failure is null) Monitor.Wait(_lock);
            if (_failure is not null) throw _failure;
            return _free.Pop();
        }
    }

    private void HandOver(OutputFile file)
    {
        lock (_lock)
        {
            if (_failure is not null) throw _failure;
            _queue[(_queueHead + _queueCount) % _queue.Length] = new Pending(file, file.Chunk!, file.Length);
            _queueCount++;
            Monitor.PulseAll(_lock);
        }
        file.Chunk = null;
        file.Length = 0;
    }

    /// <summary>
    /// Writes every line still in a chunk, waits for the writer to finish and closes the files. Throws an
    /// <see cref="OutputWriteException"/> if any write or close failed: only after it returns are the files whole.
    /// </summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_completed || _disposed, this);
        _completed = true;
        foreach (OutputFile file in _files)
        {
            if (file.Length > 0) HandOver(file);
        }
        StopWriter(abandon: false);
        if (_failure is not null) throw _failure;
        foreach (OutputFile file in _files)
        {
            try
            {
                file.Stream.Dispose();
            }
            catch (IOException e)
            {
                throw new OutputWriteException(file.Path, e);
            }
        }
    }

    private void StopWriter(bool abandon)
    {
        lock (_lock)
        {
            _draining = true;
            _abandoned |= abandon;
            Monitor.PulseAll(_lock);
        }
        _writer.Join();
    }

    /// <summary>
    /// The writer thread: writes queued chunks in order until drained or abandoned, or until a write fails.
    /// </summary>
    private void WriteLoop()
    {
        while (true)
        {
            Pending next;
            lock (_lock)
            {
                while (_queueCount == 0 && !_draining) Monitor.Wait(_lock);
                if (_abandoned || _queueCount == 0) return;
                next = _queue[_queueHead];
            }
            try
            {
                next.File.Stream.Write(next.Chunk, 0, next.Length);
            }
            catch (Exception e)
            {
                // Kept for the engine's thread, which throws it at its next hand-over or at Complete.
                lock (_lock)
                {
                    _failure = new OutputWriteException(next.File.Path, e);
                    Monitor.PulseAll(_lock);
                }
                return;
            }
            lock (_lock)
            {
                _queue[_queueHead] = default;
                _queueHead = (_queueHead + 1) % _queue.Length;
                _queueCount--;
                _free.Push(next.Chunk);
                Monitor.PulseAll(_lock);
            }
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_completed) StopWriter(abandon: true);
        _sharedWriter.Dispose();
        foreach (OutputFile file in _files) file.Stream.Dispose();
    }

    /// <summary>A chunk handed to the writer: the file it belongs to and how much of it is filled.</summary>
    private readonly record struct Pending(OutputFile File, byte[] Chunk, int Length);

    /// <summary>One output file and the chunk being filled for it (null until its next line).</summary>
    private sealed class OutputFile(string directory, string name)
    {
        public string Path { get; } = System.IO.Path.Combine(directory, name);

        public FileStream Stream { get; } = Create(System.IO.Path.Combine(directory, name));

        /// <summary>
        /// Creates the file anew, replacing a regular file already there. Not truncated: a file truncated to empty
        /// (as <see cref="FileMode.Create"/> does, even a new one) is written out by ext4 when it is closed, its
        /// guard for files replaced by truncation, so closing it would wait for the whole output to be allocated
        /// and queued to the disk. A symbolic link at the path is followed and its target truncated.
        /// Unbuffered (bufferSize 0): the writer hands whole chunks to the operating system.
        /// </summary>
        private static FileStream Create(string path)
        {
            var existing = new FileInfo(path);
            bool replace = !existing.Exists || existing.LinkTarget is null;
            if (replace && existing.Exists) existing.Delete();
            return new FileStream(path, replace ? FileMode.CreateNew : FileMode.Create, FileAccess.Write,
                FileShare.Read, 0);
        }

        public byte[]? Chunk { get; set; }

        public int Length { get; set; }
    }
}

/// <summary>Writing one of replay's output files failed (on the writer thread): the file and the cause.</summary>
internal sealed class OutputWriteException(string path, Exception inner)
    : IOException($"cannot write {path}: {inner.Message}", inner)
{
    public string Path { get; } = path;
}
