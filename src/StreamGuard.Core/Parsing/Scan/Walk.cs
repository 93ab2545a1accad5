using System.Numerics;
using System.Runtime.CompilerServices;

namespace StreamGuard.Parsing.Scan;

/// <summary>
/// The steps of the scanner's walk over the event <c>p</c> of <c>n</c> bytes at position <c>i</c>, as static
/// methods the JIT inlines, so that the walk's position and quote cursor stay in registers: a scanner struct passed
/// to calls lives in memory, and every step of its position is a store and a load. Every read is checked against
/// <c>n</c> first. The cursor over the quote bitmap is <c>word</c>, the word it is in, and <c>bits</c>, that word's
/// quotes not yet met.
/// </summary>
internal static class Walk
{
    /// <summary>
    /// Outside strings, the classifier let through no byte up to 0x20 but space, tab, CR and LF: one comparison each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SkipWhitespace(ref byte p, int n, ref int i)
    {
        while ((uint)i < (uint)n && Unsafe.Add(ref p, i) <= (byte)' ') i++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Take(ref byte p, int n, ref int i, char c)
    {
        if ((uint)i >= (uint)n || Unsafe.Add(ref p, i) != c) return false;
        i++;
        return true;
    }

    /// <summary>Only whitespace from <paramref name="i"/> to the end.</summary>
    public static bool AtEnd(ref byte p, int n, int i)
    {
        SkipWhitespace(ref p, n, ref i);
        return i == n;
    }

    /// <summary>The cursor at position <paramref name="i"/>: its word, and that word's quotes from i on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CursorAt(ReadOnlySpan<ulong> quotes, int i, out int word, out ulong bits)
    {
        word = i >> 6;
        bits = word < quotes.Length ? quotes[word] & (ulong.MaxValue << (i & 63)) : 0;
    }

    /// <summary>
    /// The next quote's position from the cursor. The walk meets every quote in order (each opens or closes a string
    /// it reads, skips, or takes as a learnt name), so a string's quotes are the cursor's next two: taking one clears
    /// the lowest bit of a register instead of loading the bitmap word at the position, which keeps the position out
    /// of the walk's dependency chain. False past the last quote.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool NextQuote(ReadOnlySpan<ulong> quotes, ref int word, ref ulong bits, out int position)
    {
        while (bits == 0)
        {
            if (++word >= quotes.Length)
            {
                position = 0;
                return false;
            }
            bits = quotes[word];
        }
        position = (word << 6) + BitOperations.TrailingZeroCount(bits);
        bits &= bits - 1;
        return true;
    }

    /// <summary>
    /// A string at the position: its content; the position moves past its closing quote. The cursor's next quote
    /// must be this one (a walk out of step falls back to the reader, never misreads); the one after closes the
    /// string (the classifier ruled out escapes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool String(
        ref byte p, int n, ref int i, ReadOnlySpan<ulong> quotes, ref int word, ref ulong bits,
        out int start, out int length)
    {
        start = i + 1;
        length = 0;
        if ((uint)i >= (uint)n || Unsafe.Add(ref p, i) != '"') return false;
        if (!NextQuote(quotes, ref word, ref bits, out int open) || open != i ||
            !NextQuote(quotes, ref word, ref bits, out int end))
        {
            return false;
        }
        length = end - start;
        i = end + 1;
        return true;
    }
}
