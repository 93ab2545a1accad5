using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamGuard.Text;

/// <summary>
/// Interns short UTF-8 identifiers (camera ids, agency ids) to dense small integers without allocating
/// on lookup. Open addressing over a power-of-two table; names live in one growing byte arena.
/// </summary>
/// <remarks>
/// Adding a new name may grow the arena or table (amortised); a known name costs a hash and a compare.
/// <see cref="Capacity"/> bounds the number of names so hostile input cannot grow it without limit.
/// Not thread-safe: each worker owns its own.
/// </remarks>
internal sealed class Utf8Interner
{
    private byte[] _arena = new byte[4096];
    private int _arenaUsed;
    private (int Start, int Length)[] _names = new (int, int)[64];
    private int[] _slots = new int[128]; // 0 = empty, else id + 1
    private int _count;

    public Utf8Interner(int capacity = 1 << 20) => Capacity = capacity;

    /// <summary>Most names this interner accepts; <see cref="TryIntern"/> returns false beyond it.</summary>
    public int Capacity { get; }

    public int Count => _count;

    /// <summary>Finds a name; returns -1 when it is not interned.</summary>
    public int Find(ReadOnlySpan<byte> name)
    {
        int mask = _slots.Length - 1;
        int slot = (int)Hash(name) & mask;
        while (true)
        {
            int entry = _slots[slot];
            if (entry == 0) return -1;
            if (NameOf(entry - 1).SequenceEqual(name)) return entry - 1;
            slot = (slot + 1) & mask;
        }
    }

    /// <summary>Returns the id of a name, adding it when new. False when the interner is full.</summary>
    public bool TryIntern(ReadOnlySpan<byte> name, out int id)
    {
        int mask = _slots.Length - 1;
        int slot = (int)Hash(name) & mask;
        while (true)
        {
            int entry = _slots[slot];
            if (entry == 0) break;
            if (NameOf(entry - 1).SequenceEqual(name)) { id = entry - 1; return true; }
            slot = (slot + 1) & mask;
        }
        if (_count >= Capacity) { id = -1; return false; }

        id = _count;
        if (_arenaUsed + name.Length > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + name.Length));
        }
        name.CopyTo(_arena.AsSpan(_arenaUsed));
        if (_count == _names.Length) Array.Resize(ref _names, _names.Length * 2);
        _names[_count] = (_arenaUsed, name.Length);
        _arenaUsed += name.Length;
        _slots[slot] = id + 1;
        _count++;
        if (_count * 2 > _slots.Length) Rehash();
        return true;
    }

    /// <summary>The UTF-8 bytes of an interned name.</summary>
    public ReadOnlySpan<byte> NameOf(int id)
    {
        var (start, length) = _names[id];
        return new ReadOnlySpan<byte>(_arena, start, length);
    }

    private void Rehash()
    {
        var slots = new int[_slots.Length * 2];
        int mask = slots.Length - 1;
        for (int id = 0; id < _count; id++)
        {
            int slot = (int)Hash(NameOf(id)) & mask;
            while (slots[slot] != 0) slot = (slot + 1) & mask;
            slots[slot] = id + 1;
        }
        _slots = slots;
    }

    // Per process, like HashCode's: which names share a slot cannot be worked out from outside, so camera ids chosen
    // by a hostile producer cannot be lined up into one long probe sequence.
    private static readonly ulong s_seedX = (ulong)Random.Shared.NextInt64();
    private static readonly ulong s_seedY = (ulong)Random.Shared.NextInt64();

    /// <summary>
    /// Ids are short (agencies, cameras: 4-16 bytes): up to 16 bytes are read as two overlapping words and mixed
    /// with one 64×64→128-bit multiply (wyhash's "mum") instead of <see cref="HashCode.AddBytes"/>, which stays for
    /// longer names (bench/RESULTS.md).
    /// </summary>
    private static uint Hash(ReadOnlySpan<byte> name)
    {
        int n = name.Length;
        ref byte b = ref MemoryMarshal.GetReference(name);
        ulong x, y;
        if (n >= 8)
        {
            if (n > 16)
            {
                var hash = new HashCode();
                hash.AddBytes(name);
                return (uint)hash.ToHashCode();
            }
            x = Unsafe.ReadUnaligned<ulong>(ref b);
            y = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, n - 8));
        }
        else if (n >= 4)
        {
            x = Unsafe.ReadUnaligned<uint>(ref b);
            y = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, n - 4));
        }
        else
        {
            x = n == 0 ? 0 : (ulong)b << 16 | (ulong)Unsafe.Add(ref b, n >> 1) << 8 | Unsafe.Add(ref b, n - 1);
            y = 0;
        }
        UInt128 product = (UInt128)(x ^ s_seedX) * (y ^ s_seedY ^ (ulong)n);
        ulong h = (ulong)product ^ (ulong)(product >> 64);
        return (uint)(h ^ (h >> 32));
    }
}
