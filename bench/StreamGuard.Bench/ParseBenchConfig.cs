using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace StreamGuard.Bench;

/// <summary>Adds bytes/event and MB/s (payload bytes over the mean time per event) to the summary table.</summary>
public sealed class ParseBenchConfig : ManualConfig
{
    public ParseBenchConfig()
    {
        AddColumn(new ThroughputColumn(bytesColumn: true), new ThroughputColumn(bytesColumn: false));
    }

    private sealed class ThroughputColumn(bool bytesColumn) : IColumn
    {
        private static readonly double s_readBytes =
            BenchPayloads.AverageBytes(BenchPayloads.Reads(ParseBenchmarks.Batch));
        private static readonly double s_queryBytes =
            BenchPayloads.AverageBytes(BenchPayloads.Queries(ParseBenchmarks.Batch));

        public string Id => bytesColumn ? "PayloadBytes" : "Throughput";
        public string ColumnName => bytesColumn ? "B/event" : "MB/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => bytesColumn ? 0 : 1;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => bytesColumn
            ? "Mean payload bytes per event"
            : "Payload megabytes (10^6 B) parsed per second by one thread";

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double bytes = benchmarkCase.Descriptor.Type == typeof(QueryParseBenchmarks) ? s_queryBytes : s_readBytes;
            if (bytesColumn) return bytes.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
            double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return meanNs is double ns && ns > 0
                ? (bytes / ns * 1000).ToString("0", System.Globalization.CultureInfo.InvariantCulture)
                : "-";
        }
    }
}
