using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StreamGuard.Parsing.Scan;

/// <summary>
/// The scanner's first pass: one vector pass over the event that marks every quote in a bitmap of one bit per byte,
/// and declines what the walk cannot take alone.
/// </summary>
internal static class QuoteClassifier
{
    /// <summary>
    /// Sets a bit in <paramref name="quotes"/> for every <c>"</c>, and returns false when the event has a backslash
    /// (an escape: the scanner leaves those to Utf8JsonReader), a control character other than whitespace, or
    /// whitespace control characters (tab, CR, LF) inside a string. With no backslash every quote opens or closes a
    /// string, so "inside a string" is the prefix parity of the quote bits. <paramref name="ascii"/>: no byte is
    /// 0x80 or above.
    /// </summary>
    public static bool Classify(ReadOnlySpan<byte> s, Span<ulong> quotes, out bool ascii)
    {
        ascii = false;
        Vector256<byte> high = Vector256<byte>.Zero; // OR of every byte: its top bit says whether any is >= 0x80
        ref byte start = ref MemoryMarshal.GetReference(s);
        ulong insideCarry = 0; // all ones when the previous word ended inside a string
        Span<byte> tail = s.Length < 64 ? stackalloc byte[64] : default; // zeroed: the padding of a short event
        int words = (s.Length + 63) >> 6;
        for (int w = 0; w < words; w++)
        {
            int at = w << 6;
            // The word's 64 bytes: in place; for the last, partial word the 64 bytes that end the event (overlapping
            // the word before, shifted so that bit 0 is byte `at`) or a zero-padded copy of a short event (masked).
            scoped ref byte word = ref Unsafe.Add(ref start, at);
            int shift = 0;
            ulong valid = ulong.MaxValue;
            if (at + 64 > s.Length)
            {
                if (s.Length >= 64)
                {
                    word = ref Unsafe.Add(ref start, s.Length - 64);
                    shift = at + 64 - s.Length;
                }
                else
                {
                    s.CopyTo(tail);
                    word = ref MemoryMarshal.GetReference(tail);
                    valid = (1UL << s.Length) - 1;
                }
            }
            Vector256<byte> lo = Vector256.LoadUnsafe(ref word);
            Vector256<byte> hi = Vector256.LoadUnsafe(ref word, 32);
            Vector256<byte> quote = Vector256.Create((byte)'"');
            ulong q = (Bits(Vector256.Equals(lo, quote), Vector256.Equals(hi, quote)) >> shift) & valid;
            ulong special = (Bits(Special(lo), Special(hi)) >> shift) & valid;
            high |= lo | hi;
            quotes[w] = q;
            if (special == 0)
            {
                insideCarry = (ulong)-(long)(BitOperations.PopCount(q) & 1) ^ insideCarry;
                continue;
            }
            // Rare: a backslash or a control character somewhere in these 64 bytes. Which, from the same bytes.
            Vector256<byte> backslash = Vector256.Create((byte)'\\');
            ulong b = Bits(Vector256.Equals(lo, backslash), Vector256.Equals(hi, backslash)) >> shift;
            ulong ws = Bits(Whitespace(lo), Whitespace(hi)) >> shift;
            if ((special & b) != 0) return false;
            // Control characters: whitespace outside strings only.
            if ((special & ~ws) != 0) return false;
            // Prefix XOR: bit k set when an odd number of quotes precede or sit at k (k itself a quote: an opening
            // one).
            ulong inside = q;
            inside ^= inside << 1;
            inside ^= inside << 2;
            inside ^= inside << 4;
            inside ^= inside << 8;
            inside ^= inside << 16;
            inside ^= inside << 32;
            inside ^= insideCarry;
            if ((special & inside) != 0) return false;
            insideCarry = (ulong)((long)inside >> 63);
        }
        ascii = high.ExtractMostSignificantBits() == 0;
        return true;

        static ulong Bits(Vector256<byte> lo, Vector256<byte> hi) =>
            lo.ExtractMostSignificantBits() | (ulong)hi.ExtractMostSignificantBits() << 32;

        // A backslash or a byte below 0x20.
        static Vector256<byte> Special(Vector256<byte> v) =>
            Vector256.LessThan(v, Vector256.Create((byte)0x20)) | Vector256.Equals(v, Vector256.Create((byte)'\\'));

        static Vector256<byte> Whitespace(Vector256<byte> v) =>
            Vector256.Equals(v, Vector256.Create((byte)'\t')) | Vector256.Equals(v, Vector256.Create((byte)'\n')) |
            Vector256.Equals(v, Vector256.Create((byte)'\r'));
    }
}
