using System.Collections;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace StreamGuard.Cli.Hosting;

/// <summary>The settings of <c>streamguard run</c>, bound from configuration and validated (<see cref="RunConfiguration"/>).</summary>
internal sealed record RunOptions
{
    public required string Bootstrap { get; init; }
    public required string Policy { get; init; }
    public string Group { get; init; } = "streamguard";
    public string? AuditKey { get; init; }
    public string? TopicPrefix { get; init; }
    public int CommitIntervalMs { get; init; } = 100;
    public int CommitBatch { get; init; } = 5_000;
    public IReadOnlyDictionary<string, string> Kafka { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
    public string Processing { get; init; } = "exactly-once";
    public string? TransactionalId { get; init; }
    public int StatsIntervalS { get; init; } = 10;
    public int ReloadIntervalMs { get; init; } = 1_000;

    /// <summary>Where /metrics, /healthz and /readyz are served (<c>http://host:port</c>); null = not served.</summary>
    public string? MetricsUrl { get; init; }

    public bool ExactlyOnce => Processing == "exactly-once";
}

/// <summary>
/// Where <c>run</c>'s settings come from, lowest precedence first: <c>appsettings.json</c> next to the executable, then
/// in the current directory, then the file given with <c>--config FILE</c> (all JSON, section <c>StreamGuard</c>, keys
/// in PascalCase: <c>"CommitIntervalMs": 100</c>), then <c>STREAMGUARD_*</c> environment variables
/// (<c>STREAMGUARD_COMMIT_INTERVAL_MS</c>; nested keys the .NET way, e.g. <c>STREAMGUARD_Logging__LogLevel__Default</c>),
/// then the command line (<c>--commit-interval-ms</c>). Every value is validated before the worker starts; a bad one is
/// reported with its option name and where it came from (exit 2).
/// </summary>
internal static class RunConfiguration
{
    public const string Section = "StreamGuard";

    /// <summary>An option: its command-line name and its configuration key.</summary>
    internal sealed record Option(string Name, string Key)
    {
        public string Env => EnvName(Name);
    }

    /// <summary>Every option of <c>run</c> (the command line's spelling, as <see cref="Commands.RunCommand"/>'s help lists them).</summary>
    public static readonly Option[] Options =
    [
        new("bootstrap", "Bootstrap"), new("policy", "Policy"), new("group", "Group"), new("audit-key", "AuditKey"),
        new("topic-prefix", "TopicPrefix"), new("commit-interval-ms", "CommitIntervalMs"), new("commit-batch", "CommitBatch"),
        new("kafka", "Kafka"), new("processing", "Processing"), new("transactional-id", "TransactionalId"),
        new("stats-interval-s", "StatsIntervalS"), new("reload-interval-ms", "ReloadIntervalMs"), new("metrics", "Metrics"),
    ];

    public static string EnvName(string option) => "STREAMGUARD_" + option.ToUpperInvariant().Replace('-', '_');

    /// <summary>The configuration of one run, with a description of each layer for messages.</summary>
    internal sealed class Layers(IConfigurationRoot root, IReadOnlyList<string> descriptions)
    {
        public IConfigurationRoot Root { get; } = root;

        /// <summary>Where the value in force for <paramref name="key"/> came from.</summary>
        public string SourceOf(string key, Option? option = null)
        {
            for (int i = Root.Providers.Count() - 1; i >= 0; i--)
            {
                IConfigurationProvider p = Root.Providers.ElementAt(i);
                if (!p.TryGet(key, out _)) continue;
                string d = descriptions[i];
                return d switch
                {
                    "env.net" => $"environment variable STREAMGUARD_{key.Replace(":", "__", StringComparison.Ordinal)}",
                    "env" => $"environment variable {option?.Env ?? key}",
                    "cli" => $"--{option?.Name ?? key} on the command line",
                    _ => $"{key} in {d}",
                };
            }
            return "defaults";
        }
    }

    /// <summary>Builds the layers from the command line and the environment; a missing or unreadable file is a usage error.</summary>
    public static Layers Build(CliArgs args, IDictionary environment, string baseDirectory, string currentDirectory)
    {
        var known = new HashSet<string>(Options.Select(o => o.Name), StringComparer.Ordinal) { "config" };
        foreach (string name in args.Options.Keys)
        {
            if (!known.Contains(name)) throw new UsageException($"unknown option --{name}");
        }
        if (args.Positional.Count > 0) throw new UsageException($"unexpected argument '{args.Positional[0]}'");

        var builder = new ConfigurationBuilder();
        var descriptions = new List<string>();
        string shipped = Path.GetFullPath(Path.Combine(baseDirectory, "appsettings.json"));
        string local = Path.GetFullPath(Path.Combine(currentDirectory, "appsettings.json"));
        AddJson(builder, descriptions, shipped, optional: true);
        if (!string.Equals(shipped, local, StringComparison.Ordinal)) AddJson(builder, descriptions, local, optional: true);
        string? configFile = args.Options.GetValueOrDefault("config") ?? NonEmpty(environment[EnvName("config")] as string);
        if (configFile is not null)
        {
            string path = Path.GetFullPath(configFile, currentDirectory);
            if (!File.Exists(path)) throw new UsageException($"--config: no such file {path}");
            AddJson(builder, descriptions, path, optional: false);
        }

        // STREAMGUARD_Logging__LogLevel__Default and the like, the .NET way; then the options by their documented names.
        builder.AddEnvironmentVariables("STREAMGUARD_");
        descriptions.Add("env.net");
        var fromEnv = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (Option o in Options)
        {
            if (NonEmpty(environment[o.Env] as string) is { } v) fromEnv[$"{Section}:{o.Key}"] = v;
        }
        builder.AddInMemoryCollection(fromEnv);
        descriptions.Add("env");
        var fromArgs = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (Option o in Options)
        {
            if (args.Options.TryGetValue(o.Name, out string? v)) fromArgs[$"{Section}:{o.Key}"] = v;
        }
        builder.AddInMemoryCollection(fromArgs);
        descriptions.Add("cli");

        try
        {
            return new Layers(builder.Build(), descriptions);
        }
        catch (InvalidDataException e)
        {
            // The JSON provider's message names the file; its inner exception says where the JSON breaks.
            throw new UsageException($"{e.Message} {e.InnerException?.Message}".Trim());
        }
    }

