namespace StreamGuard.Engine;

/// <summary>Where an input event came from: a Kafka topic/partition/offset, or a file and line.</summary>
/// <remarks>
/// <see cref="Partition"/> also names the audit chain the event's decisions go on. An event forwarded to its plate's
/// partition (repartitioning) is decided on that partition's chain but still names where it first arrived:
/// <see cref="Label"/>, written instead of the position.
/// </remarks>
public readonly record struct EventSource(string Origin, int Partition, long Position, bool IsFile)
{
    /// <summary>
    /// Where the event first arrived, when that is not <c>Origin/Partition/Position</c> (a forwarded event).
    /// </summary>
    public string? Label { get; init; }

    public static EventSource Kafka(string topic, int partition, long offset) => new(topic, partition, offset, false);

    public static EventSource File(string path, long line) => new(path, 0, line, true);

    /// <summary>Writes <c>topic/partition/offset</c> or <c>file:line</c> (or <see cref="Label"/>).</summary>
    public override string ToString() =>
        Label ?? (IsFile ? $"{Origin}:{Position}" : $"{Origin}/{Partition}/{Position}");

    /// <summary>Formats like <see cref="ToString"/> without allocating.</summary>
    public bool TryFormat(Span<char> destination, out int written)
    {
        if (Label is not null)
        {
            written = Label.Length;
            return Label.AsSpan().TryCopyTo(destination);
        }
        System.Globalization.CultureInfo invariant = System.Globalization.CultureInfo.InvariantCulture;
        return IsFile
            ? destination.TryWrite(invariant, $"{Origin}:{Position}", out written)
            : destination.TryWrite(invariant, $"{Origin}/{Partition}/{Position}", out written);
    }
}
