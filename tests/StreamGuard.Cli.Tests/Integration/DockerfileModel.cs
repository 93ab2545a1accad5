using System.Text.RegularExpressions;

namespace StreamGuard.Tests.Integration;

/// <summary>One instruction of a Dockerfile: its keyword (upper case), its flags (<c>--from=build</c>) and the rest.
/// </summary>
internal sealed record DockerInstruction(string Keyword, IReadOnlyList<string> Flags, string Arguments, int Line)
{
    /// <summary>The exec (JSON array) form: <c>RUN ["dotnet", "x.dll"]</c>, which needs no shell in the image.
    /// </summary>
    public bool ExecForm => Arguments.StartsWith('[') && Arguments.EndsWith(']');

    public string? Flag(string name) =>
        Flags.FirstOrDefault(f => f.StartsWith($"--{name}=", StringComparison.Ordinal)) is { } f
            ? f[(name.Length + 3)..]
            : null;
}

/// <summary>A stage of a multi-stage Dockerfile: its base image, its name, its instructions.</summary>
internal sealed record DockerStage(string Base, string? Name, IReadOnlyList<DockerInstruction> Instructions)
{
    public IEnumerable<DockerInstruction> All(string keyword) =>
        Instructions.Where(i => i.Keyword == keyword);

    /// <summary>The LABEL pairs of the stage (<c>key="value"</c>, values unquoted, as written).</summary>
    public Dictionary<string, string> Labels()
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DockerInstruction label in All("LABEL"))
        {
            foreach (Match m in Regex.Matches(label.Arguments, @"([\w.\-]+)=""((?:[^""\\]|\\.)*)"""))
            {
                labels[m.Groups[1].Value] = m.Groups[2].Value;
            }
        }
        return labels;
    }
}

/// <summary>
/// The Dockerfile's instructions, as Docker's parser reads them: a backslash at the end of a line continues the
/// instruction, comment lines (also inside a continued instruction) are dropped, the parser directive on line 1 is
/// kept apart. Enough to check what goes into which stage; not a general Dockerfile parser (no heredocs, no
/// <c># escape=</c>: the repository's Dockerfile uses neither, and <see cref="Parse"/> refuses them).
/// </summary>
internal static class DockerfileModel
{
    public static (string? Syntax, List<DockerStage> Stages) Parse(string text)
    {
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        string? syntax = null;
        var instructions = new List<DockerInstruction>();
        var current = new List<string>();
        int start = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            string trimmed = line.TrimStart();
            if (i == 0 && Regex.Match(trimmed, @"^#\s*syntax=(\S+)") is { Success: true } directive)
            {
                syntax = directive.Groups[1].Value;
                continue;
            }
            if (trimmed.StartsWith("# escape=", StringComparison.Ordinal) ||
                (!trimmed.StartsWith('#') && trimmed.Contains("<<", StringComparison.Ordinal)))
            {
                throw new NotSupportedException($"line {i + 1}: escape directives and heredocs are not parsed here");
            }
            if (trimmed.StartsWith('#') || (trimmed.Length == 0 && current.Count == 0)) continue;
            if (current.Count == 0) start = i + 1;
            bool continues = line.TrimEnd().EndsWith('\\');
            current.Add(continues ? line.TrimEnd()[..^1].Trim() : line.Trim());
            if (continues) continue;
            instructions.Add(Instruction(string.Join(' ', current.Where(p => p.Length > 0)), start));
            current.Clear();
        }
        if (current.Count > 0) instructions.Add(Instruction(string.Join(' ', current), start));

        var stages = new List<DockerStage>();
        foreach (DockerInstruction from in instructions.Where(i => i.Keyword == "FROM"))
        {
            string[] words = from.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string? name = words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase)
                ? words[2]
                : null;
            int next = instructions.FindIndex(instructions.IndexOf(from) + 1, i => i.Keyword == "FROM");
            List<DockerInstruction> body = instructions[(instructions.IndexOf(from) + 1)..
                (next < 0 ? instructions.Count : next)];
            stages.Add(new DockerStage(words[0], name, body));
        }
        return (syntax, stages);
    }

    private static DockerInstruction Instruction(string text, int line)
    {
        Match m = Regex.Match(text, @"^(\S+)\s*(.*)$");
        string keyword = m.Groups[1].Value.ToUpperInvariant();
        string rest = m.Groups[2].Value;
        var flags = new List<string>();
        while (Regex.Match(rest, @"^(--[a-z-]+=\S+)\s*(.*)$") is { Success: true } flag)
        {
            flags.Add(flag.Groups[1].Value);
            rest = flag.Groups[2].Value;
        }
        return new DockerInstruction(keyword, flags, rest.Trim(), line);
    }
}
