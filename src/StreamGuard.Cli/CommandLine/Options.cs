using System.CommandLine;
using System.Globalization;

namespace StreamGuard.Cli.CommandLine;

/// <summary>
/// An option of a verb that takes one value: what System.CommandLine parses and prints in help, plus the default and
/// the value's kind. The parser holds the value as given (a word); <see cref="CommandArgs"/> reads it as its kind,
/// falling back to the environment (<see cref="Env"/>) and then to the default, so a value from the command line and
/// one from the environment are checked by the same code and refused with the same message (exit 2). A verb declares
/// each option once: the parser accepts exactly the options declared, and help lists exactly those.
/// </summary>
internal abstract class ValueOption : Option<string>
{
    private readonly string _description;

    /// <param name="id">The name without dashes (<c>commit-interval-ms</c>).</param>
    /// <param name="value">The value's placeholder in help (<c>N</c>, <c>FILE</c>).</param>
    /// <param name="description">
    /// Help text, line breaks as printed; <c>{default}</c> marks where <see cref="DefaultText"/> goes, else it closes
    /// the last line in parentheses.
    /// </param>
    protected ValueOption(string id, string value, string description) : base("--" + id)
    {
        Id = id;
        HelpName = value;
        _description = description;
        Arity = ArgumentArity.ExactlyOne;
    }

    /// <summary>The name without dashes: <c>commit-interval-ms</c>.</summary>
    public string Id { get; }

    /// <summary>The default in words, for a default the verb computes (<c>default reads/40</c>).</summary>
    public string? Shown { get; init; }

    /// <summary>What help says of the default (<c>default 100</c>); null when the option has none.</summary>
    public string? DefaultText => Shown ?? (DefaultValue is { } v ? "default " + v : null);

    /// <summary>The default as the command line spells it; null when there is none.</summary>
    protected abstract string? DefaultValue { get; }

    /// <summary>The environment variable standing in for the option: <c>STREAMGUARD_COMMIT_INTERVAL_MS</c>.</summary>
    public string Env => "STREAMGUARD_" + Id.ToUpperInvariant().Replace('-', '_');

    /// <summary>
    /// Sets the help text from the description and the default (the defaults are set after construction, so a verb
    /// calls this when it declares the option); <paramref name="env"/> adds the environment variable's name.
    /// </summary>
    public void Describe(bool env)
    {
        string text = _description.ReplaceLineEndings("\n").TrimEnd();
        if (DefaultText is { } d)
        {
            text = text.Contains("{default}", StringComparison.Ordinal)
                ? text.Replace("{default}", d, StringComparison.Ordinal)
                : text + $" ({d})";
        }
        Description = env ? text + $"\n[env {Env}]" : text;
    }
}

/// <summary>A text option (a path, an address); <see cref="Default"/> is used when it is not given.</summary>
internal sealed class TextOption(string id, string value, string description) : ValueOption(id, value, description)
{
    public string? Default { get; init; }

    protected override string? DefaultValue => Default;
}

/// <summary>A whole number from <see cref="Min"/> to <see cref="Max"/>.</summary>
internal sealed class IntOption(string id, string value, string description, int min, int max)
    : ValueOption(id, value, description)
{
    public int Min { get; } = min;

    public int Max { get; } = max;

    /// <summary>Used when the option is not given; null when the verb computes it or there is none.</summary>
    public int? Default { get; init; }

    protected override string? DefaultValue => Default?.ToString(CultureInfo.InvariantCulture);

    /// <summary>The number a word stands for; null (and <paramref name="problem"/>) if none in range.</summary>
    public int? Parse(string word, out string? problem)
    {
        if (int.TryParse(word, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= Min && n <= Max)
        {
            problem = null;
            return n;
        }
        problem = $"{Name} must be a whole number from {Min} to {Max}, not '{word}'";
        return null;
    }
}

/// <summary>A number from <see cref="Min"/> to <see cref="Max"/>.</summary>
internal sealed class DoubleOption(string id, string value, string description, double min, double max, double @default)
    : ValueOption(id, value, description)
{
    public double Min { get; } = min;

    public double Max { get; } = max;

    public double Default { get; } = @default;

    protected override string? DefaultValue => Default.ToString(CultureInfo.InvariantCulture);

    public double? Parse(string word, out string? problem)
    {
        if (double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) &&
            n >= Min && n <= Max)
        {
            problem = null;
            return n;
        }
        problem = $"{Name} must be a number from {Min} to {Max}, not '{word}'";
        return null;
    }
}

/// <summary>
/// One of a few words, each standing for a value of <typeparamref name="T"/>; the words complete in a shell.
/// </summary>
internal sealed class ChoiceOption<T> : ValueOption
{
    private readonly (string Word, T Value)[] _choices;
    private readonly T _default = default!;

    public ChoiceOption(string id, string value, string description, params (string Word, T Value)[] choices)
        : base(id, value, description)
    {
        _choices = choices;
        Words = Array.ConvertAll(choices, c => c.Word);
        CompletionSources.Add(Words.ToArray());
    }

    /// <summary>The words in the order help and errors list them.</summary>
    public IReadOnlyList<string> Words { get; }

    public bool HasDefault { get; private init; }

    /// <summary>The value used when the option is not given; it must have a word.</summary>
    public T Default
    {
        get => HasDefault ? _default : throw new InvalidOperationException($"{Name} has no default");
        init
        {
            _ = WordOf(value);
            _default = value;
            HasDefault = true;
        }
    }

    /// <summary>The words as an error lists them: <c>off, on or both</c>.</summary>
    public string WordList =>
        Words.Count == 1 ? Words[0] : string.Join(", ", Words.Take(Words.Count - 1)) + " or " + Words[^1];

    protected override string? DefaultValue => HasDefault ? WordOf(_default) : null;

    /// <summary>The value a word stands for; false if the word is not one of <see cref="Words"/>.</summary>
    public bool TryParse(string word, out T value)
    {
        foreach ((string w, T v) in _choices)
        {
            if (w == word)
            {
                value = v;
                return true;
            }
        }
        value = default!;
        return false;
    }

    /// <summary>The word for a value.</summary>
    public string WordOf(T value)
    {
        foreach ((string w, T v) in _choices)
        {
            if (EqualityComparer<T>.Default.Equals(v, value)) return w;
        }
        throw new ArgumentOutOfRangeException(nameof(value), value, $"{Name} has no word for it");
    }

    /// <summary>The usage error for a word that is not a choice: it lists the choices.</summary>
    public string NotAChoice(string word) => $"{Name}: '{word}' is not {WordList}";
}
