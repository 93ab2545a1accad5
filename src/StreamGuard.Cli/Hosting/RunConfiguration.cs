using System.Collections;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Hosting;

/// <summary>
/// Where <c>run</c>'s settings come from, lowest precedence first: <c>appsettings.json</c> next to the executable, then
/// in the current directory, then the file given with <c>--config FILE</c> (all JSON, section <c>StreamGuard</c>, keys
/// in PascalCase: <c>"CommitIntervalMs": 250</c>), then <c>STREAMGUARD_*</c> environment variables
/// (<c>STREAMGUARD_COMMIT_INTERVAL_MS</c>; nested keys the .NET way, e.g.
/// <c>STREAMGUARD_Logging__LogLevel__Default</c>), then the command line (<c>--commit-interval-ms</c>). A setting given
/// nowhere takes its option's default (<see cref="RunOptionTable"/>). Every value is validated before the worker
/// starts; a bad one is reported with its option name and where it came from (exit 2).
/// </summary>
internal static class RunConfiguration
{
    public const string Section = "StreamGuard";

    /// <summary>The configuration of one run, with a description of each layer for messages.</summary>
    internal sealed class Layers(IConfigurationRoot root, IReadOnlyList<string> descriptions)
    {
        public IConfigurationRoot Root { get; } = root;

