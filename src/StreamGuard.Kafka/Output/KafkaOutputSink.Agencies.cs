using Confluent.Kafka;
using StreamGuard.Engine;

namespace StreamGuard.Kafka;

/// <summary>
/// Each agency's output topics, one per <see cref="OutputKind"/>, with their counts: made once per agency when its
/// policy is put in force (<see cref="AddAgencies"/>, after the worker made sure the topics exist), found per output
/// by the agency id's bytes without allocating.
/// </summary>
public sealed partial class KafkaOutputSink
{
    private readonly Dictionary<byte[], AgencyTopics> _agencies = new(AgencyIdComparer.Instance);
    private readonly Dictionary<byte[], AgencyTopics>.AlternateLookup<ReadOnlySpan<byte>> _agencyLookup;
    // The same entries in the order they were added, replaced (never changed) when one is added: scrapes read it from
    // other threads.
    private AgencyTopics[] _agencyList = [];
    private long _unrouted;

    /// <summary>
    /// Outputs addressed to an agency that is not in any policy put in force (a query's claimed requester that is no
    /// agency): produced nowhere, since no topic of theirs was made and a topic must never be named by input.
    /// </summary>
    public long Unrouted => Interlocked.Read(ref _unrouted);

    /// <summary>
    /// Makes the topic-partitions of every agency of <paramref name="policy"/> (retired ones included) that has none
    /// yet; the worker calls it once the agencies' topics exist, before the policy is in force.
    /// </summary>
    public void AddAgencies(CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        for (int i = 0; i < policy.Agencies.Count; i++) AddAgency(policy.Agencies.IdText(i));
    }

    /// <summary>Makes agency <paramref name="agency"/>'s topic-partitions, if it has none yet.</summary>
    public void AddAgency(string agency)
    {
        byte[] id = System.Text.Encoding.UTF8.GetBytes(agency);
        if (_agencies.ContainsKey(id)) return;
        var topics = new AgencyTopics(id, agency, _topics);
        _agencies.Add(id, topics);
        Volatile.Write(ref _agencyList, [.. _agencyList, topics]);
    }

    /// <summary>The topics of agency <paramref name="agency"/>; <see cref="AgencyTopics.None"/> when it has none.
    /// </summary>
    private AgencyTopics TopicsOf(ReadOnlySpan<byte> agency) =>
        _agencyLookup.TryGetValue(agency, out AgencyTopics? topics) ? topics : AgencyTopics.None;

    /// <summary>One agency's topic-partition and counts per <see cref="OutputKind"/> (indexed by the kind).</summary>
    private sealed class AgencyTopics
    {
        /// <summary>Stands for an agency without topics: its outputs are not produced.</summary>
        public static readonly AgencyTopics None = new();

        public AgencyTopics(byte[] id, string idText, TopicNames topics)
        {
            Id = id;
            IdText = idText;
            ByKind = new TopicPartition[TopicNames.Kinds.Count];
            foreach (OutputKind kind in TopicNames.Kinds)
            {
                ByKind[(int)kind] = new TopicPartition(topics.ForAgency(kind, idText), Partition.Any);
            }
        }

        private AgencyTopics()
        {
            Id = [];
            IdText = "";
            ByKind = [];
        }

        /// <summary>The agency id's bytes, also the value of header sg-recipient.</summary>
        public byte[] Id { get; }

        public string IdText { get; }

        public TopicPartition[] ByKind { get; }

        // Written by the worker's thread only, read by scrapes (see _producedTo).
        public long[] Records { get; } = new long[TopicNames.Kinds.Count];

        public long[] Bytes { get; } = new long[TopicNames.Kinds.Count];
    }

    /// <summary>Agency ids by content, looked up by span (<see cref="Dictionary{TKey,TValue}.AlternateLookup{T}"/>).
    /// </summary>
    private sealed class AgencyIdComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>,
        byte[]>
    {
        public static readonly AgencyIdComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
