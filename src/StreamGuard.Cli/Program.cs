using StreamGuard.Cli;
using StreamGuard.Cli.Commands;
using StreamGuard.Policy;

return await Cli.MainAsync(args);

namespace StreamGuard.Cli
{
    internal static class Cli
    {
        private const string Usage = """
            streamguard — policy enforcement point for licence-plate-reader data on Kafka

            Usage: streamguard <verb> [options]      (streamguard <verb> --help for details)

              demo       embedded Kafka-protocol cluster + sample policy + synthetic traffic + worker; summary
              run        the worker against a Kafka cluster (--bootstrap B --policy P)
              broker     the embedded Kafka-protocol cluster on its own, StreamGuard's topics created
              replay     the same engine offline over NDJSON files (deterministic)
              gen        synthetic NDJSON plate reads, signed queries and hotlist entries
              bench      end to end under open-loop load: latency percentiles, rate sweep, pass-through ceiling
              policy     check, diff and explain policies: streamguard policy check|diff|explain
              audit      verify hash chains, explain a decision, transparency report: audit verify|why|report

            Exit codes: 0 ok, 1 failure, 2 bad usage or bad input file, 3 policy diff: access newly granted.
            """;

        public static async Task<int> MainAsync(string[] argv)
        {
            if (argv.Length == 0 || argv[0] is "-h" or "--help" or "help")
            {
                Console.WriteLine(Usage);
                return argv.Length == 0 ? 2 : 0;
            }
            string verb = argv[0];
            string help = verb switch
            {
                "demo" => DemoCommand.Help,
                "run" => RunCommand.Help,
                "broker" => BrokerCommand.Help,
                "replay" => ReplayCommand.Help,
                "gen" => GenCommand.Help,
                "bench" => BenchCommand.Help,
                "policy" => PolicyCommand.Help,
                "audit" => AuditCommand.Help,
                _ => string.Empty,
            };
            if (help.Length == 0)
            {
                Console.Error.WriteLine($"streamguard: unknown verb '{verb}'\n");
                Console.Error.WriteLine(Usage);
                return 2;
            }

            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cts.Cancel(); });
            try
            {
                var args = new CliArgs(argv.Skip(1));
                if (args.Help)
                {
                    Console.WriteLine(help);
                    return 0;
                }
                return verb switch
                {
                    "demo" => await DemoCommand.RunAsync(args, cts.Token),
                    "run" => await RunCommand.RunAsync(args, cts.Token),
                    "broker" => BrokerCommand.Run(args, cts.Token),
                    "replay" => await ReplayCommand.RunAsync(args, cts.Token),
                    "gen" => GenCommand.Run(args),
                    "bench" => BenchCommand.Run(args, cts.Token),
                    "policy" => PolicyCommand.Run(args),
                    _ => AuditCommand.Run(args),
                };
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"streamguard {verb}: {e.Message}\n");
                Console.Error.WriteLine(help);
                return 2;
            }
            catch (PolicyException e)
            {
                Console.Error.WriteLine($"streamguard {verb}: policy error: {e.Message}");
                return 2;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"streamguard {verb}: cancelled");
                return 1;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }
    }
}
