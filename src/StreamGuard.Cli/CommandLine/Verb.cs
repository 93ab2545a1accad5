using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace StreamGuard.Cli.CommandLine;

/// <summary>
/// Declares a verb (a <see cref="Command"/>) with its options, its one-line summary (what its parent's help lists)
/// and its details (the prose its own help prints after the generated sections).
/// </summary>
internal static class Verb
{
    private static readonly Dictionary<Command, string> s_details = [];

    /// <param name="name">The verb as typed.</param>
    /// <param name="summary">One line: the verb's row in its parent's help and the head of its own.</param>
    /// <param name="details">Prose printed under "Details:" in the verb's help; null for none.</param>
    /// <param name="options">The verb's options, in the order help lists them.</param>
    /// <param name="env">Whether each option's help names its environment variable.</param>
    /// <param name="arguments">The verb's positional arguments, in order.</param>
    public static Command Create(string name, string summary, string? details, IEnumerable<ValueOption> options,
        bool env = false, IEnumerable<Argument>? arguments = null)
    {
        var command = new Command(name, summary);
        foreach (Argument argument in arguments ?? []) command.Arguments.Add(argument);
        foreach (ValueOption option in options)
        {
            option.Describe(env);
            command.Options.Add(option);
        }
        if (details is not null) s_details[command] = details.ReplaceLineEndings("\n").TrimEnd();
        return command;
    }

    /// <summary>
    /// Sets what the verb does with its values (<see cref="CommandArgs"/>); its exit code is the process's.
    /// </summary>
    public static Command Runs(this Command command, Func<CommandArgs, CancellationToken, Task<int>> run)
    {
        command.SetAction((result, ct) => run(new CommandArgs(result), ct));
        return command;
    }

    /// <inheritdoc cref="Runs(Command, Func{CommandArgs, CancellationToken, Task{int}})"/>
    public static Command Runs(this Command command, Func<CommandArgs, CancellationToken, int> run)
    {
        command.SetAction((result, ct) => Task.FromResult(run(new CommandArgs(result), ct)));
        return command;
    }

    /// <summary>Attaches details to a command made elsewhere (the root).</summary>
    public static void Detail(Command command, string details) =>
        s_details[command] = details.ReplaceLineEndings("\n").TrimEnd();

    /// <summary>The prose a command's help prints after the generated sections; null if none.</summary>
    public static string? DetailsOf(Command command) => s_details.GetValueOrDefault(command);

    /// <summary>
    /// Help: System.CommandLine's generated sections (summary, usage, arguments, options, subcommands), then the
    /// command's details; lines at most 120 columns, fewer on a narrower terminal.
    /// </summary>
    internal sealed class HelpWithDetails : SynchronousCommandLineAction
    {
        public const int MaxWidth = 120;

        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var generated = new HelpAction { MaxWidth = Width() };
            generated.Invoke(parseResult);
            if (DetailsOf(parseResult.CommandResult.Command) is { } details)
            {
                TextWriter o = parseResult.InvocationConfiguration.Output;
                o.WriteLine("Details:");
                foreach (string line in details.Split('\n')) o.WriteLine(line.Length == 0 ? "" : "  " + line);
                o.WriteLine();
            }
            return 0;
        }

        private static int Width()
        {
            if (Console.IsOutputRedirected) return MaxWidth;
            try
            {
                return Console.WindowWidth > 40 ? Math.Min(Console.WindowWidth, MaxWidth) : MaxWidth;
            }
            catch (IOException)
            {
                return MaxWidth;
            }
        }
    }
}
