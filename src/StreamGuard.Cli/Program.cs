using StreamGuard.Cli;
using StreamGuard.Cli.CommandLine;
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
              acl        the Kafka ACLs that give each agency exactly its own topics (kafka-acls.sh or Strimzi)

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
            CommandHelp? help = Help(verb);
            if (help is null)
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
                var args = new CliArgs(argv.Skip(1), help.Options);
                if (args.Help)
                {
                    Console.Write(help.Text);
                    return 0;
                }
                return await Dispatch(verb, args, cts.Token);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"streamguard {verb}: {e.Message}\n");
                Console.Error.Write(help.Text);
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

        /// <summary>Runs a verb (one <see cref="Help(string)"/> knows) on its command line.</summary>
        internal static async Task<int> Dispatch(string verb, CliArgs args, CancellationToken ct) => verb switch
        {
            "demo" => await DemoCommand.RunAsync(args, ct),
            "run" => await RunCommand.RunAsync(args, ct),
            "broker" => BrokerCommand.Run(args, ct),
            "replay" => await ReplayCommand.RunAsync(args, ct),
            "gen" => GenCommand.Run(args),
            "bench" => BenchCommand.Run(args, ct),
            "policy" => PolicyCommand.Run(args),
            "audit" => AuditCommand.Run(args),
            "acl" => AclCommand.Run(args, Console.Out),
            _ => throw new ArgumentOutOfRangeException(nameof(verb), verb, "not a verb"),
        };

        /// <summary>A verb's help, generated from its option table; null for a verb there is not.</summary>
        public static CommandHelp? Help(string verb) => verb switch
        {
            "demo" => DemoCommand.Help,
            "run" => RunCommand.Help,
            "broker" => BrokerCommand.Help,
            "replay" => ReplayCommand.Help,
            "gen" => GenCommand.Help,
            "bench" => BenchCommand.Help,
            "policy" => PolicyCommand.Help,
            "audit" => AuditCommand.Help,
            "acl" => AclCommand.Help,
            _ => null,
        };
    }
}
