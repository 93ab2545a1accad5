using System.Globalization;
using System.Text;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// What a run wrote to Kafka per input event, by kind of output topic (every agency's topics of a kind together):
/// messages, and bytes (key and value lengths; headers
/// and Kafka's framing not included). <c>bench</c> states it for StreamGuard and the pipes, <c>demo</c> for
/// StreamGuard: the number of messages per event is what the end-to-end throughput depends on most.
/// </summary>
internal sealed class BenchVolume
{
    /// <summary>Topic kinds: <see cref="BenchOutputProfile"/>'s, then the two repartition topics as one.</summary>
    public const int Repartition = BenchOutputProfile.Kinds, Kinds = BenchOutputProfile.Kinds + 1;

    public static readonly string[] KindNames = [.. BenchOutputProfile.KindNames, "repartition"];

    public long[] Messages { get; } = new long[Kinds];

    public long[] Bytes { get; } = new long[Kinds];

    /// <summary>Input events consumed while these were produced.</summary>
    public long Inputs { get; set; }

    public long TotalMessages => Messages.Sum();

    public long TotalBytes => Bytes.Sum();

    /// <summary>The worker's sink's counts (<see cref="KafkaOutputSink.ByTopic"/>) by kind: every agency's topics of
    /// one kind together.</summary>
    public static BenchVolume Of(KafkaOutputSink sink, TopicNames topics, long inputs)
    {
        var kindOf = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            [topics.Audit] = BenchOutputProfile.Audit, [topics.DeadLetter] = BenchOutputProfile.DeadLetter,
            [topics.RepartitionReads] = Repartition, [topics.RepartitionQueries] = Repartition,
        };
        var volume = new BenchVolume { Inputs = inputs };
        foreach (OutputTopicCount t in sink.ByTopic())
        {
            int kind = t.Kind switch
            {
                OutputKind.Shared => BenchOutputProfile.Shared,
                OutputKind.Alerts => BenchOutputProfile.Alerts,
                OutputKind.Results => BenchOutputProfile.Results,
                OutputKind.Purges => BenchOutputProfile.Purges,
                _ => kindOf[t.Topic],
            };
            volume.Messages[kind] += t.Records;
            volume.Bytes[kind] += t.Bytes;
        }
        return volume;
    }

    /// <summary>Adds one record of <paramref name="kind"/> (the pipe's thread, per record: no allocation).</summary>
    public void Count(int kind, byte[]? key, byte[]? value)
    {
        Messages[kind]++;
        Bytes[kind] += (key?.Length ?? 0) + (value?.Length ?? 0);
    }

    /// <summary>
    /// <c>shared 0.50 msg 162 B, alerts …, total 2.43 msg 1,812 B</c>: per input event, every kind, zeros included.
    /// </summary>
    public string PerEvent()
    {
        var text = new StringBuilder();
        double inputs = Math.Max(1, Inputs);
        for (int k = 0; k < Kinds; k++)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{KindNames[k]} {Messages[k] / inputs:F2} msg {Bytes[k] / inputs:N0} B, ");
        }
        text.Append(CultureInfo.InvariantCulture,
            $"total {TotalMessages / inputs:F2} msg {TotalBytes / inputs:N0} B");
        return text.ToString();
    }
}
