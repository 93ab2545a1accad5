using System.Collections;
using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using StreamGuard.Cli;
using Sg = StreamGuard.Cli.Cli;
using StreamGuard.Cli.CommandLine;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// Every verb is a System.CommandLine command: its help is generated from the options it declares (each with the
/// default it uses), every option its help mentions is one the parser accepts, a bad value exits 2 naming the
/// option, an option falls back to its STREAMGUARD_* variable, and the shell completes verbs, options and values.
/// </summary>
[Collection("Console")]
public sealed partial class CommandHelpTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-help-" + Guid.NewGuid().ToString("N"));

    public CommandHelpTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>Every command below the root, as the words that reach it: <c>demo</c>, <c>policy check</c>.</summary>
    public static TheoryData<string> Commands()
    {
        var all = new TheoryData<string>();
        void Add(Command c, string path)
        {
            foreach (Command sub in c.Subcommands)
            {
                string p = path.Length == 0 ? sub.Name : path + " " + sub.Name;
                all.Add(p);
                Add(sub, p);
            }
        }
        Add(Sg.Root, "");
        return all;
    }

    private static string[] Words(string path) => path.Split(' ');

    [GeneratedRegex(@"(?<![\w-])(--[a-z][a-z0-9-]*)")]
    private static partial Regex OptionMention();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();

    [GeneratedRegex(@"streamguard((?: [a-z]+)+)")]
    private static partial Regex CommandMention();

    [Fact]
    public void EveryVerbOfSpecIsACommand()
    {
        string[] verbs = ["demo", "run", "broker", "replay", "gen", "bench", "policy", "audit", "acl", "completion"];
        Assert.Equal(verbs.Order(), Sg.Root.Subcommands.Select(c => c.Name).Order());
        Assert.Equal(["check", "diff", "explain", "test"], Sg.Find("policy")!.Subcommands.Select(c => c.Name));
        Assert.Equal(["verify", "why", "export", "report"], Sg.Find("audit")!.Subcommands.Select(c => c.Name));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void HelpListsEveryOptionWithItsDefaultAndExitsZero(string path)
    {
        Command command = Sg.Find(Words(path))!;
        foreach (string help in (string[])["--help", "-h"])
        {
            var (code, printed, error) = Support.CliRunner.Run([.. Words(path), help]);
            Assert.True(code == 0, error);
            Assert.Contains($"streamguard {path}", printed, StringComparison.Ordinal);
            Assert.Equal(Sg.HelpText(Words(path)), printed);
        }
        string text = Sg.HelpText(Words(path));
        Assert.DoesNotContain("{default}", text, StringComparison.Ordinal);
        // Help wraps long descriptions at 120 columns: a default may be split across two lines.
        string flat = WhiteSpace().Replace(text, " ");
        foreach (ValueOption option in command.Options.OfType<ValueOption>())
        {
            Assert.Contains($"  {option.Name} <{option.HelpName}>  ", text, StringComparison.Ordinal);
            if (option.DefaultText is { } d)
            {
                Assert.Contains(WhiteSpace().Replace(d, " "), flat, StringComparison.Ordinal);
            }
        }
        foreach (Argument argument in command.Arguments)
        {
            Assert.Contains(argument.Description!, text, StringComparison.Ordinal);
        }
        // Every option reads its value through the accessor, so help, parser and defaults cannot disagree.
        Assert.All(command.Options, o => Assert.True(o is ValueOption or System.CommandLine.Help.HelpOption, o.Name));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryOptionTheHelpMentionsIsAnOptionOfTheCommandItNames(string path)
    {
        foreach (string line in Sg.HelpText(Words(path)).Split('\n'))
        {
            // An example of another command ("streamguard replay --now …") is checked against that command's options.
            Match other = CommandMention().Match(line);
            foreach (Match m in OptionMention().Matches(line))
            {
                string[] owner = Words(path);
                if (other.Success && other.Index < m.Index)
                {
                    string[] named = other.Groups[1].Value.Trim().Split(' ');
                    int n = named.Length;
                    while (n > 0 && Sg.Find(named[..n]) is null) n--;
                    owner = named[..n];
                }
                string name = m.Groups[1].Value;
                if (name == "--bootstrap-server") continue; // kafka-acls.sh's option, which acl's output passes
                Assert.True(Accepted(Sg.Find(owner)!).Any(o => o.Name == name || o.Aliases.Contains(name)),
                    $"streamguard {path} --help mentions {m.Groups[1].Value}, which " +
                    $"'streamguard {string.Join(' ', owner)}' does not accept:\n{line}");
            }
        }
    }

    /// <summary>A command's options and the options its ancestors give every command below them (--help).</summary>
    private static IEnumerable<Option> Accepted(Command command)
    {
        IEnumerable<Option> all = command.Options;
        for (Command? c = command.Parents.OfType<Command>().FirstOrDefault(); c is not null;
            c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            all = all.Concat(c.Options.Where(o => o.Recursive));
        }
        return all;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void HelpLinesFitOneHundredAndTwentyColumns(string path)
    {
        foreach (string line in Sg.HelpText(Words(path)).Split('\n'))
        {
            Assert.True(line.Length <= 120, $"{path} --help: a line of {line.Length} characters:\n{line}");
        }
    }

    [Fact]
    public void NoVerbPrintsTheVerbsAndExitsTwo()
    {
        var (code, printed, _) = Support.CliRunner.Run();
        Assert.Equal(2, code);
        foreach (Command verb in Sg.Root.Subcommands)
        {
            Assert.Contains($"  {verb.Name} ", printed, StringComparison.Ordinal);
        }
        Assert.Contains("Exit codes: 0 ok, 1 failure, 2 bad usage", printed, StringComparison.Ordinal);
        Assert.Equal(0, Support.CliRunner.Run("--help").Code);
    }

    [Theory]
    [InlineData("streamguard: unknown verb 'frobnicate'", "frobnicate")]
    [InlineData("streamguard demo: unknown option --redas", "demo", "--redas", "5")]
    [InlineData("streamguard demo: unexpected argument 'five'", "demo", "five")]
    [InlineData("streamguard replay: --policy needs a value", "replay", "--policy")]
    [InlineData("streamguard policy: expected: streamguard policy check|diff|explain", "policy")]
    [InlineData("streamguard policy: missing P (expected: streamguard policy check P)", "policy", "check")]
    [InlineData("See 'streamguard policy check --help'.", "policy", "check")]
    [InlineData("streamguard policy: missing NEW", "policy", "diff", "a.yaml")]
    [InlineData("streamguard policy: unknown command 'frob' (check, diff, explain, test)", "policy", "frob")]
    [InlineData("streamguard audit: expected: audit verify FILE", "audit", "verify")]
    [InlineData("streamguard completion: Argument 'fish' not recognized", "completion", "fish")]
    [InlineData("streamguard demo: unknown option --version", "demo", "--version")]
    [InlineData("streamguard: unknown verb 'frobnicate'", "help", "frobnicate")]
    [InlineData("streamguard policy: unknown command 'frob' (check, diff, explain, test)", "help", "policy", "frob")]
    [InlineData("streamguard help: '--out' is no command of 'streamguard gen' (help takes command names only)", "help",
        "gen", "--out", "/nonexistent/never-written", "--reads", "10")]
    [InlineData("streamguard help: 'samples/policy.yaml' is no command of 'streamguard policy check' (help takes",
        "help", "policy", "check", "samples/policy.yaml")]
    [InlineData("streamguard: --version takes nothing else: unexpected argument 'extra'", "--version", "extra")]
    [InlineData(": a directory, not a file", "policy", "check", "/")]
    [InlineData("streamguard audit: --from is after --to", "audit", "report", "--agency", "ca-lapd", "--audit",
        "/nonexistent/audit.ndjson", "--out", "/nonexistent/report", "--from", "2027-01-01", "--to", "2026-01-01")]
    [InlineData("streamguard replay: /: a directory, not a file", "replay", "--policy", "samples/policy.yaml",
        "--audit-key", "file:samples/keys/audit.key", "--reads", "/", "--out", "/nonexistent/never-written")]
    public void BadUsageExitsTwoNamingTheProblem(string message, params string[] args)
    {
        var (code, _, error) = Support.CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bench", "--transactions", "sometimes", "--transactions: 'sometimes' is not off, on or both")]
    [InlineData("bench", "--ceiling", "maybe", "--ceiling: 'maybe' is not both, one-to-one, same-records or off")]
    [InlineData("bench", "--compression", "brotli", "--compression: 'brotli' is not none, gzip, snappy, lz4 or zstd")]
    [InlineData("broker", "--partitions", "0", "--partitions must be a whole number from 1 to 1024, not '0'")]
    [InlineData("demo", "--malformed", "2", "--malformed must be a number from 0 to 1, not '2'")]
    public void ABadValueExitsTwoNamingTheOptionAndWhatItTakes(string verb, string option, string value, string message)
    {
        var (code, _, error) = Support.CliRunner.Run(verb, option, value);
        Assert.Equal(2, code);
        Assert.Contains($"streamguard {verb}: {message}", error, StringComparison.Ordinal);
    }

    private static ValueOption OptionOf(string verb, string id) =>
        Sg.Find(verb)!.Options.OfType<ValueOption>().Single(o => o.Id == id);

    [Fact]
    public void AnOptionFallsBackToItsEnvironmentVariableAndTheCommandLineWins()
    {
        var reads = (IntOption)OptionOf("demo", "reads");
        Assert.Equal("STREAMGUARD_READS", reads.Env);
        var env = new Hashtable { ["STREAMGUARD_READS"] = "7", ["STREAMGUARD_MALFORMED"] = "" };
        var fromEnv = new CommandArgs(Sg.Root.Parse(["demo"]), env);
        Assert.Equal(7, fromEnv.Int(reads));
        Assert.Equal(0.01, fromEnv.Double((DoubleOption)OptionOf("demo", "malformed"))); // empty: not set
        Assert.Equal(9, new CommandArgs(Sg.Root.Parse(["demo", "--reads", "9"]), env).Int(reads));
        Assert.Equal(60_000, new CommandArgs(Sg.Root.Parse(["demo"]), new Hashtable()).Int(reads));
        Assert.Null(new CommandArgs(Sg.Root.Parse(["demo"]), new Hashtable()).GivenInt(reads));

        var bad = new CommandArgs(Sg.Root.Parse(["demo"]), new Hashtable { ["STREAMGUARD_READS"] = "lots" });
        UsageException e = Assert.Throws<UsageException>(() => bad.Int(reads));
        Assert.Equal("--reads must be a whole number from 1 to 5000000, not 'lots' " +
            "(environment variable STREAMGUARD_READS)", e.Message);
    }

    [Fact]
    public void ReadingAnOptionThatTheVerbDoesNotDeclareIsABug()
    {
        var args = new CommandArgs(Sg.Root.Parse(["broker"]), new Hashtable());
        Assert.Throws<InvalidOperationException>(() => args.Get(OptionOf("demo", "reads")));
    }

    [Fact]
    public void AChoiceDefaultMustBeOneOfItsWords()
    {
        var option = new ChoiceOption<int>("mode", "M", "a mode", ("one", 1), ("two", 2)) { Default = 2 };
        Assert.Equal("default two", option.DefaultText);
        Assert.Equal("one or two", option.WordList);
        Assert.Throws<ArgumentOutOfRangeException>(
            () => new ChoiceOption<int>("mode", "M", "a mode", ("one", 1)) { Default = 3 });
    }

    [Fact]
    public void VersionIsTheBuildThePolicyLoadAuditEntryNamesWithItsCommit()
    {
        var (code, printed, _) = Support.CliRunner.Run("--version");
        Assert.Equal(0, code);
        Assert.Equal($"streamguard {StreamGuard.Audit.PolicyVersions.Build}", printed.TrimEnd());
        Assert.Equal(StreamGuard.Audit.PolicyVersions.Build, Sg.Version);
        Assert.Equal(typeof(Sg).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!
            .InformationalVersion, Sg.Version);
        // Built from a git checkout (a clone, CI), the commit is part of the version; from a tarball it is not.
        if (RepositoryRoot() is not null)
        {
            Assert.Matches(@"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?\+[0-9a-f]{40}$", Sg.Version);
        }
    }

    private static string? RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (Path.Exists(Path.Combine(d.FullName, ".git"))) return d.FullName;
        }
        return null;
    }

    [Theory]
    [InlineData("streamguard pol", "policy")]
    [InlineData("streamguard au", "audit")]
    [InlineData("streamguard audit v", "verify")]
    [InlineData("streamguard demo --re", "--reads")]
    [InlineData("streamguard bench --transactions ", "both\noff\non")]
    [InlineData("streamguard policy diff --format ", "json\ntext\ntsv")]
    [InlineData("streamguard completion ", "--help\n-h\nbash\npwsh\nzsh")]
    [InlineData("/usr/local/bin/streamguard acl --pol", "--policy")]
    public void TheSuggestDirectiveCompletesVerbsOptionsAndValues(string line, string expected)
    {
        var (code, printed, _) = Support.CliRunner.Run($"[suggest:{line.Length}]", line);
        Assert.Equal(0, code);
        Assert.Equal(expected, printed.ReplaceLineEndings("\n").TrimEnd('\n'));
    }

    [Fact]
    public void TheSuggestDirectiveCompletesAtTheCursor()
    {
        // The cursor after "pol" of "streamguard pol check": the verb is completed, not the word after it.
        var (code, printed, _) = Support.CliRunner.Run("[suggest:15]", "streamguard pol check");
        Assert.Equal(0, code);
        Assert.Equal("policy", printed.Trim());
    }

    [Fact]
    public async Task TheBashCompletionScriptCompletesThroughTheBinary()
    {
        var (code, script, _) = Support.CliRunner.Run("completion", "bash");
        Assert.Equal(0, code);
        string bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        string launcher = Path.Combine(bin, "streamguard");
        File.WriteAllText(launcher,
            $"#!/bin/sh\nexec dotnet \"{Path.Combine(AppContext.BaseDirectory, "streamguard.dll")}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        File.WriteAllText(Path.Combine(_dir, "completion.bash"), script);
        string test = """
            source "$1"
            COMP_LINE="streamguard policy diff --re"; COMP_POINT=${#COMP_LINE}
            COMP_WORDS=(streamguard policy diff --re); COMP_CWORD=3
            _streamguard_complete
            printf '%s\n' "${COMPREPLY[@]}"
            COMP_LINE="streamguard de"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(streamguard de); COMP_CWORD=1
            _streamguard_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["-c", test, "bash", Path.Combine(_dir, "completion.bash")])
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        using Process p = Process.Start(start)!;
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        Task<string> error = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // two .NET starts on a loaded machine
        await p.WaitForExitAsync(timeout.Token);
        Assert.True(p.ExitCode == 0, await error);
        Assert.Equal(["--reasons", "demo"], (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("zsh", "compdef _streamguard streamguard")]
    [InlineData("pwsh", "Register-ArgumentCompleter -Native -CommandName streamguard")]
    public void EveryShellGetsAScriptThatAsksTheSuggestDirective(string shell, string registers)
    {
        var (code, script, _) = Support.CliRunner.Run("completion", shell);
        Assert.Equal(0, code);
        Assert.Contains(registers, script, StringComparison.Ordinal);
        Assert.Contains("streamguard \"[suggest:", script, StringComparison.Ordinal);
    }
}
