using StreamGuard.Kafka;

namespace StreamGuard.Cli.Hosting;

/// <summary>
/// The settings of <c>streamguard run</c>, bound from configuration and validated (<see cref="RunConfiguration"/>);
/// each default is its option's (<see cref="RunOptionTable"/>).
/// </summary>
internal sealed record RunOptions
{
    public required string Bootstrap { get; init; }

    public required string Policy { get; init; }

    public string Group { get; init; } = RunOptionTable.Group.Default!;

    public string? AuditKey { get; init; }

    /// <summary>The audit key in force before the last rotation, if any.</summary>
    public string? RetiredAuditKey { get; init; }

    public string? TopicPrefix { get; init; }

    /// <summary>How each agency's output topics are named (<see cref="TopicNames.AgencyTemplate"/>).</summary>
    public string TopicTemplate { get; init; } = RunOptionTable.TopicTemplate.Default!;

    /// <summary>Partitions of an agency topic the worker creates; 0 = the broker's default.</summary>
    public int TopicPartitions { get; init; } = RunOptionTable.TopicPartitions.Default!.Value;

    /// <summary>Replication factor of an agency topic the worker creates; 0 = the broker's default.</summary>
    public int TopicReplication { get; init; } = RunOptionTable.TopicReplication.Default!.Value;

    public int CommitIntervalMs { get; init; } = RunOptionTable.CommitIntervalMs.Default!.Value;

    public int CommitBatch { get; init; } = RunOptionTable.CommitBatch.Default!.Value;

    public IReadOnlyDictionary<string, string> Kafka { get; init; } =
        new Dictionary<string, string>(StringComparer.Ordinal);

    public ProcessingMode Processing { get; init; } = RunOptionTable.Processing.Default;

    public string? TransactionalId { get; init; }

    public int StatsIntervalS { get; init; } = RunOptionTable.StatsIntervalS.Default!.Value;

    public int ReloadIntervalMs { get; init; } = RunOptionTable.ReloadIntervalMs.Default!.Value;

    /// <summary>Where /metrics, /healthz and /readyz are served (<c>http://host:port</c>); null = not served.</summary>
    public string? MetricsUrl { get; init; }

    /// <summary>Longest the consume loop may go without polling before /healthz fails.</summary>
    public int LivenessTimeoutS { get; init; } = RunOptionTable.LivenessTimeoutS.Default!.Value;

    /// <summary>Where metrics are also exported by OTLP (an absolute http(s) URL); null = not exported.</summary>
    public string? OtlpEndpoint { get; init; }
}
