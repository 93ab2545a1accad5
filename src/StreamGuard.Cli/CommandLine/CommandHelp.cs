using System.Text;

namespace StreamGuard.Cli.CommandLine;

/// <summary>A titled list of options in a verb's help (<c>Options:</c>).</summary>
internal sealed record OptionGroup(string Title, params CliOption[] Options);

/// <summary>
/// A verb's help, generated from its option table: the synopsis and prose as written, then each group of options one
/// per row (<c>--name VALUE</c>, the description, the default), descriptions aligned in one column.
/// </summary>
internal sealed class CommandHelp
{
    /// <summary>Names longer than this overhang the description column instead of widening it.</summary>
    private const int MaxNameWidth = 22;

    public CommandHelp(string head, params OptionGroup[] groups) : this(head, groups, tail: null)
    {
    }

    /// <param name="head">Synopsis and prose, printed first as written.</param>
    /// <param name="groups">The options, by group.</param>
    /// <param name="tail">Prose printed after the options.</param>
    public CommandHelp(string head, OptionGroup[] groups, string? tail)
    {
        Options = [.. groups.SelectMany(g => g.Options)];
        if (Options.Select(o => o.Name).Distinct(StringComparer.Ordinal).Count() != Options.Count)
        {
            throw new ArgumentException("an option is listed twice", nameof(groups));
        }
        int width = 2 + groups.SelectMany(g => g.Options).Select(Label).Where(l => l.Length <= MaxNameWidth)
            .DefaultIfEmpty("").Max(l => l.Length) + 2;
        var text = new StringBuilder(head.TrimEnd()).Append('\n');
        foreach (OptionGroup group in groups)
        {
            text.Append('\n').Append(group.Title).Append('\n');
            foreach (CliOption option in group.Options) Row(text, option, width);
        }
        if (tail is not null) text.Append('\n').Append(tail.TrimEnd()).Append('\n');
        Text = text.ToString();
    }

    /// <summary>The help as printed.</summary>
    public string Text { get; }

    /// <summary>Every option of the verb, in the order help lists them: all its parser may read.</summary>
    public IReadOnlyList<CliOption> Options { get; }

    public override string ToString() => Text;

    private static string Label(CliOption o) => o.Value.Length == 0 ? $"--{o.Name}" : $"--{o.Name} {o.Value}";

    private static void Row(StringBuilder text, CliOption option, int width)
    {
        string description = option.Description;
        if (option.DefaultText is { } d)
        {
            description = description.Contains("{default}", StringComparison.Ordinal)
                ? description.Replace("{default}", d, StringComparison.Ordinal)
                : description + $" ({d})";
        }
        string label = "  " + Label(option);
        text.Append(label).Append(' ', Math.Max(2, width - label.Length));
        string[] lines = description.ReplaceLineEndings("\n").Split('\n');
        text.Append(lines[0]).Append('\n');
        for (int i = 1; i < lines.Length; i++) text.Append(' ', width).Append(lines[i]).Append('\n');
    }
}
