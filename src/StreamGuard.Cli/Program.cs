using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;
using System.Text.RegularExpressions;
using StreamGuard.Cli;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Cli.Commands;
using StreamGuard.Engine;
using StreamGuard.Policy;

return await Cli.MainAsync(args);

namespace StreamGuard.Cli
{
    /// <summary>
    /// <c>streamguard</c>: the verbs as System.CommandLine commands, parsed, then run with Ctrl+C and SIGTERM as
    /// cancellation. Exit codes: 0 ok, 1 failure, 2 bad usage or bad input file, 3 policy diff granted access.
    /// </summary>
    internal static partial class Cli
    {
        /// <summary>The exit code of a usage error (unknown verb or option, missing or bad value).</summary>
        public const int UsageExit = 2;

        private static readonly ParserConfiguration s_parser = new()
        {
            // An argument starting with @ is a file name here, not a response file to expand.
            ResponseFileTokenReplacer = null,
        };

        /// <summary>Every verb, its options and help: the one declaration parser, help and completions use.</summary>
        public static Command Root { get; } = BuildRoot();

        /// <summary>
        /// The build: its informational version, <c>1.0.0+</c> and the commit it was built from when built from git.
        /// Read from StreamGuard.Core's assembly, as the <c>policy_load</c> audit entry's <c>build</c> is, so the two
        /// agree.
        /// </summary>
        public static string Version { get; } =
            typeof(CompiledPolicy).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()
                ?.InformationalVersion
            ?? typeof(CompiledPolicy).Assembly.GetName().Version?.ToString() ?? "unknown";

        private static Command BuildRoot()
        {
            var root = new Command("streamguard",
                "streamguard — policy enforcement point for licence-plate-reader data on Kafka")
            {
                new HelpOption("--help", "-h") { Action = new Verb.HelpWithDetails() },
                new VersionOption("--version") { Action = new PrintVersion() },
                DemoCommand.Command, RunCommand.Command, BrokerCommand.Command, ReplayCommand.Command,
                GenCommand.Command, BenchCommand.Command, PolicyCommand.Command, AuditCommand.Command,
                AclCommand.Command, CompletionCommand.Command,
            };
            Verb.Detail(root, """
                Each verb's options: streamguard <verb> --help. An option can also be given as an environment
                variable STREAMGUARD_<NAME> (--reads: STREAMGUARD_READS); the command line wins. Not the policy
                verbs' --format and policy test's --policy: a variable set for another verb must not change what
                they print or test. run also reads appsettings.json and --config FILE (see streamguard run --help).

                Exit codes: 0 ok, 1 failure, 2 bad usage or bad input file, 3 policy diff: access newly granted.
                Shell completion: streamguard completion bash|zsh|pwsh (see streamguard completion --help).
                """);
            return root;
        }

