namespace StreamGuard.Engine;

/// <summary>
/// The distinct sets of agencies reads were pushed to, each named by a small number that a stored read keeps (2 bytes)
/// so its purge notice reaches every agency that received it (SPEC §5, §6). Set 0 is the empty set.
/// </summary>
/// <remarks>
/// Sets are agency indexes, which stay stable across policy versions, so a set outlives the version that decided it.
/// They are few (per owner, the recipients its agreements allow) and kept for the process's life. Finding a set
/// allocates nothing once it is known. Not thread-safe.
/// </remarks>
internal sealed class RecipientSets
{
    /// <summary>The most distinct sets (a stored read names its set in 16 bits).</summary>
    public const int MaxSets = ushort.MaxValue;

    private readonly List<int[]> _sets = [[]];
    private readonly List<int> _nextWithHash = [-1];
    private readonly Dictionary<ulong, int> _firstWithHash = [];

    /// <summary>Distinct sets known, the empty one included.</summary>
    public int Count => _sets.Count;

    /// <summary>The agencies of set <paramref name="set"/>, ascending.</summary>
    public ReadOnlySpan<int> Agencies(int set) => _sets[set];

    /// <summary>
    /// The number of the set of <paramref name="agencies"/> (ascending, distinct), added if new; -1 when it is new and
    /// <see cref="MaxSets"/> sets are known already.
    /// </summary>
    public int Find(ReadOnlySpan<int> agencies)
    {
        if (agencies.IsEmpty) return 0;
        ulong hash = 14_695_981_039_346_656_037UL;
        foreach (int a in agencies) hash = (hash ^ (uint)a) * 1_099_511_628_211UL;
        if (_firstWithHash.TryGetValue(hash, out int first))
        {
            for (int s = first; s >= 0; s = _nextWithHash[s])
            {
                if (agencies.SequenceEqual(_sets[s])) return s;
            }
        }
        if (_sets.Count >= MaxSets) return -1;
        int added = _sets.Count;
        _sets.Add(agencies.ToArray());
        _nextWithHash.Add(_firstWithHash.TryGetValue(hash, out int next) ? next : -1);
        _firstWithHash[hash] = added;
        return added;
    }
}
