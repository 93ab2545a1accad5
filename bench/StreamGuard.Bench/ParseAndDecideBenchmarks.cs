using BenchmarkDotNet.Attributes;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

/// <summary>
/// The inline path of a plate read, end to end in memory: parse the read, then decide one push of it under the sample
/// policy (samples/policy.yaml: 18 agencies, 7 agreements, one local rule — the demo's). The recipient and purpose
/// cycle through every agency and five purposes, so the mix holds own reads, statute denials, local denials, grants
/// and the agreement denials. Baseline: System.Text.Json into a POCO plus the LINQ evaluation of SPEC §3 over the
/// loaded document, from the owner's string id. Setup checks that both reach the same decision for every event.
/// </summary>
[MemoryDiagnoser]
[GcServer(false)]
[GcConcurrent(false)]
public class ParseAndDecideBenchmarks
{
    public const int Batch = ParseBenchmarks.Batch;

    private static readonly Purpose[] s_purposes =
    [
        Purpose.StolenVehicle, Purpose.CriminalInvestigation, Purpose.ImmigrationEnforcement, Purpose.MissingPerson,
        Purpose.Warrant,
    ];

    private byte[][] _events = [];
    private int[] _recipients = [];
    private string[] _recipientIds = [];
    private Purpose[] _purposeOf = [];
    private CompiledPolicy _policy = null!;
    private EventParser _parser = null!;
    private SystemTextJsonBaseline _json = null!;
    private LinqPolicyBaseline _linq = null!;

    [GlobalSetup]
    public void Setup()
    {
        PolicyDocument document =
            PolicyLoader.LoadFile(Path.Combine(CiGate.RepositoryRoot(), "samples", "policy.yaml"));
        _policy = new CompiledPolicy(document);
        _parser = new EventParser(_policy.Agencies);
        _json = new SystemTextJsonBaseline(document.Agencies.Select(a => a.Id));
        _linq = new LinqPolicyBaseline(document);
        _events = BenchPayloads.Reads(Batch);
        _recipients = new int[Batch];
        _recipientIds = new string[Batch];
        _purposeOf = new Purpose[Batch];
        var mix = new Dictionary<DecisionCode, int>();
        for (int i = 0; i < Batch; i++)
        {
            _recipientIds[i] = document.Agencies[i % document.Agencies.Count].Id;
            _recipients[i] = _policy.Agencies.Find(_recipientIds[i]);
            _purposeOf[i] = s_purposes[i / document.Agencies.Count % s_purposes.Length];
            if (!_parser.ParseRead(_events[i], out PlateRead read).IsOk || _json.ParseRead(_events[i]) < 0)
            {
                throw new InvalidOperationException("a benchmark read was rejected");
            }
            Decision a = _policy.Decide(read.Owner, _recipients[i], Access.Push, _purposeOf[i], documented: false,
                PolicyBenchData.NowMs);
            Decision b = _linq.Decide(_json.LastOwner!, _recipientIds[i], Access.Push, _purposeOf[i], documented: false,
                PolicyBenchData.NowMs);
            if (a != b)
            {
                throw new InvalidOperationException($"event {i}: compiled {DecisionCodes.Text(a.Code)} ({a.Rule}), " +
                    $"LINQ {DecisionCodes.Text(b.Code)} ({b.Rule})");
            }
            mix[a.Code] = mix.GetValueOrDefault(a.Code) + 1;
        }
        Console.WriteLine("// decisions identical in both; mix: " + string.Join(", ",
            mix.OrderByDescending(m => m.Value).Select(m => $"{DecisionCodes.Text(m.Key)} {m.Value * 100 / Batch}%")));
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public long SystemTextJsonAndLinq()
    {
        long sum = 0;
        for (int i = 0; i < _events.Length; i++)
        {
            if (_json.ParseRead(_events[i]) < 0) return -1;
            sum += (int)_linq.Decide(_json.LastOwner!, _recipientIds[i], Access.Push, _purposeOf[i], documented: false,
                PolicyBenchData.NowMs).Code;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long EventParserAndCompiledPolicy()
    {
        long sum = 0;
        for (int i = 0; i < _events.Length; i++)
        {
            if (!_parser.ParseRead(_events[i], out PlateRead read).IsOk) return -1;
            sum += (int)_policy.Decide(read.Owner, _recipients[i], Access.Push, _purposeOf[i], documented: false,
                PolicyBenchData.NowMs).Code;
        }
        return sum;
    }
}
