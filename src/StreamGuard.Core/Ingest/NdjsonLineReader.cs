using System.Buffers;
using System.IO.Pipelines;

namespace StreamGuard.Ingest;

/// <summary>What <see cref="NdjsonLineReader.ReadAsync"/> found.</summary>
public enum LineStatus : byte
{
    /// <summary>A line within the size cap (CR and LF removed).</summary>
    Ok,

    /// <summary>
    /// A line over the size cap: <see cref="NdjsonLineReader.Line"/> holds its first bytes only; the rest was skipped.
    /// </summary>
    Oversized,
}

/// <summary>
/// Reads NDJSON from a <see cref="PipeReader"/>, one line at a time, never consuming a partial line. CRLF and LF
/// both end a line; blank lines are skipped (but counted); a final line without a newline is read; a line over
/// the cap is reported as <see cref="LineStatus.Oversized"/> and skipped to its end, then reading goes on.
/// </summary>
/// <remarks>
/// <see cref="Line"/> is copied into a buffer owned by the reader (no allocation per line) and is valid until
/// the next call. Bytes are not decoded here: invalid UTF-8 is the parser's to reject.
/// </remarks>
public sealed class NdjsonLineReader
{
    private readonly PipeReader _reader;
    private readonly int _maxLineBytes;
    private readonly byte[] _line;
    private int _lineLength;
    private bool _completed;

    public NdjsonLineReader(PipeReader reader, int maxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _reader = reader;
        _maxLineBytes = maxLineBytes;
        _line = new byte[maxLineBytes];
    }

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    public LineStatus Status { get; private set; }

    /// <summary>The line last returned (for an oversized line: its first <c>maxLineBytes</c> bytes).</summary>
    public ReadOnlyMemory<byte> Line => _line.AsMemory(0, _lineLength);

    /// <summary>Reads the next non-blank line. False at the end of input.</summary>
    public async ValueTask<bool> ReadAsync(CancellationToken cancellationToken = default)
    {
        bool skipping = false;
        while (!_completed)
        {
            ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            while (true)
            {
                if (skipping)
                {
                    SequencePosition? newline = buffer.PositionOf((byte)'\n');
                    if (newline is null) { buffer = buffer.Slice(buffer.End); break; }
                    buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
                    _reader.AdvanceTo(buffer.Start);
                    return true; // the oversized line was reported when skipping began
                }
                if (!TryReadLine(ref buffer, out ReadOnlySequence<byte> line))
                {
                    // +1: a line of exactly the cap may still be followed by its CR before the LF arrives.
                    if (buffer.Length > _maxLineBytes + 1)
                    {
                        // No newline within the cap: report the line, keep its head, skip the rest.
                        LineNumber++;
                        Status = LineStatus.Oversized;
                        buffer.Slice(0, _maxLineBytes).CopyTo(_line);
                        _lineLength = _maxLineBytes;
                        skipping = true;
                        continue;
                    }
                    break;
                }
                LineNumber++;
                if (IsBlank(line)) continue;
                Accept(line);
                _reader.AdvanceTo(buffer.Start);
                return true;
            }

            if (result.IsCompleted)
            {
                _completed = true;
                if (skipping) { _reader.AdvanceTo(buffer.End); return true; }
                if (!buffer.IsEmpty)
                {
                    // A final line without a newline.
                    LineNumber++;
                    ReadOnlySequence<byte> last = TrimCr(buffer);
                    bool blank = IsBlank(last);
                    if (!blank) Accept(last);
                    _reader.AdvanceTo(buffer.End);
                    return !blank;
                }
                _reader.AdvanceTo(buffer.End);
                return false;
            }
            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
        return false;
    }

    private void Accept(in ReadOnlySequence<byte> line)
    {
        if (line.Length > _maxLineBytes)
        {
            Status = LineStatus.Oversized;
            line.Slice(0, _maxLineBytes).CopyTo(_line);
            _lineLength = _maxLineBytes;
            return;
        }
        Status = LineStatus.Ok;
        line.CopyTo(_line);
        _lineLength = (int)line.Length;
    }

    /// <summary>
    /// Takes one complete line (up to LF, without LF and a CR before it) from the front of
    /// <paramref name="buffer"/>. Leaves <paramref name="buffer"/> unchanged when no complete line is there.
    /// </summary>
    public static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        if (buffer.IsSingleSegment)
        {
            ReadOnlySpan<byte> span = buffer.FirstSpan;
            int index = span.IndexOf((byte)'\n');
            if (index < 0) { line = default; return false; }
            line = TrimCr(buffer.Slice(0, index));
            buffer = buffer.Slice(index + 1);
            return true;
        }
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> found, (byte)'\n'))
        {
            line = default;
            return false;
        }
        line = TrimCr(found);
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    private static ReadOnlySequence<byte> TrimCr(in ReadOnlySequence<byte> line)
    {
        if (line.IsEmpty) return line;
        ReadOnlySequence<byte> lastByte = line.Slice(line.Length - 1);
        return lastByte.FirstSpan[0] == '\r' ? line.Slice(0, line.Length - 1) : line;
    }

    private static bool IsBlank(in ReadOnlySequence<byte> line)
    {
        foreach (ReadOnlyMemory<byte> segment in line)
        {
            foreach (byte b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return false;
            }
        }
        return true;
    }
}
