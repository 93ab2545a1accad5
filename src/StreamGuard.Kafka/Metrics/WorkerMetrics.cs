using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Parsing;

namespace StreamGuard.Kafka;

/// <summary>
/// A worker's metrics as <see cref="System.Diagnostics.Metrics"/> instruments on a <see cref="Meter"/> named
/// <see cref="MeterName"/>: any exporter (Prometheus, OTLP, <c>dotnet-counters</c>) can collect them.
/// </summary>
/// <remarks>
/// The hot path stays as it was: the counters are the ones the worker, its sink and the engine already keep (plain
/// increments on the worker's thread), published by observable instruments that read them when a collector asks. Only
/// the decision-latency histogram is recorded per event, with no tags (nothing allocated), and the
/// acknowledgement-latency histogram per sampled event (<see cref="WorkerOptions.AckLatencySampleEvery"/>), from
/// whichever thread saw the last acknowledgement. Consumer lag comes from librdkafka's statistics (each partition's
/// last stable offset against the worker's position), refreshed every <c>statistics.interval.ms</c> (5 s unless set
/// with <c>--kafka</c>).
/// </remarks>
public sealed class WorkerMetrics
{
    /// <summary>The meter's name: what an exporter subscribes to.</summary>
    public const string MeterName = "StreamGuard";

    /// <summary>Bucket bounds of the decision-latency histogram, in seconds (10 µs to 1 s).</summary>
    public static IReadOnlyList<double> LatencyBuckets { get; } =
    [
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    ];

    private static readonly string[] s_codes =
        [.. Enumerable.Range(0, DecisionCodes.Count).Select(c => DecisionCodes.Text((DecisionCode)c))];
    private static readonly ParseError[] s_errors = [.. Enum.GetValues<ParseError>().Where(e => e != ParseError.None)];
    private static readonly string[] s_partitionLabels =
        [.. Enumerable.Range(0, 1024).Select(p => p.ToString(CultureInfo.InvariantCulture))];

    private readonly StreamGuardWorker _worker;
    private readonly Histogram<double> _latency;
    private readonly double _secondsPerTick = 1.0 / Stopwatch.Frequency;
    private PartitionLag[] _lag = [];

    /// <summary>Creates the instruments on <paramref name="meter"/> and attaches them to <paramref name="worker"/>
    /// (before it runs).</summary>
    public WorkerMetrics(StreamGuardWorker worker, Meter meter)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(meter);
        _worker = worker;
        _latency = meter.CreateHistogram<double>("streamguard.decision.duration", "s",
            "Time from an event's arrival in the worker to its outputs handed to the producer",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        worker.AckLatencyMicros.Mirror = meter.CreateHistogram<double>("streamguard.output.ack.duration", "s",
            "Time from an event's arrival in the worker to the broker's acknowledgement of the last of its outputs " +
            "(every Nth event with outputs)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        meter.CreateObservableCounter("streamguard.events.consumed", ConsumedMeasurements,
            description: "Records consumed, by input topic");
        meter.CreateObservableCounter("streamguard.events.produced", ProducedMeasurements,
            description: "Records produced, by output topic");
        meter.CreateObservableCounter("streamguard.decisions", DecisionMeasurements,
            description: "Decisions, by decision code");
        meter.CreateObservableCounter("streamguard.dead_letters", DeadLetterMeasurements,
            description: "Records sent to the dead-letter topic, by error");
        meter.CreateObservableCounter("streamguard.purges", () => _worker.Engine?.Stats.Purges ?? 0,
            description: "Reads purged at the end of their retention");
        meter.CreateObservableCounter("streamguard.commits", () => _worker.Commits,
            description: "Transactions committed (exactly-once) or offset commits (at-least-once)");
        meter.CreateObservableCounter("streamguard.transaction.aborts", () => _worker.Aborts,
            description: "Transactions aborted");
        meter.CreateObservableGauge("streamguard.store.reads", () => (long)(_worker.Engine?.StoredReadCount ?? 0),
            description: "Reads held in the in-memory store (inside retention or held)");
        meter.CreateObservableGauge("streamguard.hotlist.entries", () => (long)(_worker.Engine?.Hotlists.Count ?? 0),
            description: "Hotlist entries loaded");
        meter.CreateObservableGauge("streamguard.holds", () => (long)(_worker.Engine?.Holds.Count ?? 0),
            description: "Legal holds in force");
        meter.CreateObservableGauge("streamguard.consumer.lag", LagMeasurements,
            description: "Records not yet consumed, by input partition (last stable offset minus the worker's " +
                "position)");
        meter.CreateObservableGauge("streamguard.ready", () => _worker.Ready ? 1 : 0,
            description: "1 when partitions are assigned and restored");
        worker.Metrics = this;
    }

