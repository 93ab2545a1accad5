using StreamGuard.Engine;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// What every step of one <c>streamguard bench</c> run shares: the cluster, policy, sampling and tuning.
/// </summary>
internal sealed record BenchSettings
{
    public required string Bootstrap { get; init; }
    public bool Embedded { get; init; }
    public MockCluster? Cluster { get; init; }
    public required CompiledPolicy Policy { get; init; }
    public required byte[] AuditKey { get; init; }
    public int Partitions { get; init; }

    /// <summary>Partitions of each agency's output topic: a transaction adds every partition it writes, so what an
    /// agency's topics have together, not each alone, is what compares with the pipes' one topic.</summary>
    public int AgencyPartitions { get; init; }
    public int Sample { get; init; }
    public int ReaderFetchWaitMs { get; init; }
    public int AckSample { get; init; }
    public double Warmup { get; init; }
    public double Duration { get; init; }
    public double MaxP99Ms { get; init; }
    public TimeSpan CommitInterval { get; init; }
    public int CommitBatch { get; init; }
    public required Dictionary<string, string> Kafka { get; init; }
    public required string RunId { get; init; }
}
