using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamGuard.Parsing.Scan;

/// <summary>
/// The member names of the last event of one kind, in order, as the exact bytes <c>"name":</c>. Producers write
/// their members in the same order every time, so the scanner first checks whether the next bytes are the name the
/// last event had in this place (one or two word comparisons) instead of finding the string's end and looking the
/// name up. On a miss the name is found as usual and replaces the one learnt. Equal bytes mean the same name: the
/// scanner only runs on events without escapes, so the quote in those bytes closes the name. Per parser (a parser
/// is single-threaded); nothing allocated after construction.
/// </summary>
internal sealed class MemberLayout
{
    private const int Places = 16;
    private readonly Token[] _tokens = new Token[Places];

    private struct Token
    {
        public ulong First, Last; // the first and last 8 (or 4) bytes of "name":
        public int Length;        // 0: nothing learnt
        public int Member;
    }

    /// <summary>
    /// If the bytes at position <paramref name="i"/> of the event <paramref name="p"/> (<paramref name="n"/> bytes)
    /// are the name learnt for <paramref name="ordinal"/> and its colon, moves past them and gives that name's
    /// member: its first and last 8 bytes (under 8: 4) compared as words.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTake(int ordinal, ref byte p, int n, ref int i, out int member)
    {
        member = -1;
        if ((uint)ordinal >= Places) return false;
        ref Token t = ref _tokens[ordinal];
        int length = t.Length;
        if (length == 0 || length > n - i) return false;
        ref byte at = ref Unsafe.Add(ref p, i);
        bool same = length >= 8
            ? Unsafe.ReadUnaligned<ulong>(ref at) == t.First &&
                Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref at, length - 8)) == t.Last
            : Unsafe.ReadUnaligned<uint>(ref at) == (uint)t.First &&
                Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref at, length - 4)) == (uint)t.Last;
        if (!same) return false;
        i += length;
        member = t.Member;
        return true;
    }

    /// <summary>
    /// Remembers the name found at <paramref name="ordinal"/> when it stands as <c>"name":</c> (compact); names of
    /// 14 bytes and more are not learnt (their token would not fit two words).
    /// </summary>
    public void Learn(int ordinal, ReadOnlySpan<byte> s, int nameStart, int nameLength, int member)
    {
        if ((uint)ordinal >= Places) return;
        ref Token t = ref _tokens[ordinal];
        int n = nameLength + 3, at = nameStart - 1;
        if (nameLength == 0 || n > 16 || at + n > s.Length || s[at + n - 1] != ':')
        {
            t.Length = 0;
            return;
        }
        ref byte p = ref Unsafe.Add(ref MemoryMarshal.GetReference(s), at);
        if (n >= 8)
        {
            t.First = Unsafe.ReadUnaligned<ulong>(ref p);
            t.Last = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, n - 8));
        }
        else
        {
            t.First = Unsafe.ReadUnaligned<uint>(ref p);
            t.Last = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, n - 4));
        }
        t.Length = n;
        t.Member = member;
    }
}
