using System.Globalization;

namespace StreamGuard.Cli.CommandLine;

/// <summary>
/// <c>--name value</c> (or <c>--name=value</c>) options and positional arguments of one verb. Every option can also
/// come from the environment as <c>STREAMGUARD_NAME</c> (upper case, dashes as underscores); the command line wins.
/// Options are read only through the verb's table (<see cref="CommandHelp.Options"/>): what the parser reads is what
/// help lists, and what help lists is the only thing the parser accepts.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly HashSet<CliOption> _table;

    /// <param name="args">The command line after the verb.</param>
    /// <param name="table">The verb's options: reading any other is a bug (it would be missing from help).</param>
    public CliArgs(IEnumerable<string> args, IEnumerable<CliOption> table)
    {
        _table = [.. table];
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a is "-h" or "--help") { Help = true; continue; }
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                string name = a[2..];
                string? inline = null;
                int eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
                if (inline is null)
                {
                    if (i + 1 >= list.Count) throw new UsageException($"--{name} needs a value");
                    inline = list[++i];
                }
                _options[name] = inline;
            }
            else
            {
                Positional.Add(a);
            }
        }
    }

    public bool Help { get; }

    public List<string> Positional { get; } = [];

    /// <summary>The options as given on the command line (name without dashes → value).</summary>
    public IReadOnlyDictionary<string, string> Options => _options;

    /// <summary>
    /// Called by <see cref="RejectUnknown"/> once the options are read and checked, before the verb acts on them: a
    /// test that stops there sees what the verb's parser read (<see cref="Read"/>) without running the verb.
    /// </summary>
    public Action<CliArgs>? OnParsed { get; init; }

    /// <summary>The names of the options the parser has read so far, given or not.</summary>
    public IReadOnlyCollection<string> Read => _used;

    /// <summary>The value given on the command line or in the environment; null if neither.</summary>
    public string? Get(CliOption option)
    {
        if (!_table.Contains(option))
        {
            throw new InvalidOperationException(
                $"--{option.Name} is read but is not in the verb's option table (its help)");
        }
        _used.Add(option.Name);
        if (_options.TryGetValue(option.Name, out string? v)) return v;
        string? fromEnv = Environment.GetEnvironmentVariable(option.Env);
        return string.IsNullOrEmpty(fromEnv) ? null : fromEnv;
    }

    public string Require(CliOption option) => Get(option) ?? throw new UsageException($"--{option.Name} is required");

    /// <summary>The value given, else the option's default (null when it has none).</summary>
    public string? Text(TextOption option) => Get(option) ?? option.Default;

    /// <summary>The number given, else the option's default.</summary>
    public int Int(IntOption option) =>
        GivenInt(option) ?? option.Default ?? throw new InvalidOperationException($"--{option.Name} has no default");

    /// <summary>The number given; null if none (for a default the verb computes).</summary>
    public int? GivenInt(IntOption option)
    {
        string? v = Get(option);
        if (v is null) return null;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ||
            n < option.Min || n > option.Max)
        {
            throw new UsageException(
                $"--{option.Name} must be a whole number from {option.Min} to {option.Max}, not '{v}'");
        }
        return n;
    }

    public double Double(DoubleOption option)
    {
        string? v = Get(option);
        if (v is null) return option.Default;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) ||
            n < option.Min || n > option.Max)
        {
            throw new UsageException($"--{option.Name} must be a number from {option.Min} to {option.Max}, not '{v}'");
        }
        return n;
    }

    /// <summary>The value of the word given, else of the option's default word.</summary>
    public T Choice<T>(ChoiceOption<T> option)
    {
        string? word = Get(option);
        if (word is null)
        {
            return option.HasDefault ? option.Default : throw new UsageException($"--{option.Name} is required");
        }
        return option.TryParse(word, out T value) ? value : throw new UsageException(option.NotAChoice(word));
    }

    /// <summary>Rejects options nobody asked for (typos must not pass silently).</summary>
    public void RejectUnknown()
    {
        foreach (string name in _options.Keys)
        {
            if (!_used.Contains(name)) throw new UsageException($"unknown option --{name}");
        }
        OnParsed?.Invoke(this);
    }
}
