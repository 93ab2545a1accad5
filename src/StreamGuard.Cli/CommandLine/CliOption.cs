using System.Globalization;

namespace StreamGuard.Cli.CommandLine;

/// <summary>
/// One option of a verb: the name its parser reads, the line its help prints, and its default. A verb's options are
/// a table its help is generated from (<see cref="CommandHelp"/>) and its parser reads from (<see cref="CliArgs"/>), so
/// help, parser and defaults cannot disagree.
/// </summary>
/// <param name="name">The name without dashes (<c>commit-interval-ms</c>).</param>
/// <param name="value">The value's placeholder in help (<c>N</c>, <c>FILE</c>).</param>
/// <param name="description">
/// Help text, line breaks as printed; <c>{default}</c> marks where <see cref="DefaultText"/> goes, else it closes the
/// last line in parentheses.
/// </param>
internal abstract class CliOption(string name, string value, string description)
{
    public string Name { get; } = name;

    public string Value { get; } = value;

    public string Description { get; } = description;

    /// <summary>The default in words, for a default the parser computes (<c>default reads/40</c>).</summary>
    public string? Shown { get; init; }

    /// <summary>What help says of the default (<c>default 100</c>); null when the option has none.</summary>
    public string? DefaultText => Shown ?? (DefaultValue is { } v ? "default " + v : null);

    /// <summary>The default the parser uses, as the command line spells it; null when there is none.</summary>
    protected abstract string? DefaultValue { get; }

    /// <summary>The environment variable standing in for the option: <c>STREAMGUARD_COMMIT_INTERVAL_MS</c>.</summary>
    public string Env => "STREAMGUARD_" + Name.ToUpperInvariant().Replace('-', '_');
}

/// <summary>A text option (a path, an address); <see cref="Default"/> is used when it is not given.</summary>
internal sealed class TextOption(string name, string value, string description) : CliOption(name, value, description)
{
    public string? Default { get; init; }

    protected override string? DefaultValue => Default;
}

/// <summary>A whole number from <see cref="Min"/> to <see cref="Max"/>.</summary>
internal sealed class IntOption(string name, string value, string description, int min, int max)
    : CliOption(name, value, description)
{
    public int Min { get; } = min;

    public int Max { get; } = max;

    /// <summary>Used when the option is not given; null when the parser computes it or there is none.</summary>
    public int? Default { get; init; }

    protected override string? DefaultValue => Default?.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A number from <see cref="Min"/> to <see cref="Max"/>.</summary>
internal sealed class DoubleOption(
    string name, string value, string description, double min, double max, double @default)
    : CliOption(name, value, description)
{
    public double Min { get; } = min;

    public double Max { get; } = max;

    public double Default { get; } = @default;

    protected override string? DefaultValue => Default.ToString(CultureInfo.InvariantCulture);
}
