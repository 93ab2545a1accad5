using System.Text;
using BenchmarkDotNet.Attributes;
using StreamGuard.Engine;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

/// <summary>
/// Rebuilding the read store after a restart or rebalance: <see cref="StreamGuardEngine.RestoreRead"/> over 100,000
/// realistic reads (parse, window check, store insert; no audit, no output). Reported per read; reads/s = 1e9 / ns.
/// The retention issue's target is ≥ 1 million reads/s.
/// </summary>
[MemoryDiagnoser]
public class RestoreBenchmarks
{
    private const int Batch = 100_000;
    private const string Yaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: ca-lasd, state: CA, level: county}
          - {id: us-ice-ero, level: federal}
          - {id: il-chicago-pd, state: IL, level: local}
        """;

    private byte[][] _reads = [];
    private CompiledPolicy? _policy;
    private StreamGuardEngine? _engine;

    [GlobalSetup]
    public void Setup()
    {
        _reads = BenchPayloads.Reads(Batch);
        _policy = new CompiledPolicy(PolicyLoader.Load(Encoding.UTF8.GetBytes(Yaml), "bench.yaml", "."));
    }

    [IterationSetup]
    public void NewEngine()
    {
        // A fresh store each iteration, as a worker that was just assigned the partition has.
        long now = new DateTimeOffset(2026, 3, 4, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        _engine = new StreamGuardEngine(_policy!, NullSink.Instance, "bench-audit-key"u8.ToArray(),
            new EngineOptions { EventTimeClock = true, ReplayNowMs = now, MaxEventBytes = 65536 });
    }

    /// <summary>
    /// Baseline: parsing alone (the same parser, the same reads), what any rebuild must do; the ratio shows what the
    /// store adds on top.
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public int ParseOnly()
    {
        int parsed = 0;
        var parser = new Parsing.EventParser(_policy!.Agencies);
        for (int i = 0; i < _reads.Length; i++)
        {
            if (parser.ParseRead(_reads[i], out _).IsOk) parsed++;
        }
        return parsed;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int RestoreRead() => Restore();

    private int Restore()
    {
        int restored = 0;
        StreamGuardEngine engine = _engine!;
        for (int i = 0; i < _reads.Length; i++)
        {
            if (engine.RestoreRead(_reads[i], 0, arrivedAtMs: 0)) restored++;
        }
        return restored != Batch
            ? throw new InvalidOperationException($"{restored} of {Batch} reads restored")
            : restored;
    }
}
