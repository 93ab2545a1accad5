using System.Runtime.CompilerServices;

namespace StreamGuard.Text;

/// <summary>
/// A normalised licence plate packed into a <see cref="ulong"/>: up to 10 symbols of 6 bits each,
/// first symbol in the highest bits, 0 meaning "no symbol". Symbols 1–10 are '0'–'9', 11–36 'A'–'Z'.
/// </summary>
/// <remarks>
/// Packing keeps plates comparable and hashable as integers with no string per read. Normalisation
/// (SPEC §2): ASCII letters upper-cased, digits kept, spaces, hyphens and dots removed; anything
/// else, or fewer than 1 or more than 10 symbols left, is an invalid plate.
/// </remarks>
public static class Plate
{
    public const int MaxLength = 10;

    /// <summary>Normalises and packs a plate as written in an event. Returns false for an invalid plate.</summary>
    public static bool TryPack(ReadOnlySpan<byte> utf8, out ulong packed)
    {
        ulong value = 0;
        int count = 0;
        foreach (byte b in utf8)
        {
            uint symbol;
            if ((uint)(b - '0') <= 9) symbol = (uint)(b - '0') + 1;
            else if ((uint)(b - 'A') <= 25) symbol = (uint)(b - 'A') + 11;
            else if ((uint)(b - 'a') <= 25) symbol = (uint)(b - 'a') + 11;
            else if (b is (byte)' ' or (byte)'-' or (byte)'.') continue;
            else { packed = 0; return false; }

            if (count == MaxLength) { packed = 0; return false; }
            value |= (ulong)symbol << (6 * (MaxLength - 1 - count));
            count++;
        }
        packed = value;
        return count != 0;
    }

    /// <summary>
    /// Writes the normalised text of a packed plate; returns the number of bytes written (at most 10).
    /// </summary>
    public static int Unpack(ulong packed, Span<byte> destination)
    {
        int n = 0;
        for (int i = 0; i < MaxLength; i++)
        {
            uint symbol = (uint)(packed >> (6 * (MaxLength - 1 - i))) & 0x3F;
            if (symbol == 0) break;
            destination[n++] = symbol <= 10 ? (byte)('0' + symbol - 1) : (byte)('A' + symbol - 11);
        }
        return n;
    }

    /// <summary>The normalised plate as a string (cold paths and tests only: it allocates).</summary>
    public static string ToText(ulong packed)
    {
        Span<byte> buffer = stackalloc byte[MaxLength];
        int n = Unpack(packed, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer[..n]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Length(ulong packed)
    {
        if (packed == 0) return 0;
        int trailingEmpty = System.Numerics.BitOperations.TrailingZeroCount(packed) / 6;
        return MaxLength - Math.Min(trailingEmpty, MaxLength);
    }
}
