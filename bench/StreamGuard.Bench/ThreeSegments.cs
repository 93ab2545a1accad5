using System.Buffers;

namespace StreamGuard.Bench;

/// <summary>
/// Events cut into three segments at fixed fractions, as a pipe or fetch buffer boundary would cut them.
/// </summary>
internal static class ThreeSegments
{
    public static ReadOnlySequence<byte>[] Split(byte[][] events)
    {
        var result = new ReadOnlySequence<byte>[events.Length];
        for (int i = 0; i < events.Length; i++)
        {
            ReadOnlyMemory<byte> e = events[i];
            int a = e.Length / 3, b = 2 * e.Length / 3;
            var first = new Segment(e[..a], 0);
            Segment last = first.Append(e[a..b]).Append(e[b..]);
            result[i] = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
        return result;
    }

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
