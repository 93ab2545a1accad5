using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamGuard.Parsing;

/// <summary>
/// Clinger's fast path for the plain decimals cameras send (<c>-?(0|[1-9]d*)(.d+)?</c>, at most 15 digits): the
/// digits as an exact integer divided by an exact power of ten is the correctly rounded double. Anything else (an
/// exponent, more digits, bad syntax) is not read here: the scanner declines the event, and the reader fallback
/// takes <see cref="System.Text.Json.Utf8JsonReader.TryGetDouble"/>, so both paths give the same doubles.
/// </summary>
internal static class PlainDecimal
{
    /// <summary>Longest mantissa read: up to 15 digits an integer and a power of ten are exact doubles.</summary>
    private const int MaxDigits = 15;

    private static ReadOnlySpan<double> PowersOf10 =>
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// A plain decimal at <paramref name="position"/> of the <paramref name="n"/> bytes at <paramref name="p"/>;
    /// the position moves past it. False, the position unchanged, for anything else.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ref byte p, int n, ref int position, out double value)
    {
        value = 0;
        int i = position;
        bool negative = (uint)i < (uint)n && Unsafe.Add(ref p, i) == '-';
        if (negative) i++;
        if ((uint)i >= (uint)n) return false;
        uint d = (uint)(Unsafe.Add(ref p, i) - '0');
        if (d > 9) return false;
        long mantissa = d;
        int integerStart = i;
        i++;
        if (d == 0)
        {
            if ((uint)i < (uint)n && (uint)(Unsafe.Add(ref p, i) - '0') <= 9) return false; // a leading zero
        }
        else
        {
            Digits(ref p, n, ref i, ref mantissa);
        }
        int digits = i - integerStart, fraction = 0;
        if ((uint)i < (uint)n && Unsafe.Add(ref p, i) == '.')
        {
            int first = ++i;
            Digits(ref p, n, ref i, ref mantissa);
            fraction = i - first;
            if (fraction == 0) return false;
            digits += fraction;
        }
        // Past 15 digits the mantissa may have lost digits (or wrapped).
        if (digits > MaxDigits) return false;
        if ((uint)i < (uint)n && (Unsafe.Add(ref p, i) | 0x20) == 'e') return false;
        value = fraction > 0 ? mantissa / PowersOf10[fraction] : mantissa;
        if (negative) value = -value;
        position = i;
        return true;
    }

    /// <summary>A whole number token, as the reader validated it, when it is a plain decimal.</summary>
    public static bool TryRead(ReadOnlySpan<byte> number, out double value)
    {
        int i = 0;
        return TryRead(ref MemoryMarshal.GetReference(number), number.Length, ref i, out value) && i == number.Length;
    }

    /// <summary>
    /// The digits from <paramref name="i"/> on, appended to <paramref name="mantissa"/> (which wraps harmlessly past
    /// 18 digits: the caller counts them and rejects more than 15). One at a time: eight at once by word arithmetic
    /// was tried and dropped (bench/RESULTS.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Digits(ref byte p, int n, ref int i, ref long mantissa)
    {
        uint d;
        while ((uint)i < (uint)n && (d = (uint)(Unsafe.Add(ref p, i) - '0')) <= 9)
        {
            mantissa = unchecked((mantissa * 10) + d);
            i++;
        }
    }
}
