namespace StreamGuard.Engine;

/// <summary>
/// Hashes an (owner &lt;&lt; 32 | recipient) key. The default hash of a <see cref="long"/> is its two halves XORed,
/// which for small agency indexes puts 200,000 pairs of a 5,000-agency policy on 8,191 hash values (chains of 25 on
/// average); Fibonacci hashing spreads them.
/// </summary>
internal sealed class PairKeyComparer : IEqualityComparer<long>
{
    public static readonly PairKeyComparer Instance = new();

    public bool Equals(long x, long y) => x == y;

    public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
}