        /// <summary>Where the value in force for <paramref name="key"/> came from.</summary>
        public string SourceOf(string key, ValueOption? option = null)
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
                    "cli" => $"{option?.Name ?? key} on the command line",
                    _ => $"{key} in {d}",
                };
            }
            return "defaults";
        }
    }

    /// <summary>
    /// Builds the layers from the command line (as parsed: only <c>run</c>'s options, each as given) and the
    /// environment; a missing or unreadable file is a usage error.
    /// </summary>
    public static Layers Build(CommandArgs args, IDictionary environment, string baseDirectory, string currentDirectory)
    {
        IReadOnlyDictionary<string, string> given = args.Given;
        var builder = new ConfigurationBuilder();
        var descriptions = new List<string>();
        string shipped = Path.GetFullPath(Path.Combine(baseDirectory, "appsettings.json"));
        string local = Path.GetFullPath(Path.Combine(currentDirectory, "appsettings.json"));
        AddJson(builder, descriptions, shipped, optional: true);
        if (!string.Equals(shipped, local, StringComparison.Ordinal))
        {
            AddJson(builder, descriptions, local, optional: true);
        }
        TextOption config = RunOptionTable.Config;
        string? configFile = given.GetValueOrDefault(config.Id) ?? NonEmpty(environment[config.Env] as string);
        if (configFile is not null)
        {
            string path = Path.GetFullPath(configFile, currentDirectory);
            if (!File.Exists(path)) throw new UsageException($"--config: no such file {path}");
            AddJson(builder, descriptions, path, optional: false);
        }

        // STREAMGUARD_Logging__LogLevel__Default and the like, the .NET way; then the options by their own names.
        builder.AddEnvironmentVariables("STREAMGUARD_");
        descriptions.Add("env.net");
        var fromEnv = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (ValueOption o in RunOptionTable.Settings)
        {
            if (NonEmpty(environment[o.Env] as string) is { } v) fromEnv[ConfigPath(o)] = v;
        }
        builder.AddInMemoryCollection(fromEnv);
        descriptions.Add("env");
        var fromArgs = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (ValueOption o in RunOptionTable.Settings)
        {
            if (given.TryGetValue(o.Id, out string? v)) fromArgs[ConfigPath(o)] = v;
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

    /// <summary>A setting's configuration path: <c>StreamGuard:CommitIntervalMs</c>.</summary>
    private static string ConfigPath(ValueOption option) => $"{Section}:{RunOptionTable.Key(option)}";

    private static void AddJson(ConfigurationBuilder builder, List<string> descriptions, string path, bool optional)
    {
        builder.AddJsonFile(path, optional, reloadOnChange: false);
        descriptions.Add(path);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    /// <summary>
    /// Binds and validates every option, an absent one taking its default from <see cref="RunOptionTable"/>; all
    /// problems at once, each naming the option and its source.
    /// </summary>
    public static RunOptions Bind(Layers layers)
    {
        IConfigurationSection section = layers.Root.GetSection(Section);
        var problems = new List<string>();
        var keys = RunOptionTable.Settings.Select(RunOptionTable.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!keys.Contains(child.Key))
            {
                problems.Add($"unknown option {layers.SourceOf(child.Path)}; the options are " +
                    string.Join(", ", RunOptionTable.Settings.Select(RunOptionTable.Key)));
            }
        }

        string? Given(ValueOption o) => NonEmpty(section[RunOptionTable.Key(o)]);
        string From(ValueOption o) => layers.SourceOf(ConfigPath(o), o);
        string? Text(TextOption o) => Given(o) ?? o.Default;
        string Required(TextOption o)
        {
            if (Given(o) is { } v) return v;
            problems.Add($"{o.Name} is required (or {o.Env}, or \"{RunOptionTable.Key(o)}\" in the \"{Section}\" " +
                "section of appsettings.json)");
            return "";
        }
        int Int(IntOption o)
        {
            int fallback = o.Default.GetValueOrDefault();
            if (Given(o) is not { } v) return fallback;
            if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) &&
                n >= o.Min && n <= o.Max)
            {
                return n;
            }
            problems.Add($"{o.Name} must be a whole number from {o.Min} to {o.Max}, not '{v}' ({From(o)})");
            return fallback;
        }
        T Choice<T>(ChoiceOption<T> o)
        {
            if (Given(o) is not { } v) return o.Default;
            if (o.TryParse(v, out T value)) return value;
            problems.Add($"{o.NotAChoice(v)} ({From(o)})");
            return o.Default;
        }

        string bootstrap = Required(RunOptionTable.Bootstrap);
        string policy = Required(RunOptionTable.Policy);
        int commitMs = Int(RunOptionTable.CommitIntervalMs);
        int commitBatch = Int(RunOptionTable.CommitBatch);
        int statsSeconds = Int(RunOptionTable.StatsIntervalS);
        int reloadMs = Int(RunOptionTable.ReloadIntervalMs);
        ProcessingMode processing = Choice(RunOptionTable.Processing);
        int topicPartitions = Int(RunOptionTable.TopicPartitions);
        int topicReplication = Int(RunOptionTable.TopicReplication);
        string template = Text(RunOptionTable.TopicTemplate)!;
        if (TopicNames.TemplateProblem(template) is { } templateProblem)
        {
            problems.Add($"{RunOptionTable.TopicTemplate.Name}: {templateProblem} " +
                $"({From(RunOptionTable.TopicTemplate)})");
        }

        var kafka = new Dictionary<string, string>(StringComparer.Ordinal);
        // In JSON the librdkafka settings may also be an object: "Kafka": { "security.protocol": "SSL" }.
        IConfigurationSection kafkaSection = section.GetSection(RunOptionTable.Key(RunOptionTable.Kafka));
        foreach (IConfigurationSection setting in kafkaSection.GetChildren())
        {
            if (setting.Value is { } value) kafka[setting.Key] = value;
        }
        const StringSplitOptions split = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        foreach (string setting in (Given(RunOptionTable.Kafka) ?? "").Split(';', split))
        {
            int eq = setting.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                problems.Add($"--kafka: '{setting}' is not KEY=VALUE ({From(RunOptionTable.Kafka)})");
                continue;
            }
            kafka[setting[..eq].Trim()] = setting[(eq + 1)..].Trim();
        }
        // The worker caps batch.size (WorkerClientConfig.MaxBatchBytes); one it cannot read is refused here, not when
        // the worker builds its producer.
        if (kafka.TryGetValue("batch.size", out string? batch) && !WorkerClientConfig.TryBatchBytes(batch, out _))
        {
            problems.Add($"--kafka: 'batch.size={batch}' is {WorkerClientConfig.BatchSizeExpected} " +
                $"({From(RunOptionTable.Kafka)})");
        }

        string? metrics = null;
        if (Text(RunOptionTable.Metrics) is { } listen && !listen.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            metrics = MetricsUrl(listen);
            if (metrics is null)
            {
                problems.Add($"--metrics: '{listen}' is not HOST:PORT, :PORT or http://HOST:PORT " +
                    $"({From(RunOptionTable.Metrics)})");
            }
        }

        int livenessSeconds = Int(RunOptionTable.LivenessTimeoutS);
        string? otlp = null;
        if (Text(RunOptionTable.OtlpEndpoint) is { } endpoint
            && !endpoint.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            otlp = endpoint.Trim();
            if (!Uri.TryCreate(otlp, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
            {
                problems.Add($"--otlp-endpoint: '{endpoint}' is not an http:// or https:// URL " +
                    $"({From(RunOptionTable.OtlpEndpoint)})");
            }
        }

        if (problems.Count > 0) throw new UsageException(string.Join(Environment.NewLine, problems));
        return new RunOptions
        {
            Bootstrap = bootstrap, Policy = policy, Group = Text(RunOptionTable.Group)!,
            AuditKey = Given(RunOptionTable.AuditKey), RetiredAuditKey = Given(RunOptionTable.RetiredAuditKey),
            TopicPrefix = Given(RunOptionTable.TopicPrefix),
            TopicTemplate = template, TopicPartitions = topicPartitions, TopicReplication = topicReplication,
            CommitIntervalMs = commitMs, CommitBatch = commitBatch, Kafka = kafka, Processing = processing,
            TransactionalId = Given(RunOptionTable.TransactionalId), StatsIntervalS = statsSeconds,
            ReloadIntervalMs = reloadMs, MetricsUrl = metrics, LivenessTimeoutS = livenessSeconds, OtlpEndpoint = otlp,
        };
    }

    /// <summary>
    /// <c>host:port</c>, <c>:port</c> (every interface) or <c>http://host:port</c> as Kestrel's URL; null if none of
    /// those.
    /// </summary>
    internal static string? MetricsUrl(string listen)
    {
        string s = listen.Trim();
        if (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) s = s["http://".Length..].TrimEnd('/');
        int colon = s.LastIndexOf(':');
        if (colon < 0) return null;
        string host = s[..colon];
        if (host.Length == 0 || host == "*") host = "0.0.0.0";
        if (!ushort.TryParse(s[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out ushort port))
        {
            return null;
        }
        if (host.Contains('/', StringComparison.Ordinal) || host.Contains(' ', StringComparison.Ordinal)) return null;
        return string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}");
    }
}