    /// <summary>Consumer lag per assigned partition, as of the last librdkafka statistics.</summary>
    public IReadOnlyList<PartitionLag> Lag => Volatile.Read(ref _lag);

    internal void RecordDecision(long stopwatchTicks) => _latency.Record(stopwatchTicks * _secondsPerTick);

    /// <summary>librdkafka's statistics JSON (on the worker's thread, every statistics.interval.ms): the lag of each
    /// partition the worker consumes.</summary>
    internal void OnStatistics(string json)
    {
        try
        {
            Volatile.Write(ref _lag, ParseLag(json));
        }
        catch (JsonException)
        {
            // A statistics document we cannot read leaves the last lag figures in place; consumption goes on.
        }
    }

    /// <summary>
    /// Each partition the application consumes (<c>desired</c>): its end (<c>ls_offset</c>, read_committed) minus the
    /// worker's position (<c>app_offset</c>, else the committed offset, else the oldest offset); partitions without
    /// both figures (not fetched from yet) are left out.
    /// </summary>
    internal static PartitionLag[] ParseLag(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("topics", out JsonElement topics)
            || topics.ValueKind != JsonValueKind.Object) return [];
        var lag = new List<PartitionLag>();
        foreach (JsonProperty topic in topics.EnumerateObject())
        {
            if (!topic.Value.TryGetProperty("partitions", out JsonElement partitions)
                || partitions.ValueKind != JsonValueKind.Object) continue;
            foreach (JsonProperty p in partitions.EnumerateObject())
            {
                JsonElement v = p.Value;
                // "-1": internal
                if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int partition)) continue;
                if (!v.TryGetProperty("desired", out JsonElement desired)
                    || desired.ValueKind != JsonValueKind.True) continue;
                long end = Long(v, "ls_offset");
                // Nothing consumed yet in this session: the committed offset, else (auto.offset.reset=earliest) the
                // oldest record.
                long position = Long(v, "app_offset");
                if (position < 0) position = Long(v, "committed_offset");
                if (position < 0) position = Long(v, "lo_offset");
                if (end < 0 || position < 0) continue;
                lag.Add(new PartitionLag(topic.Name, partition, Math.Max(0, end - position)));
            }
        }
        return [.. lag];

        static long Long(JsonElement e, string name) =>
            e.TryGetProperty(name, out JsonElement x) && x.ValueKind == JsonValueKind.Number
                && x.TryGetInt64(out long n) ? n : -1;
    }

    private IEnumerable<Measurement<long>> ConsumedMeasurements() =>
        _worker.ConsumedByTopic().Select(
            t => new Measurement<long>(t.Value, new KeyValuePair<string, object?>("topic", t.Key)));

    private IEnumerable<Measurement<long>> ProducedMeasurements() =>
        _worker.Sink?.ProducedByTopic().Select(
            t => new Measurement<long>(t.Value, new KeyValuePair<string, object?>("topic", t.Key))) ?? [];

    private IEnumerable<Measurement<long>> DecisionMeasurements()
    {
        if (_worker.Engine?.Stats is not { } stats) yield break;
        for (int c = 0; c < s_codes.Length; c++) yield return new(stats.Decisions((DecisionCode)c),
            new KeyValuePair<string, object?>("code", s_codes[c]));
    }

    private IEnumerable<Measurement<long>> DeadLetterMeasurements()
    {
        if (_worker.Engine?.Stats is not { } stats) yield break;
        foreach (ParseError e in s_errors) yield return new(stats.DeadLettersOf(e),
            new KeyValuePair<string, object?>("error", ParseErrorCodes.Code(e)));
    }

    private IEnumerable<Measurement<long>> LagMeasurements()
    {
        foreach (PartitionLag l in Lag)
        {
            string partition = (uint)l.Partition < (uint)s_partitionLabels.Length ? s_partitionLabels[l.Partition]
                : l.Partition.ToString(CultureInfo.InvariantCulture);
            yield return new(l.Lag, new KeyValuePair<string, object?>("topic", l.Topic),
                new KeyValuePair<string, object?>("partition", partition));
        }
    }
}