        public static async Task<int> MainAsync(string[] argv)
        {
            // `streamguard help [verb …]`, as before System.CommandLine: the same as --help. help takes command names
            // only, and never runs a command: a word that names none is refused (exit 2).
            if (argv.Length > 0 && argv[0] == "help")
            {
                string[] words = argv[1..];
                int named = 0;
                while (named < words.Length && Find(words[..(named + 1)]) is not null) named++;
                if (named == words.Length)
                {
                    argv = [.. words, "--help"];
                }
                else if (named == 0 || Find(words[..named])!.Subcommands.Count > 0)
                {
                    // The command path and the word that is none of its commands: refused by the parser, as
                    // `streamguard policy frob` is; a command with subcommands runs nothing by itself.
                    argv = words[..(named + 1)];
                }
                else
                {
                    string command = string.Join(' ', words[..named]);
                    Console.Error.WriteLine($"streamguard help: '{words[named]}' is no command of " +
                        $"'streamguard {command}' (help takes command names only)");
                    return UsageExit;
                }
            }
            if (argv.Length > 1 && argv[0] == "--version")
            {
                Console.Error.WriteLine($"streamguard: --version takes nothing else: unexpected argument '{argv[1]}'");
                return UsageExit;
            }
            if (argv.Length > 0 && SuggestDirective().Match(argv[0]) is { Success: true } suggest)
            {
                return Suggest(argv, suggest);
            }
            ParseResult result = Root.Parse(argv, s_parser);
            string path = PathOf(result.CommandResult.Command);
            // Messages name the verb (streamguard policy: …), as they always have; the hint names the command.
            string verb = string.Join(' ', path.Split(' ').Take(2));
            if (result.Action is null or ParseErrorAction) return Refuse(argv, result, verb, path);

            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cts.Cancel(); });
            try
            {
                return await result.InvokeAsync(new InvocationConfiguration
                {
                    Output = Console.Out, Error = Console.Error, EnableDefaultExceptionHandler = false,
                    // Cancellation is ours (above): System.CommandLine's own handler would end the process on a timer.
                    ProcessTerminationTimeout = null,
                }, cts.Token);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"{verb}: {e.Message}");
                Console.Error.WriteLine($"See '{path} --help'.");
                return UsageExit;
            }
            catch (PolicyException e)
            {
                Console.Error.WriteLine($"{verb}: policy error: {e.Message}");
                return UsageExit;
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                Console.Error.WriteLine($"{verb}: cancelled");
                return 1;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                // A file or directory the verb cannot read or write (or a gzip that is none): the system's message
                // names it. Never a stack trace for what the user can fix.
                Console.Error.WriteLine($"{verb}: {e.Message}");
                return 1;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }

        /// <summary>A command's help as printed (for tests and docs): <c>streamguard policy check --help</c>.</summary>
        public static string HelpText(params string[] path)
        {
            var o = new StringWriter();
            ParseResult result = Root.Parse([.. path, "--help"], s_parser);
            result.Invoke(new InvocationConfiguration { Output = o, Error = o });
            return o.ToString();
        }

        /// <summary>The command a verb path names (<c>policy</c>, <c>check</c>): null if there is none.</summary>
        public static Command? Find(params string[] path)
        {
            Command c = Root;
            foreach (string name in path)
            {
                Command? next = c.Subcommands.FirstOrDefault(s => s.Name == name);
                if (next is null) return null;
                c = next;
            }
            return c;
        }

        /// <summary><c>streamguard policy check</c>: the words that reach a command from the root.</summary>
        private static string PathOf(Command command)
        {
            var names = new List<string>();
            for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            {
                names.Add(c.Name);
            }
            names.Reverse();
            return string.Join(' ', names);
        }

        /// <summary>
        /// A command line the parser refused: each problem on its own line, naming the verb and the option or word,
        /// then where help is (exit 2). No verb at all prints the verbs.
        /// </summary>
        private static int Refuse(string[] argv, ParseResult result, string verb, string path)
        {
            if (argv.Length == 0)
            {
                Console.Write(HelpText());
                return UsageExit;
            }
            Command command = result.CommandResult.Command;
            bool atRoot = command == Root;
            var problems = new List<string>();
            foreach (string t in result.UnmatchedTokens)
            {
                problems.Add(t.StartsWith('-') ? $"unknown option {t}"
                    : atRoot ? $"unknown verb '{t}'"
                    : command.Subcommands.Count > 0
                        ? $"unknown command '{t}' ({string.Join(", ", command.Subcommands.Select(s => s.Name))})"
                        : $"unexpected argument '{t}'");
            }
            foreach (ParseError e in result.Errors)
            {
                switch (e.SymbolResult)
                {
                    case CommandResult when result.UnmatchedTokens.Any(
                        t => e.Message.Contains($"'{t}'", StringComparison.Ordinal)):
                        break; // said above
                    case CommandResult { Command: { Subcommands.Count: > 0 } c }:
                        if (result.UnmatchedTokens.Count == 0)
                        {
                            string subs = string.Join('|', c.Subcommands.Select(s => s.Name));
                            problems.Add($"expected: {PathOf(c)} {subs}");
                        }
                        break;
                    case OptionResult { Tokens.Count: 0, Option: ValueOption o }:
                        problems.Add($"{o.Name} needs a value");
                        break;
                    case ArgumentResult { Tokens.Count: 0, Argument: { } a }:
                        problems.Add($"missing {a.Name} (expected: {PathOf(result.CommandResult.Command)} " +
                            $"{string.Join(' ', result.CommandResult.Command.Arguments.Select(x => x.Name))})");
                        break;
                    default:
                        problems.Add(e.Message);
                        break;
                }
            }
            foreach (string p in problems.Distinct()) Console.Error.WriteLine($"{verb}: {p}");
            if (atRoot)
            {
                Console.Error.WriteLine();
                Console.Error.Write(HelpText());
            }
            else
            {
                Console.Error.WriteLine($"See '{path} --help'.");
            }
            return UsageExit;
        }

        /// <summary>
        /// System.CommandLine's suggest directive, <c>streamguard [suggest:N] "COMMAND LINE"</c>: the completions at
        /// character N of the command line (its end without N), one per line; what the scripts of
        /// <c>streamguard completion</c> call.
        /// </summary>
        private static int Suggest(string[] argv, Match directive)
        {
            string line = argv.Length > 1 ? argv[1] : "";
            int position = directive.Groups[1].Success ? int.Parse(directive.Groups[1].Value) : line.Length;
            ParseResult parsed = Root.Parse(line, s_parser);
            foreach (var item in parsed.GetCompletions(Math.Clamp(position, 0, line.Length)))
            {
                Console.Out.WriteLine(item.Label);
            }
            return 0;
        }

        [GeneratedRegex(@"^\[suggest(?::([0-9]{1,9}))?\]$")]
        private static partial Regex SuggestDirective();

        /// <summary><c>streamguard --version</c>: <c>streamguard 1.0.0+&lt;commit&gt;</c>.</summary>
        private sealed class PrintVersion : SynchronousCommandLineAction
        {
            public override bool ClearsParseErrors => true;

            public override int Invoke(ParseResult parseResult)
            {
                parseResult.InvocationConfiguration.Output.WriteLine($"streamguard {Version}");
                return 0;
            }
        }
    }
}
