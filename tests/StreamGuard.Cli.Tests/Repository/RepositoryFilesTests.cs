using System.Text.RegularExpressions;

namespace StreamGuard.Tests.Repository;

/// <summary>Rules of the house that the compiler does not check: line length, the architecture document's file
/// names, and persisted strings that do not depend on SPEC's numbering.</summary>
public sealed partial class RepositoryFilesTests
{
    /// <summary>.editorconfig's max_line_length: two files side by side on one screen.</summary>
    private const int MaxLineLength = 120;

    private static string Root
    {
        get
        {
            for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                if (File.Exists(Path.Combine(dir, "StreamGuard.sln"))) return dir;
            }
            throw new InvalidOperationException($"no repository root above {AppContext.BaseDirectory}");
        }
    }

    private static IEnumerable<string> SourceFiles(params string[] folders)
    {
        char sep = Path.DirectorySeparatorChar;
        return folders
            .SelectMany(f => Directory.EnumerateFiles(Path.Combine(Root, f), "*.cs", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{sep}obj{sep}", StringComparison.Ordinal)
                && !p.Contains($"{sep}bin{sep}", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryLineOfCodeFitsTheEditorConfigsMaximumLength()
    {
        Assert.Contains($"max_line_length = {MaxLineLength}", File.ReadAllText(Path.Combine(Root, ".editorconfig")),
            StringComparison.Ordinal);
        var tooLong = new List<string>();
        foreach (string file in SourceFiles("src", "tests", "bench"))
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Length > MaxLineLength)
                {
                    tooLong.Add($"{Path.GetRelativePath(Root, file)}:{i + 1}: {lines[i].Length} characters");
                }
            }
        }
        Assert.True(tooLong.Count == 0,
            $"{tooLong.Count} lines over {MaxLineLength}:\n" + string.Join('\n', tooLong.Take(50)));
    }

    [Fact]
    public void TheArchitectureDocumentNamesOnlyFilesThatExist()
    {
        string doc = File.ReadAllText(Path.Combine(Root, "docs", "architecture.md"));
        string[] sources = SourceFiles("src").Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/')).ToArray();
        MatchCollection names = CodeFileName().Matches(doc);
        Assert.True(names.Count > 40, "the document traces the code through its files");
        var missing = new List<string>();
        foreach (string name in names.Select(m => m.Groups[1].Value).Distinct())
        {
            // "Kafka/Worker/X.cs" is src/StreamGuard.Kafka/Worker/X.cs; "Scan/Walk.cs" a file under some Scan folder.
            bool found = sources.Any(s => s.EndsWith("/" + name, StringComparison.Ordinal)
                || s.EndsWith("/StreamGuard." + name, StringComparison.Ordinal));
            if (!found) missing.Add(name);
        }
        Assert.True(missing.Count == 0,
            "docs/architecture.md names files that do not exist: " + string.Join(", ", missing));
    }

    [Fact]
    public void NoStringInTheProductQuotesASpecSectionNumber()
    {
        // Citations and dead-letter details are persisted: renumbering SPEC must not change what the audit says. Help
        // text is held to the same rule (a user's clone has no SPEC to look the number up in). Comments may cite it.
        var quoting = new List<string>();
        foreach (string file in SourceFiles("src"))
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                string code = lines[i].TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal)) continue;
                if (SpecSection().IsMatch(code)) quoting.Add($"{Path.GetRelativePath(Root, file)}:{i + 1}");
            }
        }
        Assert.True(quoting.Count == 0, "strings quoting SPEC sections: " + string.Join(", ", quoting));
    }

    [GeneratedRegex(@"`([A-Za-z0-9_./]+\.cs)`")]
    private static partial Regex CodeFileName();

    /// <summary>A SPEC section on a line that is not a comment: a string, or a line of a raw string.</summary>
    [GeneratedRegex(@"SPEC\s*§")]
    private static partial Regex SpecSection();
}
