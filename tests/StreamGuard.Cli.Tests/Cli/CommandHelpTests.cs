using System.Text.RegularExpressions;
using StreamGuard.Cli;
using StreamGuard.Cli.CommandLine;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// Every verb's help is generated from its option table, and its parser reads exactly that table: each option the
/// parser accepts is in the help, each option the help mentions is accepted, and each default the help states is
/// the one the parser uses.
/// </summary>
[Collection("Console")]
public sealed partial class CommandHelpTests : IDisposable
{
    private static readonly string[] s_verbs = ["demo", "run", "broker", "replay", "gen", "bench", "policy", "audit"];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-help-" + Guid.NewGuid().ToString("N"));

    public CommandHelpTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    public static TheoryData<string> Verbs() => [.. s_verbs];

    private static CommandHelp HelpOf(string verb) => StreamGuard.Cli.Cli.Help(verb)!;

    [GeneratedRegex(@"(?<![\w-])--([a-z][a-z0-9-]*)")]
    private static partial Regex OptionMention();

    [GeneratedRegex(@"streamguard ([a-z]+)")]
    private static partial Regex VerbMention();

    [Theory]
    [MemberData(nameof(Verbs))]
    public void HelpListsEveryOptionOfTheTableWithItsDefault(string verb)
    {
        CommandHelp help = HelpOf(verb);
        Assert.NotEmpty(help.Options);
        var (code, printed, _) = Support.CliRunner.Run(verb, "--help");
        Assert.Equal(0, code);
        Assert.Equal(help.Text, printed);
        foreach (CliOption option in help.Options)
        {
            string row = option.Value.Length == 0 ? $"  --{option.Name}  " : $"  --{option.Name} {option.Value}  ";
            Assert.Contains(row, help.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("{default}", help.Text, StringComparison.Ordinal);
            if (option.DefaultText is { } d) Assert.Contains(d, help.Text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void EveryOptionTheHelpMentionsIsAnOptionOfTheVerbItNames(string verb)
    {
        foreach (string line in HelpOf(verb).Text.Split('\n'))
        {
            // An example of another verb ("streamguard replay --now …") is checked against that verb's options.
            Match other = VerbMention().Match(line);
            foreach (Match m in OptionMention().Matches(line))
            {
                string owner = other.Success && other.Index < m.Index ? other.Groups[1].Value : verb;
                Assert.True(HelpOf(owner).Options.Any(o => o.Name == m.Groups[1].Value),
                    $"{verb} --help mentions --{m.Groups[1].Value}, which {owner} does not accept:\n{line}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void HelpLinesFitOneHundredAndTwentyColumns(string verb)
    {
        foreach (string line in HelpOf(verb).Text.Split('\n'))
        {
            Assert.True(line.Length <= 120, $"{verb} --help: a line of {line.Length} characters:\n{line}");
        }
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("broker")]
    [InlineData("replay")]
    [InlineData("gen")]
    [InlineData("bench")]
    [InlineData("policy")]
    [InlineData("audit")]
    public void TheParserReadsExactlyTheOptionsTheHelpLists(string verb)
    {
        string log = Path.Combine(_dir, "audit.ndjson");
        File.WriteAllText(log, "");
        string[][] paths = verb switch
        {
            "replay" => [["--policy", "p", "--reads", "r", "--out", "o"]],
            "gen" => [["--out", "o"], ["--out", "o", "--seattle", "s.csv"]],
            "policy" =>
            [
                ["check", "p"], ["diff", "a", "b"],
                ["explain", "p", "--owner", "a", "--recipient", "b", "--access", "push", "--purpose", "warrant"],
                ["test", "c"],
            ],
            "audit" =>
            [
                ["verify", log], ["verify", "--topic", "t", "--bootstrap", "b"], ["why", "id", "--audit", log],
                ["export", "--audit", log], ["export", "--topic", "t", "--bootstrap", "b"],
                ["report", "--agency", "a", "--audit", log, "--out", "o"],
            ],
            _ => [[]],
        };
        var read = new HashSet<string>(StringComparer.Ordinal);
        foreach (string[] path in paths) read.UnionWith(ReadBy(verb, path));
        Assert.Equal(HelpOf(verb).Options.Select(o => o.Name).Order(), read.Order());
    }

    [Fact]
    public void ReadingAnOptionThatIsNotInTheVerbsTableIsABug()
    {
        var args = new CliArgs(["--reads", "5"], HelpOf("broker").Options);
        CliOption notBrokers = HelpOf("demo").Options.First(o => o.Name == "reads");
        Assert.Throws<InvalidOperationException>(() => args.Get(notBrokers));
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
        Assert.Contains(message, error, StringComparison.Ordinal);
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

    /// <summary>The options a verb's parser reads on one command line, stopping it before it acts on them.</summary>
    private static string[] ReadBy(string verb, string[] argv)
    {
        var args = new CliArgs(argv, HelpOf(verb).Options) { OnParsed = a => throw new ParsedException([.. a.Read]) };
        ParsedException parsed = Assert.Throws<ParsedException>(() =>
            StreamGuard.Cli.Cli.Dispatch(verb, args, CancellationToken.None).GetAwaiter().GetResult());
        return parsed.Read;
    }

    private sealed class ParsedException(string[] read) : Exception("parsed")
    {
        public string[] Read { get; } = read;
    }
}
