using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamGuard.Parsing.Scan;

/// <summary>
/// Skips an unknown member's value that is not a string (the walk reads those itself): an object of compact string
/// members by its quotes alone, any other value by a syntax-checking walk over the same steps as the scanner's
/// (<see cref="Walk"/>). Both return the position after the value, or -1, and are called with the position only,
/// so the scanner's own position and cursor stay in registers.
/// </summary>
internal static class ValueSkipper
{
    /// <summary>Deepest nesting skipped; deeper values go to the reader.</summary>
    public const int MaxDepth = 16;

    /// <summary>
    /// An object of string members written without whitespace (<c>{"make":"TOYOTA","model":"CAMRY"}</c>, the usual
    /// unknown object) at <paramref name="open"/>, skipped from quote to quote in the bitmap: between a name's
    /// closing quote and its value's opening quote only <c>:</c>, between a value and the next name only <c>,</c>,
    /// after the last value <c>}</c>. The position after the object, or -1 for anything else (whitespace, another
    /// type of value, nesting, an empty object, no object), which <see cref="SkipValue"/> then takes or rejects.
    /// </summary>
    public static int SkipCompactStringObject(ReadOnlySpan<byte> s, ReadOnlySpan<ulong> quotes, int open)
    {
        if ((uint)(open + 1) >= (uint)s.Length || s[open] != '{') return -1;
        int word = (open + 1) >> 6;
        ulong bits = quotes[word] & (ulong.MaxValue << ((open + 1) & 63));
        int expect = open + 1; // where the next name's opening quote must stand
        while (true)
        {
            // Four quotes a member: name open, name close, value open, value close.
            if (!Walk.NextQuote(quotes, ref word, ref bits, out int nameOpen) || nameOpen != expect ||
                !Walk.NextQuote(quotes, ref word, ref bits, out int nameClose) ||
                !Walk.NextQuote(quotes, ref word, ref bits, out int valueOpen) || valueOpen != nameClose + 2 ||
                s[nameClose + 1] != ':' ||
                !Walk.NextQuote(quotes, ref word, ref bits, out int valueClose) || valueClose + 1 >= s.Length)
            {
                return -1;
            }
            byte after = s[valueClose + 1];
            if (after == '}') return valueClose + 2;
            if (after != ',') return -1;
            expect = valueClose + 2;
        }
    }

    /// <summary>
    /// One value of any type at <paramref name="position"/>, its syntax checked: the position after it, or -1.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its locals' addresses are taken: kept out of the scanner's frame
    public static int SkipValue(ReadOnlySpan<byte> s, ReadOnlySpan<ulong> quotes, int position)
    {
        int i = position;
        Walk.CursorAt(quotes, i, out int word, out ulong bits);
        return Value(ref MemoryMarshal.GetReference(s), s.Length, ref i, quotes, ref word, ref bits, 0) ? i : -1;
    }

    private static bool Value(
        ref byte p, int n, ref int i, ReadOnlySpan<ulong> quotes, ref int word, ref ulong bits, int depth)
    {
        if ((uint)i >= (uint)n) return false;
        switch (Unsafe.Add(ref p, i))
        {
            case (byte)'"':
                return Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out _, out _);
            case (byte)'t':
                return Literal(ref p, n, ref i, "true"u8);
            case (byte)'f':
                return Literal(ref p, n, ref i, "false"u8);
            case (byte)'n':
                return Literal(ref p, n, ref i, "null"u8);
            case (byte)'{':
                if (depth >= MaxDepth) return false;
                i++;
                Walk.SkipWhitespace(ref p, n, ref i);
                if (Walk.Take(ref p, n, ref i, '}')) return true;
                while (true)
                {
                    if (!Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out _, out _)) return false;
                    Walk.SkipWhitespace(ref p, n, ref i);
                    if (!Walk.Take(ref p, n, ref i, ':')) return false;
                    Walk.SkipWhitespace(ref p, n, ref i);
                    if (!Member(ref p, n, ref i, quotes, ref word, ref bits, depth + 1)) return false;
                    Walk.SkipWhitespace(ref p, n, ref i);
                    if (Walk.Take(ref p, n, ref i, '}')) return true;
                    if (!Walk.Take(ref p, n, ref i, ',')) return false;
                    Walk.SkipWhitespace(ref p, n, ref i);
                }
            case (byte)'[':
                if (depth >= MaxDepth) return false;
                i++;
                Walk.SkipWhitespace(ref p, n, ref i);
                if (Walk.Take(ref p, n, ref i, ']')) return true;
                while (true)
                {
                    if (!Member(ref p, n, ref i, quotes, ref word, ref bits, depth + 1)) return false;
                    Walk.SkipWhitespace(ref p, n, ref i);
                    if (Walk.Take(ref p, n, ref i, ']')) return true;
                    if (!Walk.Take(ref p, n, ref i, ',')) return false;
                    Walk.SkipWhitespace(ref p, n, ref i);
                }
            default:
                return Number(ref p, n, ref i);
        }
    }

    /// <summary>A value inside an object or array: a string (the usual case) without the call and the switch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Member(
        ref byte p, int n, ref int i, ReadOnlySpan<ulong> quotes, ref int word, ref ulong bits, int depth) =>
        (uint)i < (uint)n && Unsafe.Add(ref p, i) == '"'
            ? Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out _, out _)
            : Value(ref p, n, ref i, quotes, ref word, ref bits, depth);

    /// <summary>Called with <paramref name="i"/> inside the event.</summary>
    private static bool Literal(ref byte p, int n, ref int i, ReadOnlySpan<byte> literal)
    {
        if (!MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref p, i), n - i).StartsWith(literal)) return false;
        i += literal.Length;
        return true;
    }

    /// <summary>A JSON number (RFC 8259 §6 grammar) at the position; the position moves past it.</summary>
    private static bool Number(ref byte p, int n, ref int i)
    {
        if ((uint)i < (uint)n && Unsafe.Add(ref p, i) == '-') i++;
        if ((uint)i >= (uint)n) return false;
        if (Unsafe.Add(ref p, i) == '0') i++;
        else if ((uint)(Unsafe.Add(ref p, i) - '1') <= 8) SkipDigits(ref p, n, ref i, i + 1);
        else return false;
        if ((uint)i < (uint)n && Unsafe.Add(ref p, i) == '.')
        {
            int fraction = i + 1;
            SkipDigits(ref p, n, ref i, fraction);
            if (i == fraction) return false;
        }
        if ((uint)i < (uint)n && (Unsafe.Add(ref p, i) | 0x20) == 'e')
        {
            i++;
            if ((uint)i < (uint)n && Unsafe.Add(ref p, i) is (byte)'+' or (byte)'-') i++;
            int exponent = i;
            SkipDigits(ref p, n, ref i, exponent);
            if (i == exponent) return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SkipDigits(ref byte p, int n, ref int i, int from)
    {
        i = from;
        while ((uint)i < (uint)n && (uint)(Unsafe.Add(ref p, i) - '0') <= 9) i++;
    }
}
