using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace StreamGuard.Bench;

/// <summary>
/// One gated benchmark method's result in a pass: fastest and median time per operation, its ratio to its class's
/// baseline, bytes allocated per operation.
/// </summary>
internal sealed record CiRow(
    string Name, bool Baseline, double MinNs, double MedianNs, double Ratio, long? AllocatedBytes);

/// <summary>
/// The BenchmarkDotNet pass that <see cref="CiGate"/> runs, once or again for a class over its limit.
/// </summary>
internal static class CiPass
{
    /// <summary>
    /// One BenchmarkDotNet pass: fastest and median time per operation, the ratio of the fastest to the class's
    /// baseline's, bytes allocated per operation.
    /// </summary>
    public static List<CiRow> Run(Type[] types, string output, List<string> failures)
    {
        // Short: one process per method (the in-process toolchain distorts the System.Text.Json baseline; see
        // RESULTS.md), 2 warm-up and 7 measured iterations.
        Job job = Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(7)
            .WithGcServer(false).WithGcConcurrent(false).WithId("ci");
        IConfig config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full)
            .WithArtifactsPath(output)
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        Summary[] summaries = BenchmarkRunner.Run(types, config);

        var rows = new List<CiRow>();
        foreach (BenchmarkReport report in summaries.SelectMany(s => s.Reports))
        {
            string name =
                $"{report.BenchmarkCase.Descriptor.Type.Name}.{report.BenchmarkCase.Descriptor.WorkloadMethod.Name}";
            double? median = report.ResultStatistics?.Median, min = report.ResultStatistics?.Min;
            if (median is null || min is null || !report.Success)
            {
                failures.Add($"{name}: no result (the benchmark failed; see the log above)");
                continue;
            }
            long? allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
            rows.Add(new CiRow(name, report.BenchmarkCase.Descriptor.Baseline, min.Value, median.Value, double.NaN,
                allocated));
        }
        // Ratio = fastest iteration ÷ the fastest iteration of the baseline of the same class.
        for (int i = 0; i < rows.Count; i++)
        {
            string type = rows[i].Name[..rows[i].Name.IndexOf('.', StringComparison.Ordinal)];
            CiRow? baseline =
                rows.FirstOrDefault(r => r.Baseline && r.Name.StartsWith(type + ".", StringComparison.Ordinal));
            rows[i] = rows[i] with { Ratio = baseline is null ? double.NaN : rows[i].MinNs / baseline.MinNs };
            if (baseline is null) failures.Add($"{rows[i].Name}: its baseline has no result, so no ratio");
        }
        return rows;
    }
}
