using System.Globalization;

namespace StreamGuard.Cli;

/// <summary>A usage error: printed with the verb's help, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c> (or <c>--name=value</c>) options and positional arguments. Every option can also come from
/// the environment as <c>STREAMGUARD_NAME</c> (upper case, dashes as underscores); the command line wins.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public CliArgs(IEnumerable<string> args)
    {
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

    public string? Get(string name)
    {
        _used.Add(name);
        if (_options.TryGetValue(name, out string? v)) return v;
        string env = "STREAMGUARD_" + name.ToUpperInvariant().Replace('-', '_');
        string? fromEnv = Environment.GetEnvironmentVariable(env);
        return string.IsNullOrEmpty(fromEnv) ? null : fromEnv;
    }

    public string Require(string name) => Get(name) ?? throw new UsageException($"--{name} is required");

    public int Int(string name, int fallback, int min = 0, int max = int.MaxValue)
    {
        string? v = Get(name);
        if (v is null) return fallback;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
        {
            throw new UsageException($"--{name} must be a whole number from {min} to {max}, not '{v}'");
        }
        return n;
    }

    public double Double(string name, double fallback, double min, double max)
    {
        string? v = Get(name);
        if (v is null) return fallback;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || n < min || n > max)
        {
            throw new UsageException($"--{name} must be a number from {min} to {max}, not '{v}'");
        }
        return n;
    }

    /// <summary>Rejects options nobody asked for (typos must not pass silently).</summary>
    public void RejectUnknown()
    {
        foreach (string name in _options.Keys)
        {
            if (!_used.Contains(name)) throw new UsageException($"unknown option --{name}");
        }
    }
}
