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
/// <para>The hot path stays as it was: the counters are the ones the worker, its sink and the engine already keep
/// (plain increments on the worker's thread), published by observable instruments that read them when a collector
/// asks. Only the decision-latency histogram is recorded per event, with no tags (nothing allocated), and the
/// acknowledgement-latency histogram per sampled event (<see cref="WorkerOptions.AckLatencySampleEvery"/>), from
/// whichever thread saw the last acknowledgement. Consumer lag comes from librdkafka's statistics (each partition's
/// last stable offset against the worker's position), refreshed every <c>statistics.interval.ms</c> (5 s unless set
/// with <c>--kafka</c>).</para>
/// <para>Names, units and attributes follow OpenTelemetry's conventions: the two messaging counters are the
/// semantic conventions' <c>messaging.client.consumed.messages</c> and <c>messaging.client.sent.messages</c>; every
/// figure about a topic carries <c>messaging.system</c> and <c>messaging.destination.name</c> (and, per partition,
/// <c>messaging.destination.partition.id</c>); dead letters carry their error as <c>error.type</c>; units are UCUM
/// (<c>s</c>, <c>By</c>) or an annotation in braces (<c>{message}</c>). StreamGuard's own figures stay under
/// <c>streamguard.</c> with short attributes of their own (<c>code</c>, <c>result</c>).</para>
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
    private static readonly KeyValuePair<string, object?> s_kafka = new("messaging.system", "kafka");

    private readonly StreamGuardWorker _worker;
    private readonly Histogram<double> _latency;
    private readonly double _secondsPerTick = 1.0 / Stopwatch.Frequency;
    private readonly KeyValuePair<string, object?> _group;
    private PartitionLag[] _lag = [];

    /// <summary>Creates the instruments on <paramref name="meter"/> and attaches them to <paramref name="worker"/>
    /// (before it runs).</summary>
    public WorkerMetrics(StreamGuardWorker worker, Meter meter)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(meter);
        _worker = worker;
        _group = new("messaging.consumer.group.name", worker.Options.GroupId);
        _latency = meter.CreateHistogram<double>("streamguard.decision.duration", "s",
            "Time from an event's arrival in the worker to its outputs handed to the producer",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        worker.AckLatencyMicros.Mirror = meter.CreateHistogram<double>("streamguard.output.ack.duration", "s",
            "Time from an event's arrival in the worker to the broker's acknowledgement of the last of its outputs " +
            "(every Nth event with outputs)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        meter.CreateObservableCounter("messaging.client.consumed.messages", ConsumedMeasurements, "{message}",
            "Records consumed, by input topic");
        meter.CreateObservableCounter("messaging.client.sent.messages", ProducedMeasurements, "{message}",
            "Records produced, by output topic");
        meter.CreateObservableCounter("streamguard.output.size", ProducedBytesMeasurements, "By",
            "Bytes of the records produced (keys and values), by output topic");
        meter.CreateObservableCounter("streamguard.decisions", DecisionMeasurements, "{decision}",
            "Decisions, by decision code");
        meter.CreateObservableCounter("streamguard.dead_letters", DeadLetterMeasurements, "{message}",
            "Records sent to the dead-letter topic, by error (error.type)");
        meter.CreateObservableCounter("streamguard.purges", () => _worker.Engine?.Stats.Purges ?? 0, "{read}",
            "Reads purged at the end of their retention");
        meter.CreateObservableCounter("streamguard.commits", () => _worker.Commits, "{commit}",
            "Transactions committed (exactly-once) or offset commits (at-least-once)");
        meter.CreateObservableCounter("streamguard.transaction.aborts", () => _worker.Aborts, "{transaction}",
            "Transactions aborted");
        meter.CreateObservableCounter("streamguard.policy.reloads", ReloadMeasurements, "{reload}",
            "Reloaded policy versions, by result: applied (put in force) or refused (invalid, or their agencies' " +
            "topics could not be made)");
        meter.CreateObservableGauge("streamguard.store.reads", () => (long)(_worker.Engine?.StoredReadCount ?? 0),
            "{read}", "Reads held in the in-memory store (inside retention or held)");
        meter.CreateObservableGauge("streamguard.store.size", () => _worker.Engine?.StoreBytes ?? 0, "By",
            "Bytes the in-memory read store holds (the reads as received plus their index, as allocated): what " +
            "grows with resident reads (operator guide, Sizing)");
        meter.CreateObservableGauge("streamguard.hotlist.entries", () => (long)(_worker.Engine?.Hotlists.Count ?? 0),
            "{entry}", "Hotlist entries loaded");
        meter.CreateObservableGauge("streamguard.holds", () => (long)(_worker.Engine?.Holds.Count ?? 0), "{hold}",
            "Legal holds in force");
        meter.CreateObservableGauge("streamguard.consumer.lag", LagMeasurements, "{message}",
            "Records not yet consumed, by input partition (last stable offset minus the worker's position)");
        meter.CreateObservableGauge("streamguard.ready", () => _worker.Ready ? 1 : 0, "{worker}",
            "1 when the tables are loaded and partitions are assigned and restored (what /readyz answers)");
        meter.CreateObservableGauge("streamguard.poll.age", () => WorkerHealth.PollAgeSeconds(_worker), "s",
            "Time since the consume loop last polled (0 before its first poll and during a restore): what /healthz " +
            "judges");
        meter.CreateObservableGauge("streamguard.commit.age", () => WorkerHealth.CommitAgeSeconds(_worker), "s",
            "Time since the last commit went through (an idle worker commits nothing, so it grows then too)");
        meter.CreateObservableGauge("streamguard.policy.info", PolicyMeasurements, null,
            "1, with the hash of the policy in force and its version number (1 at start, one more per reload put " +
            "in force)");
        meter.CreateObservableGauge("streamguard.build.info", () => new Measurement<int>(1,
                new("version", BuildInfo.Version), new("commit", BuildInfo.Commit),
                new("statutes", BuildInfo.StatuteTableHash)), null,
            "1, with the build's version, commit and the hash of its statute-rule table (as policy_load states them)");
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

    private KeyValuePair<string, object?> Topic(string topic) => new("messaging.destination.name", topic);

    private IEnumerable<Measurement<long>> ConsumedMeasurements() =>
        _worker.ConsumedByTopic().Select(t => new Measurement<long>(t.Value, s_kafka, Topic(t.Key), _group));

    private IEnumerable<Measurement<long>> ProducedMeasurements() =>
        _worker.Sink?.ProducedByTopic().Select(t => new Measurement<long>(t.Value, s_kafka, Topic(t.Key))) ?? [];

    private IEnumerable<Measurement<long>> ProducedBytesMeasurements() =>
        _worker.Sink?.ProducedBytesByTopic().Select(t => new Measurement<long>(t.Value, s_kafka, Topic(t.Key))) ?? [];

    private IEnumerable<Measurement<long>> DecisionMeasurements()
    {
        if (_worker.Engine?.Stats is not { } stats) yield break;
        for (int c = 0; c < s_codes.Length; c++) yield return new(stats.Decisions((DecisionCode)c),
            new KeyValuePair<string, object?>("code", s_codes[c]));
    }

    private IEnumerable<Measurement<long>> DeadLetterMeasurements()
    {
        if (_worker.Engine?.Stats is not { } stats) yield break;
        KeyValuePair<string, object?> topic = Topic(_worker.Options.Topics.DeadLetter);
        foreach (ParseError e in s_errors) yield return new(stats.DeadLettersOf(e),
            new KeyValuePair<string, object?>("error.type", ParseErrorCodes.Code(e)), s_kafka, topic);
    }

    private IEnumerable<Measurement<long>> ReloadMeasurements() =>
    [
        new(_worker.PolicyReloadsApplied, new KeyValuePair<string, object?>("result", "applied")),
        new(_worker.PolicyReloadsRefused, new KeyValuePair<string, object?>("result", "refused")),
    ];

    private IEnumerable<Measurement<long>> PolicyMeasurements()
    {
        if (_worker.Engine?.Policy is not { } policy) yield break;
        yield return new(1, new KeyValuePair<string, object?>("policy", policy.Hash),
            new KeyValuePair<string, object?>("version", _worker.PolicyVersion.ToString(CultureInfo.InvariantCulture)));
    }

    private IEnumerable<Measurement<long>> LagMeasurements()
    {
        foreach (PartitionLag l in Lag)
        {
            string partition = (uint)l.Partition < (uint)s_partitionLabels.Length ? s_partitionLabels[l.Partition]
                : l.Partition.ToString(CultureInfo.InvariantCulture);
            yield return new(l.Lag, s_kafka, Topic(l.Topic),
                new KeyValuePair<string, object?>("messaging.destination.partition.id", partition), _group);
        }
    }
}
