namespace StreamGuard.Engine;

/// <summary>Where an input event came from: a Kafka topic/partition/offset, or a file and line.</summary>
public readonly record struct EventSource(string Origin, int Partition, long Position, bool IsFile)
{
    public static EventSource Kafka(string topic, int partition, long offset) => new(topic, partition, offset, false);

    public static EventSource File(string path, long line) => new(path, 0, line, true);

    /// <summary>Writes <c>topic/partition/offset</c> or <c>file:line</c>.</summary>
    public override string ToString() => IsFile ? $"{Origin}:{Position}" : $"{Origin}/{Partition}/{Position}";

    /// <summary>Formats like <see cref="ToString"/> without allocating.</summary>
    public bool TryFormat(Span<char> destination, out int written) => IsFile
        ? destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Origin}:{Position}", out written)
        : destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Origin}/{Partition}/{Position}", out written);
}
