using System.Buffers;

namespace StreamGuard.Tests.Support;

/// <summary>
/// Builds a <see cref="ReadOnlySequence{T}"/> with every byte in its own segment, like Kestrel's
/// <c>BytePerSegmentTestSequenceFactory</c>: the worst case for code that must handle split data.
/// </summary>
/// <remarks>
/// Each byte sits in the middle of a three-byte array whose outer bytes are poison (0xEE), so code that reads
/// past a segment's slice sees garbage rather than the next byte. Test-only: it allocates two objects per byte.
/// </remarks>
internal static class BytePerSegmentSequence
{
    private const byte Poison = 0xEE;

    public static ReadOnlySequence<byte> Create(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return ReadOnlySequence<byte>.Empty;
        var first = new Segment(Slot(data[0]), 0);
        Segment last = first;
        for (int i = 1; i < data.Length; i++)
        {
            last = last.Append(Slot(data[i]));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>
    /// Splits <paramref name="data"/> into segments of the given sizes (the last one takes the rest).
    /// </summary>
    public static ReadOnlySequence<byte> Chunked(ReadOnlyMemory<byte> data, ReadOnlySpan<int> sizes)
    {
        if (data.IsEmpty) return ReadOnlySequence<byte>.Empty;
        int taken = 0;
        Segment? first = null, last = null;
        for (int i = 0; taken < data.Length; i++)
        {
            int size = i < sizes.Length ? Math.Min(sizes[i], data.Length - taken) : data.Length - taken;
            ReadOnlyMemory<byte> piece = data.Slice(taken, size);
            taken += size;
            if (last is null) last = first = new Segment(piece, 0);
            else last = last.Append(piece);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>A sequence of <paramref name="count"/> empty segments: zero bytes, yet not a single segment.</summary>
    public static ReadOnlySequence<byte> EmptySegments(int count)
    {
        var first = new Segment(ReadOnlyMemory<byte>.Empty, 0);
        Segment last = first;
        for (int i = 1; i < count; i++) last = last.Append(ReadOnlyMemory<byte>.Empty);
        return new ReadOnlySequence<byte>(first, 0, last, 0);
    }

    private static ReadOnlyMemory<byte> Slot(byte value) => new byte[] { Poison, value, Poison }.AsMemory(1, 1);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
