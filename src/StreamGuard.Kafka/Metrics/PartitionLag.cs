namespace StreamGuard.Kafka;

/// <summary>Records of one input partition not yet consumed by the worker.</summary>
public readonly record struct PartitionLag(string Topic, int Partition, long Lag);
