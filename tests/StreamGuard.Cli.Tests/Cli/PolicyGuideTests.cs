using System.Text.RegularExpressions;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// docs/policy-guide.md cannot rot: every <c>$sg policy …</c> command shown in it is run again and must print what
/// the guide shows and exit as it says; every policy file it shows is the committed example; every example is checked.
/// </summary>
[Collection("Console")]
public sealed class PolicyGuideTests
{
    private static readonly string s_root = RepositoryRoot();
    private static readonly string s_guide =
        File.ReadAllText(Path.Combine(s_root, "docs", "policy-guide.md")).ReplaceLineEndings("\n");

    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        foreach (Match block in
            Regex.Matches(s_guide, "```console\n\\$ \\$sg (policy [^\n]+)\n", RegexOptions.CultureInvariant))
        {
            data.Add(block.Groups[1].Value);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryPolicyCommandInTheGuidePrintsWhatTheGuideShows(string command)
    {
        Match block = Regex.Match(s_guide, "```console\n\\$ \\$sg " + Regex.Escape(command) + "\n(.*?)```",
            RegexOptions.Singleline | RegexOptions.CultureInvariant);
        string expected = block.Groups[1].Value;

        // `; echo "exit $?"` shows the exit code as the output's last line; without it the command must succeed.
        const string ShowExit = "; echo \"exit $?\"";
        bool showsExit = command.EndsWith(ShowExit, StringComparison.Ordinal);
        string[] args = (showsExit ? command[..^ShowExit.Length] : command)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // Paths in the guide are relative to the repository root; the test runs elsewhere.
        args = args.Select(a => a.StartsWith("docs/", StringComparison.Ordinal) ? Path.Combine(s_root, a) : a)
            .ToArray();

        var (code, output) = Run(args);
        string actual = output.Replace(s_root + Path.DirectorySeparatorChar, "", StringComparison.Ordinal);
        if (showsExit) actual += $"exit {code}\n";
        else Assert.True(code == 0, $"exit {code}: {actual}");
        Assert.Equal(Normalise(expected), Normalise(actual));
    }

    [Fact]
    public void EveryExampleIsRunByTheGuideAndEveryPolicyShownIsTheCommittedFile()
    {
        string[] examples = Directory.GetFiles(Path.Combine(s_root, "docs", "examples"), "*.yaml")
            .Select(f => "docs/examples/" + Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.True(examples.Length >= 4, "the guide's examples are missing");
        // Each example is run by a command of the guide (which the theory above runs again): checked, or diffed
        // (a diff of an invalid file exits 2, so the documented diff asserts the file is valid too).
        string[] commands = Regex.Matches(s_guide, "^\\$ \\$sg policy [^\n]+",
                RegexOptions.Multiline | RegexOptions.CultureInvariant)
            .Select(m => m.Value + " ").ToArray();
        foreach (string example in examples)
        {
            Assert.True(commands.Any(c => c.Contains($" {example} ", StringComparison.Ordinal)),
                $"{example}: no command of the guide runs it");
        }
        foreach (string state in (string[])["california", "illinois", "virginia", "washington"])
        {
            Assert.Contains($"$ $sg policy check docs/examples/{state}.yaml ", s_guide, StringComparison.Ordinal);
            Assert.Contains($"$ $sg policy explain docs/examples/{state}.yaml ", s_guide, StringComparison.Ordinal);
            Assert.Contains($"$ $sg policy diff docs/examples/{state}.yaml docs/examples/{state}-v2.yaml ", s_guide,
                StringComparison.Ordinal);
        }
        var files = examples.Select(e => File.ReadAllText(Path.Combine(s_root, e)).ReplaceLineEndings("\n")).ToList();
        MatchCollection shown = Regex.Matches(s_guide, "```yaml\n(.*?)```",
            RegexOptions.Singleline | RegexOptions.CultureInvariant);
        Assert.NotEmpty(shown);
        foreach (Match yaml in shown)
        {
            Assert.Contains(yaml.Groups[1].Value, files);
        }
    }

    // Only the time a diff took differs between runs.
    private static string Normalise(string text) =>
        Regex.Replace(text, @"examined exactly in [0-9.]+ s", "examined exactly in … s").TrimEnd('\n');

    private static (int Code, string Output) Run(string[] args)
    {
        (int code, string output, string error) = CliRunner.Run(args);
        // The commands write standard error last (a failure, or diff's exit-3 line), so this is the terminal's order.
        return (code, output.ReplaceLineEndings("\n") + error.ReplaceLineEndings("\n"));
    }

    private static string RepositoryRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "StreamGuard.sln")) && Directory.Exists(Path.Combine(dir, "docs")))
            {
                return dir;
            }
        }
        throw new InvalidOperationException($"no repository root above {AppContext.BaseDirectory}");
    }
}
