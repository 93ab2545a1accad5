using BenchmarkDotNet.Running;
using StreamGuard.Bench;

// `policy-diff`: a plain console timing of load, compile and PolicyDiff.Compute on a large synthetic policy
//   dotnet run -c Release -- policy-diff [--agencies N] [--agreements N] [--seed N] [--runs N]
if (args.Length > 0 && args[0] == "policy-diff") return PolicyDiffMode.Run(args[1..]);

// `store-scale`: the read store with 10 million resident reads — fill rate, index bytes per read, lookup percentiles
//   dotnet run -c Release -- store-scale [--reads N] [--lookups N] [--plates N]
if (args.Length > 0 && args[0] == "store-scale") return StoreScaleMode.Run(args[1..]);

// `sizing`: memory per resident read through the live path, the engine's accounting against the heap; a restore's
//   dotnet run -c Release -- sizing [--reads N] [--partitions N]
if (args.Length > 0 && args[0] == "sizing") return SizingMode.Run(args[1..]);

// `consume-batch`: rd_kafka_consume_batch_queue against per-message Consume on the embedded cluster
//   dotnet run -c Release -- consume-batch [--messages N] [--rounds N] [--batch N]
if (args.Length > 0 && args[0] == "consume-batch") return ConsumeBatchMode.Run(args[1..]);

// `rebuild`: the store rebuilt from Kafka as on assignment (batch reader and per-message Consume, alternating)
//   dotnet run -c Release -- rebuild [--reads N] [--partitions N] [--rounds N]
if (args.Length > 0 && args[0] == "rebuild") return RebuildMode.Run(args[1..]);

// `ci`: the short gated pass of .ci/run (parse and policy decision against their baselines; see CiGate)
//   dotnet run -c Release -- ci [--reference FILE] [--out DIR] [--tolerance F] [--update-reference]
if (args.Length > 0 && args[0] == "ci") return CiGate.Run(args[1..]);

// `fuzz`: the hostile-input fuzzer over every parser and the policy loader, millions of seeded cases (scripts/fuzz.sh)
//   dotnet run -c Release -- fuzz [--seed N] [--events N] [--ndjson N] [--policies N] [--policy FILE]
if (args.Length > 0 && args[0] == "fuzz") return FuzzMode.Run(args[1..]);

// `soak-stall`: a real worker process through a long output stall, resident memory sampled (scripts/soak-stall.sh)
//   dotnet run -c Release -- soak-stall --cli PATH/streamguard.dll [--policy FILE] [--stall-minutes N] [--rate N]
//     [--cap-mib N]
if (args.Length > 0 && args[0] == "soak-stall") return SoakStallMode.Run(args[1..]);

// Otherwise every benchmark class in this assembly; pick with --filter, e.g.
//   dotnet run -c Release -- --filter '*Parse*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
