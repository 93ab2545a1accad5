using System.Globalization;
using HdrHistogram;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// How <c>streamguard bench</c> states a step's result, its percentiles and StreamGuard-to-pipe ratios.
/// </summary>
internal static class BenchReport
{
    public static string Summary(BenchStepResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Throughput,9:N0} events/s; ms {Percentiles(r.Latency, 1000)}; {r.Seen:N0}/{r.Timed:N0} timed; " +
        $"sender late ms p50 {r.SendLateness.GetValueAtPercentile(50) / 1000.0:0.###} " +
        $"p99 {r.SendLateness.GetValueAtPercentile(99) / 1000.0:0.###}; " +
        $"{r.BytesPerEvent:N0} B/event (gen0/1/2 {r.Gen0}/{r.Gen1}/{r.Gen2}){(r.Sustained ? "" : "; NOT sustained")}");

    public static string Percentiles(LongHistogram h, double unit) => h.TotalCount == 0
        ? "no samples"
        : string.Create(CultureInfo.InvariantCulture,
            $"p50 {h.GetValueAtPercentile(50) / unit:0.###} p90 {h.GetValueAtPercentile(90) / unit:0.###} " +
            $"p99 {h.GetValueAtPercentile(99) / unit:0.###} p99.9 {h.GetValueAtPercentile(99.9) / unit:0.###} " +
            $"max {h.GetMaxValue() / unit:0.###}");

    public static string Ratio(BenchStepResult a, BenchStepResult b, double percentile) =>
        Ratio(a.Latency, b.Latency, percentile);

    public static string Ratio(LongHistogram a, LongHistogram b, double percentile) =>
        a.TotalCount == 0 || b.TotalCount == 0
            ? "n/a"
            : string.Create(CultureInfo.InvariantCulture,
                $"{(double)a.GetValueAtPercentile(percentile) / Math.Max(1, b.GetValueAtPercentile(percentile)):F2}");
}
