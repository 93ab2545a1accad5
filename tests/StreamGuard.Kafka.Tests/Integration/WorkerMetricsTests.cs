using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// The worker's instruments: nothing allocated per event, and librdkafka's statistics read into lag per partition.
/// </summary>
public sealed class WorkerMetricsTests
{
    [Fact]
    public void RecordingADecisionAllocatesNothingWhileOpenTelemetryCollects()
    {
        using var cluster = new KafkaTestCluster();
        using var policy = new TestPolicy();
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuard.Engine.StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var meter = new Meter(WorkerMetrics.MeterName + ".AllocationTest");
        var metrics = new WorkerMetrics(worker, meter);
        var exported = new List<Metric>();
        using MeterProvider provider =
            Sdk.CreateMeterProviderBuilder().AddMeter(meter.Name).AddInMemoryExporter(exported).Build();

        // 100 µs each, after a warm-up to optimised code.
        int warmUp = 1000 * SteadyAllocation.WarmUp(() => SteadyAllocation.Of(() => Record(1000)));
        long allocated = SteadyAllocation.Of(() => Record(100_000));
        // Nothing per event: the smallest object is 24 B, so one per event would be 2.4 MB here. A one-off of a few KB
        // was seen once under a parallel test load (not per event), hence less than a byte per event, not exactly 0.
        Assert.True(allocated < 100_000, $"{allocated:N0} B allocated over 100,000 recordings");

        provider.ForceFlush();
        Metric histogram = exported.Last(m => m.Name == "streamguard.decision.duration");
        var points = new List<MetricPoint>();
        foreach (ref readonly MetricPoint p in histogram.GetMetricPoints()) points.Add(p);
        Assert.Equal(warmUp + 100_000, points.Single().GetHistogramCount());

        void Record(int count)
        {
            for (int i = 0; i < count; i++) metrics.RecordDecision(Stopwatch.Frequency / 10_000);
        }
    }

    [Fact]
    public void AcknowledgementLatencyIsExportedAsAHistogramInSeconds()
    {
        using var cluster = new KafkaTestCluster();
        using var policy = new TestPolicy();
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuard.Engine.StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var meter = new Meter(WorkerMetrics.MeterName + ".AckTest");
        _ = new WorkerMetrics(worker, meter);
        var exported = new List<Metric>();
        using MeterProvider provider =
            Sdk.CreateMeterProviderBuilder().AddMeter(meter.Name).AddInMemoryExporter(exported).Build();

        worker.AckLatencyMicros.Record(Stopwatch.Frequency * 3 / 1000); // 3 ms
        worker.AckLatencyMicros.Record(Stopwatch.Frequency * 7 / 1000); // 7 ms

        provider.ForceFlush();
        Metric histogram = exported.Last(m => m.Name == "streamguard.output.ack.duration");
        Assert.Equal("s", histogram.Unit);
        var points = new List<MetricPoint>();
        foreach (ref readonly MetricPoint p in histogram.GetMetricPoints()) points.Add(p);
        Assert.Equal(2, points.Single().GetHistogramCount());
        Assert.Equal(0.010, points.Single().GetHistogramSum(), precision: 6);
        Assert.Equal(2, worker.AckLatencyMicros.TotalCount);
        Assert.Equal(3000, worker.AckLatencyMicros.Snapshot().GetValueAtPercentile(0), tolerance: 3);
    }

    [Fact]
    public void LagIsTheLastStableOffsetMinusThePositionOfEachDesiredPartition()
    {
        // librdkafka's statistics, one partition per line: each such line is split between two raw-string pieces
        // before "app_offset" (a piece ends mid-line and the next one goes on from there).
        const string stats = """
            {"name":"c","topics":{
              "alpr.reads":{"topic":"alpr.reads","partitions":{
                "0":{"partition":0,"desired":true,"hi_offset":120,"ls_offset":100,"lo_offset":0,
            """ + """
            "app_offset":60,"committed_offset":50},
                "1":{"partition":1,"desired":true,"hi_offset":10,"ls_offset":10,"lo_offset":4,
            """ + """
            "app_offset":-1001,"committed_offset":7},
                "2":{"partition":2,"desired":true,"hi_offset":10,"ls_offset":10,"lo_offset":4,
            """ + """
            "app_offset":-1001,"committed_offset":-1001},
                "3":{"partition":3,"desired":false,"hi_offset":99,"ls_offset":99,"lo_offset":0,
            """ + """
            "app_offset":1,"committed_offset":1},
                "4":{"partition":4,"desired":true,"hi_offset":-1,"ls_offset":-1,"lo_offset":-1,
            """ + """
            "app_offset":-1001,"committed_offset":-1001},
                "-1":{"partition":-1,"desired":false,"ls_offset":-1}}}}}
            """;
        PartitionLag[] lag = WorkerMetrics.ParseLag(stats);
        Assert.Equal(
            [
                new PartitionLag("alpr.reads", 0, 40), new PartitionLag("alpr.reads", 1, 3),
                new PartitionLag("alpr.reads", 2, 6),
            ],
            lag);
        Assert.Empty(WorkerMetrics.ParseLag("""{"name":"c"}"""));
    }
}