    private static void AddJson(ConfigurationBuilder builder, List<string> descriptions, string path, bool optional)
    {
        builder.AddJsonFile(path, optional, reloadOnChange: false);
        descriptions.Add(path);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    /// <summary>Binds and validates every option; all problems at once, each naming the option and its source.</summary>
    public static RunOptions Bind(Layers layers)
    {
        IConfigurationSection section = layers.Root.GetSection(Section);
        var problems = new List<string>();
        var byKey = Options.ToDictionary(o => o.Key, StringComparer.OrdinalIgnoreCase);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!byKey.ContainsKey(child.Key))
            {
                problems.Add($"unknown option {layers.SourceOf(child.Path)}; the options are " +
                    string.Join(", ", Options.Select(o => o.Key)));
            }
        }

        string? Text(string name)
        {
            Option o = Options.First(x => x.Name == name);
            return NonEmpty(section[o.Key]);
        }
        string From(string name)
        {
            Option o = Options.First(x => x.Name == name);
            return layers.SourceOf($"{Section}:{o.Key}", o);
        }
        string Required(string name)
        {
            if (Text(name) is { } v) return v;
            Option o = Options.First(x => x.Name == name);
            problems.Add($"--{name} is required (or {o.Env}, or \"{o.Key}\" in the \"{Section}\" section of appsettings.json)");
            return "";
        }
        int Int(string name, int fallback, int min, int max)
        {
            if (Text(name) is not { } v) return fallback;
            if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max) return n;
            problems.Add($"--{name} must be a whole number from {min} to {max}, not '{v}' ({From(name)})");
            return fallback;
        }

        string bootstrap = Required("bootstrap");
        string policy = Required("policy");
        int commitMs = Int("commit-interval-ms", 100, 1, 60_000);
        int commitBatch = Int("commit-batch", 5_000, 1, 1_000_000);
        int statsSeconds = Int("stats-interval-s", 10, 0, 3600);
        int reloadMs = Int("reload-interval-ms", 1000, 0, 3_600_000);
        string processing = Text("processing") ?? "exactly-once";
        if (processing is not ("exactly-once" or "at-least-once"))
        {
            problems.Add($"--processing: '{processing}' is not exactly-once or at-least-once ({From("processing")})");
        }

        var kafka = new Dictionary<string, string>(StringComparer.Ordinal);
        // In JSON the librdkafka settings may also be an object: "Kafka": { "security.protocol": "SSL" }.
        foreach (IConfigurationSection setting in section.GetSection("Kafka").GetChildren())
        {
            if (setting.Value is { } value) kafka[setting.Key] = value;
        }
        foreach (string setting in (Text("kafka") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = setting.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                problems.Add($"--kafka: '{setting}' is not KEY=VALUE ({From("kafka")})");
                continue;
            }
            kafka[setting[..eq].Trim()] = setting[(eq + 1)..].Trim();
        }

        string? metrics = null;
        if (Text("metrics") is { } listen && !listen.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            metrics = MetricsUrl(listen);
            if (metrics is null) problems.Add($"--metrics: '{listen}' is not HOST:PORT, :PORT or http://HOST:PORT ({From("metrics")})");
        }

        if (problems.Count > 0) throw new UsageException(string.Join(Environment.NewLine, problems));
        return new RunOptions
        {
            Bootstrap = bootstrap, Policy = policy, Group = Text("group") ?? "streamguard", AuditKey = Text("audit-key"),
            TopicPrefix = Text("topic-prefix"), CommitIntervalMs = commitMs, CommitBatch = commitBatch, Kafka = kafka,
            Processing = processing, TransactionalId = Text("transactional-id"), StatsIntervalS = statsSeconds,
            ReloadIntervalMs = reloadMs, MetricsUrl = metrics,
        };
    }

    /// <summary><c>host:port</c>, <c>:port</c> (every interface) or <c>http://host:port</c> as Kestrel's URL; null if none of those.</summary>
    internal static string? MetricsUrl(string listen)
    {
        string s = listen.Trim();
        if (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) s = s["http://".Length..].TrimEnd('/');
        int colon = s.LastIndexOf(':');
        if (colon < 0) return null;
        string host = s[..colon];
        if (host.Length == 0 || host == "*") host = "0.0.0.0";
        if (!ushort.TryParse(s[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out ushort port)) return null;
        if (host.Contains('/', StringComparison.Ordinal) || host.Contains(' ', StringComparison.Ordinal)) return null;
        return string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}");
    }
}
