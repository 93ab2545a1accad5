using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamGuard.Parsing;

/// <summary>
/// One event type's member names with a perfect hash over (length, first byte, last byte): finding a member costs
/// one table read and one comparison, however many names the type has.
/// </summary>
internal sealed class MemberNames
{
    private const int Slots = 64;
    private readonly byte[][] _names;
    private readonly sbyte[] _slots = new sbyte[Slots];
    private readonly uint _multiplier;
    private readonly bool _linear;

    public MemberNames(string[] names)
    {
        _names = [.. names.Select(System.Text.Encoding.UTF8.GetBytes)];
        for (uint k = 1; k < 1u << 16; k++)
        {
            uint m = k * 0x9E3779B9u; // spread the candidates over the whole word: the slot is the top 6 bits
            Array.Fill(_slots, (sbyte)-1);
            bool perfect = true;
            for (int i = 0; i < _names.Length && perfect; i++)
            {
                ref sbyte slot = ref _slots[Slot(_names[i], m)];
                perfect = slot < 0;
                slot = (sbyte)i;
            }
            if (perfect)
            {
                _multiplier = m;
                return;
            }
        }
        // Two names alike in length, first and last byte: no multiplier separates them; find by comparing each.
        _linear = true;
    }

    public int Count => _names.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(ReadOnlySpan<byte> name, uint multiplier) =>
        (int)(((uint)name.Length * 0x9E3779B1u + name[0] * multiplier + name[^1] * 0x85EBCA6Bu) >> 26);

    /// <summary>The member's index, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty) return -1;
        if (_linear)
        {
            for (int k = 0; k < _names.Length; k++)
            {
                if (name.SequenceEqual(_names[k])) return k;
            }
            return -1;
        }
        int i = _slots[Slot(name, _multiplier)];
        return i >= 0 && Same(name, _names[i]) ? i : -1;
    }

    /// <summary>Short spans compared as two overlapping words each (member names are at most 16 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Same(ReadOnlySpan<byte> a, byte[] b)
    {
        int n = a.Length;
        if (n != b.Length) return false;
        if (n > 16 || n < 4) return a.SequenceEqual(b);
        ref byte x = ref MemoryMarshal.GetReference(a);
        ref byte y = ref MemoryMarshal.GetArrayDataReference(b);
        if (n >= 8)
        {
            return Unsafe.ReadUnaligned<ulong>(ref x) == Unsafe.ReadUnaligned<ulong>(ref y) &&
                Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref x, n - 8)) ==
                Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref y, n - 8));
        }
        return Unsafe.ReadUnaligned<uint>(ref x) == Unsafe.ReadUnaligned<uint>(ref y) &&
            Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref x, n - 4)) ==
            Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref y, n - 4));
    }
}
