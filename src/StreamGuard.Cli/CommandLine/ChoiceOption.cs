namespace StreamGuard.Cli.CommandLine;

/// <summary>One of a few words, each standing for a value of <typeparamref name="T"/>.</summary>
internal sealed class ChoiceOption<T>(
    string name, string value, string description, params (string Word, T Value)[] choices)
    : CliOption(name, value, description)
{
    private readonly T _default = default!;

    /// <summary>The words in the order help and errors list them.</summary>
    public IReadOnlyList<string> Words { get; } = Array.ConvertAll(choices, c => c.Word);

    public bool HasDefault { get; private init; }

    /// <summary>The value used when the option is not given; it must have a word.</summary>
    public T Default
    {
        get => HasDefault ? _default : throw new InvalidOperationException($"--{Name} has no default");
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
        foreach ((string w, T v) in choices)
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
        foreach ((string w, T v) in choices)
        {
            if (EqualityComparer<T>.Default.Equals(v, value)) return w;
        }
        throw new ArgumentOutOfRangeException(nameof(value), value, $"--{Name} has no word for it");
    }

    /// <summary>The usage error for a word that is not a choice: it lists the choices.</summary>
    public string NotAChoice(string word) => $"--{Name}: '{word}' is not {WordList}";
}
