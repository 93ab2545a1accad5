using System.Collections;
using StreamGuard.Cli;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Cli.Hosting;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// `run`'s settings: appsettings.json, --config FILE, STREAMGUARD_* variables and the command line, in that order of
/// precedence; every bad value refused before the worker starts, naming the option and where it came from (exit 2).
/// </summary>
[Collection("Console")]
public sealed class RunConfigurationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-runcfg-" + Guid.NewGuid().ToString("N"));

    public RunConfigurationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private RunOptions Bind(string[] args, Dictionary<string, string>? env = null, string? baseDirectory = null) =>
        RunConfiguration.Bind(RunConfiguration.Build(Parsed(args), new Hashtable(env ?? []),
            baseDirectory ?? AppContext.BaseDirectory, _dir));

    /// <summary>`run`'s command line as the parser reads it; one it refuses fails the test.</summary>
    private static CommandArgs Parsed(string[] args)
    {
        System.CommandLine.ParseResult result = StreamGuard.Cli.Cli.Root.Parse(["run", .. args]);
        Assert.Empty(result.Errors);
        return new CommandArgs(result);
    }

    private UsageException Refused(string[] args, Dictionary<string, string>? env = null) =>
        Assert.Throws<UsageException>(() => Bind(args, env));

    private string Json(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Err) Cli(params string[] args)
    {
        (int code, _, string error) = CliRunner.Run(args);
        return (code, error);
    }

    /// <summary>
    /// A worker salts its audit chains and keys its plate references with the audit key: under a random one, a
    /// restarted worker could continue none of its chains and would refuse to start, for good. So `run` has no
    /// default key: it refuses to start without one, before anything else is read.
    /// </summary>
    [Fact]
    public void RunWithoutAnAuditKeyExitsTwoBeforeStarting()
    {
        Assert.Null(Environment.GetEnvironmentVariable("STREAMGUARD_AUDIT_KEY"));
        var r = Cli("run", "--bootstrap", "localhost:9092", "--policy", Path.Combine(_dir, "absent.yaml"));
        Assert.Equal(2, r.Code);
        Assert.Contains("streamguard run: --audit-key env:NAME|file:PATH (or STREAMGUARD_AUDIT_KEY) is required",
            r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("random", r.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--commit-interval-ms", "0")]
    [InlineData("--commit-batch", "many")]
    [InlineData("--processing", "twice")]
    [InlineData("--metrics", "everywhere")]
    [InlineData("--kafka", "acks")]
    [InlineData("--kafka", "batch.size=1MB")]
    [InlineData("--kafka", "batch.size=0")]
    [InlineData("--stats-interval-s", "-1")]
    public void ABadOptionOnTheCommandLineExitsTwoNamingIt(string option, string value)
    {
        var r = Cli("run", "--bootstrap", "localhost:9092", "--policy", "p.yaml", option, value);
        Assert.Equal(2, r.Code);
        Assert.Contains($"streamguard run: {option}", r.Err, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", r.Err, StringComparison.Ordinal);
        Assert.Contains($"{option} on the command line", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownOptionsMissingValuesAndMissingRequiredOptionsExitTwo()
    {
        var typo = Cli("run", "--bootstrap", "b", "--policy", "p", "--comit-batch", "5");
        Assert.Equal(2, typo.Code);
        Assert.Contains("unknown option --comit-batch", typo.Err, StringComparison.Ordinal);
        var dangling = Cli("run", "--bootstrap");
        Assert.Equal(2, dangling.Code);
        Assert.Contains("--bootstrap needs a value", dangling.Err, StringComparison.Ordinal);
        UsageException missing = Refused([]);
        Assert.Contains("--bootstrap is required", missing.Message, StringComparison.Ordinal);
        Assert.Contains("--policy is required", missing.Message, StringComparison.Ordinal);
        var extra = Cli("run", "--bootstrap", "b", "--policy", "p", "extra");
        Assert.Equal(2, extra.Code);
        Assert.Contains("unexpected argument 'extra'", extra.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadEnvironmentVariableIsNamedWithTheOptionItSets()
    {
        UsageException e =
            Refused(["--bootstrap", "b", "--policy", "p"], new() { ["STREAMGUARD_COMMIT_BATCH"] = "lots" });
        Assert.Contains("--commit-batch must be a whole number from 1 to 1000000, not 'lots' " +
            "(environment variable STREAMGUARD_COMMIT_BATCH)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfigFileIsCheckedForUnknownKeysBadValuesAndBrokenJson()
    {
        string file = Json("bad.json",
            """{"StreamGuard": {"Bootstrap": "b", "Policy": "p", "CommitIntervalMs": 999999, "Groupp": "x"}}""");
        string message = Refused(["--config", file]).Message;
        Assert.Contains("--commit-interval-ms must be a whole number from 1 to 60000, not '999999' " +
            $"(StreamGuard:CommitIntervalMs in {file})", message, StringComparison.Ordinal);
        Assert.Contains($"unknown option StreamGuard:Groupp in {file}", message, StringComparison.Ordinal);

        string broken = Json("broken.json", """{"StreamGuard": {"Bootstrap": """);
        Assert.Contains("broken.json", Refused(["--config", broken]).Message, StringComparison.Ordinal);
        Assert.Contains("--config: no such file", Refused(["--config", Path.Combine(_dir, "absent.json")]).Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void TheCommandLineBeatsTheEnvironmentWhichBeatsTheConfigFileWhichBeatsAppsettings()
    {
        Json("appsettings.json", """{"StreamGuard": """ +
            """{"Bootstrap": "from-appsettings", "Policy": "p.yaml", "Group": "g-appsettings", "CommitBatch": 7}}""");
        string file = Json("site.json", """
            {"StreamGuard": {"Group": "g-file", "TopicPrefix": "t-file.", "CommitIntervalMs": 250,
                             "Kafka": {"security.protocol": "SSL", "session.timeout.ms": "9000"}}}
            """);
        RunOptions o = Bind(["--config", file, "--commit-interval-ms", "50", "--kafka", "session.timeout.ms=12000"],
            new()
            {
                ["STREAMGUARD_GROUP"] = "g-env", ["STREAMGUARD_COMMIT_INTERVAL_MS"] = "75",
                ["STREAMGUARD_METRICS"] = ":9464",
            });
        Assert.Equal("from-appsettings", o.Bootstrap); // ./appsettings.json (the current directory's)
        Assert.Equal(7, o.CommitBatch);
        Assert.Equal("t-file.", o.TopicPrefix);
        Assert.Equal("g-env", o.Group);
        Assert.Equal(50, o.CommitIntervalMs);
        Assert.Equal("SSL", o.Kafka["security.protocol"]);
        Assert.Equal("12000", o.Kafka["session.timeout.ms"]);
        Assert.Equal("http://0.0.0.0:9464", o.MetricsUrl);
        Assert.Equal(5, Bind(["--bootstrap", "b", "--policy", "p", "--config", file],
            new() { ["STREAMGUARD_CONFIG"] = "ignored.json", ["STREAMGUARD_COMMIT_BATCH"] = "5" }).CommitBatch);
    }

    [Fact]
    public void TheShippedAppsettingsRestatesNoDefaultSoBindingWithoutItGivesTheSameOptions()
    {
        // appsettings.json next to the executable configures logging; the options' defaults are stated once, in code.
        string shippedPath = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        Assert.True(File.Exists(shippedPath));
        using (var shipped = System.Text.Json.JsonDocument.Parse(File.ReadAllText(shippedPath)))
        {
            Assert.True(shipped.RootElement.TryGetProperty("Logging", out _));
            Assert.False(shipped.RootElement.TryGetProperty(RunConfiguration.Section, out _));
        }
        string empty = Path.Combine(_dir, "no-appsettings");
        Directory.CreateDirectory(empty);
        RunOptions withShipped = Bind(["--bootstrap", "b", "--policy", "p"]);
        RunOptions without = Bind(["--bootstrap", "b", "--policy", "p"], baseDirectory: empty);
        RunOptions coded = new() { Bootstrap = "b", Policy = "p" };
        Assert.Equal(coded with { Kafka = withShipped.Kafka }, withShipped);
        Assert.Equal(coded with { Kafka = without.Kafka }, without);
        Assert.Empty(withShipped.Kafka);
        Assert.Null(withShipped.MetricsUrl);
    }

    [Fact]
    public void RunTakesTheWorkersDefaultsForTheWorkersSettings()
    {
        var worker = new WorkerOptions { BootstrapServers = "b" };
        RunOptions run = Bind(["--bootstrap", "b", "--policy", "p"]);
        Assert.Equal(worker.GroupId, run.Group);
        Assert.Equal(worker.CommitInterval, TimeSpan.FromMilliseconds(run.CommitIntervalMs));
        Assert.Equal(worker.CommitBatch, run.CommitBatch);
        Assert.Equal(worker.Processing, run.Processing);
        Assert.Equal(ProcessingMode.ExactlyOnce, run.Processing);
        Assert.True(worker.ExactlyOnce);
        Assert.False((worker with { Processing = ProcessingMode.AtLeastOnce }).ExactlyOnce);
    }

    /// <summary>
    /// The defaults an operator reads in docs/operator-guide.md and README, pinned: help, configuration and the worker
    /// all take them from one table, so a changed default changes all three at once, and this test says so.
    /// </summary>
    [Fact]
    public void RunsDefaultsAreTheDocumentedValues()
    {
        RunOptions run = Bind(["--bootstrap", "b", "--policy", "p"]);
        Assert.Equal("streamguard", run.Group);
        Assert.Equal(100, run.CommitIntervalMs);
        Assert.Equal(5_000, run.CommitBatch);
        Assert.Equal(ProcessingMode.ExactlyOnce, run.Processing);
        Assert.Equal(10, run.StatsIntervalS);
        Assert.Equal(1_000, run.ReloadIntervalMs);
        Assert.Null(run.MetricsUrl);
        var worker = new WorkerOptions { BootstrapServers = "b" };
        Assert.Equal(TimeSpan.FromSeconds(30), worker.FlushTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), worker.TransactionTimeout);
        Assert.Equal(8, worker.AckLatencySampleEvery);
    }

    [Theory]
    [InlineData("exactly-once", ProcessingMode.ExactlyOnce)]
    [InlineData("at-least-once", ProcessingMode.AtLeastOnce)]
    public void ProcessingIsSpelledAsOnTheCommandLineFromEverySource(string word, ProcessingMode mode)
    {
        Assert.Equal(mode, Bind(["--bootstrap", "b", "--policy", "p", "--processing", word]).Processing);
        Assert.Equal(mode,
            Bind(["--bootstrap", "b", "--policy", "p"], new() { ["STREAMGUARD_PROCESSING"] = word }).Processing);
        string file = Json("processing.json", $$$"""{"StreamGuard": {"Processing": "{{{word}}}"}}""");
        Assert.Equal(mode, Bind(["--bootstrap", "b", "--policy", "p", "--config", file]).Processing);
        Assert.Equal(word, RunOptionTable.Processing.WordOf(mode));
    }

    [Theory]
    [InlineData("ExactlyOnce")]
    [InlineData("at_least_once")]
    [InlineData("exactly-once ")]
    [InlineData("1")]
    public void AProcessingModeThatIsNotOneOfTheWordsExitsTwoListingThem(string word)
    {
        var r = Cli("run", "--bootstrap", "localhost:9092", "--policy", "p.yaml", "--processing", word);
        Assert.Equal(2, r.Code);
        Assert.Contains(
            $"--processing: '{word}' is not exactly-once or at-least-once (--processing on the command line)",
            r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void RunsHelpStatesTheDefaultInForceForEveryOption()
    {
        string help = RunCommandHelp();
        RunOptions defaults = new() { Bootstrap = "b", Policy = "p" };
        foreach (ValueOption option in RunOptionTable.All)
        {
            Assert.Contains($"  {option.Name} <{option.HelpName}> ", help, StringComparison.Ordinal);
            if (option.DefaultText is { } d) Assert.Contains(d, help, StringComparison.Ordinal);
        }
        // What help says is what binding nothing gives.
        Assert.Contains($"consumer group (default {defaults.Group})", help, StringComparison.Ordinal);
        Assert.Contains($"at least this often (default {defaults.CommitIntervalMs})", help, StringComparison.Ordinal);
        Assert.Contains($"whichever comes first (default {defaults.CommitBatch})", help, StringComparison.Ordinal);
        string processing = RunOptionTable.Processing.WordOf(defaults.Processing);
        Assert.Contains($"(default {processing})", help, StringComparison.Ordinal);
        Assert.Contains($"to stderr (default {defaults.StatsIntervalS}; 0 = never)", help, StringComparison.Ordinal);
        Assert.Contains($"this often (default {defaults.ReloadIntervalMs};", help, StringComparison.Ordinal);
        Assert.Contains("default off", help, StringComparison.Ordinal);
        RunOptions bound = Bind(["--bootstrap", "b", "--policy", "p"]);
        Assert.Equal(defaults with { Kafka = bound.Kafka }, bound);
    }

    [Fact]
    public void ARetiredAuditKeyMustBeReadableAndNotTheKeyInForce()
    {
        string key = "file:" + Path.Combine(AppContext.BaseDirectory, "samples", "keys", "audit.key");
        byte[] inForce = Common.AuditKey(key, "required");
        Assert.Null(Common.RetiredAuditKey(null, inForce));
        var same = Assert.Throws<UsageException>(() => Common.RetiredAuditKey(key, inForce));
        Assert.StartsWith("--retired-audit-key: it is the audit key in force", same.Message, StringComparison.Ordinal);
        Assert.Equal(inForce, Common.RetiredAuditKey(key, "another key"u8.ToArray()));
        var missing = Assert.Throws<UsageException>(() => Common.RetiredAuditKey("file:/nonexistent/k", inForce));
        Assert.StartsWith("--retired-audit-key: ", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryOptionInRunsTableIsAcceptedFromTheCommandLineAndTheEnvironment()
    {
        Dictionary<string, string> values = new(StringComparer.Ordinal)
        {
            ["config"] = Json("empty.json", "{}"), ["bootstrap"] = "b", ["policy"] = "p", ["group"] = "g",
            ["audit-key"] = "env:K", ["retired-audit-key"] = "env:R", ["topic-prefix"] = "t.",
            ["commit-interval-ms"] = "50", ["commit-batch"] = "7",
            ["kafka"] = "a=b", ["processing"] = "at-least-once", ["transactional-id"] = "tx",
            ["stats-interval-s"] = "0", ["reload-interval-ms"] = "0", ["metrics"] = ":9464",
            ["topic-template"] = "sg.{kind}.{agency}", ["topic-partitions"] = "6", ["topic-replication"] = "3",
            ["liveness-timeout-s"] = "15", ["otlp-endpoint"] = "http://collector:4317",
        };
        Assert.Equal(RunOptionTable.All.Select(o => o.Id).Order(), values.Keys.Order());
        var expected = new RunOptions
        {
            Bootstrap = "b", Policy = "p", Group = "g", AuditKey = "env:K", RetiredAuditKey = "env:R",
            TopicPrefix = "t.", CommitIntervalMs = 50, CommitBatch = 7, Processing = ProcessingMode.AtLeastOnce,
            TransactionalId = "tx", StatsIntervalS = 0,
            ReloadIntervalMs = 0, MetricsUrl = "http://0.0.0.0:9464", TopicTemplate = "sg.{kind}.{agency}",
            TopicPartitions = 6, TopicReplication = 3, LivenessTimeoutS = 15, OtlpEndpoint = "http://collector:4317",
        };
        RunOptions fromArgs = Bind([.. values.SelectMany(kv => new[] { "--" + kv.Key, kv.Value })]);
        Assert.Equal("b", fromArgs.Kafka["a"]);
        Assert.Equal(expected with { Kafka = fromArgs.Kafka }, fromArgs);
        RunOptions fromEnv = Bind([],
            values.ToDictionary(kv => RunOptionTable.All.Single(o => o.Id == kv.Key).Env, kv => kv.Value));
        Assert.Equal(expected with { Kafka = fromEnv.Kafka }, fromEnv);
    }

    [Theory]
    [InlineData("{kind}")]
    [InlineData("{agency}")]
    [InlineData("{kind}.{agency}.{agency}")]
    [InlineData("{kind}/{agency}")]
    public void ATopicTemplateThatCannotKeepAgenciesApartIsRefused(string template)
    {
        UsageException e = Refused(["--bootstrap", "b", "--policy", "p", "--topic-template", template]);
        Assert.Contains("--topic-template", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--otlp-endpoint", "collector:4317")]
    [InlineData("--otlp-endpoint", "ftp://collector")]
    [InlineData("--liveness-timeout-s", "0")]
    public void ABadHealthOrTelemetrySettingIsRefused(string option, string value)
    {
        UsageException e = Refused(["--bootstrap", "b", "--policy", "p", option, value]);
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }

    private static string RunCommandHelp()
    {
        Assert.Equal(RunOptionTable.All, StreamGuard.Cli.Cli.Find("run")!.Options.OfType<ValueOption>());
        return StreamGuard.Cli.Cli.HelpText("run");
    }

    [Theory]
    [InlineData("127.0.0.1:9464", "http://127.0.0.1:9464")]
    [InlineData(":9464", "http://0.0.0.0:9464")]
    [InlineData("*:80", "http://0.0.0.0:80")]
    [InlineData("http://localhost:8080/", "http://localhost:8080")]
    [InlineData("[::1]:9464", "http://[::1]:9464")]
    [InlineData("9464", null)]
    [InlineData("host:99999", null)]
    [InlineData("https://x:1", null)]
    public void MetricsAddressesAreHostAndPort(string listen, string? url) =>
        Assert.Equal(url, RunConfiguration.MetricsUrl(listen));

    [Fact]
    public async Task EveryVerbExplainsItselfAndRunNamesItsConfigurationSources()
    {
        foreach (string verb in (string[])["demo", "run", "broker", "replay", "gen", "bench", "policy", "audit"])
        {
            TextWriter oldOut = Console.Out;
            var o = new StringWriter();
            Console.SetOut(o);
            try
            {
                Assert.Equal(0, await StreamGuard.Cli.Cli.MainAsync([verb, "--help"]));
            }
            finally
            {
                Console.SetOut(oldOut);
            }
            Assert.Contains($"streamguard {verb}", o.ToString(), StringComparison.Ordinal);
            Assert.True(o.ToString().Split('\n').Length >= 5, $"{verb} --help is too thin:\n{o}");
            if (verb == "run")
            {
                foreach (string needle in
                    (string[])["--config <FILE>", "appsettings.json", "STREAMGUARD_", "--metrics", "/readyz"])
                {
                    Assert.Contains(needle, o.ToString(), StringComparison.Ordinal);
                }
                foreach (ValueOption option in RunOptionTable.All)
                {
                    Assert.Contains($"{option.Name} ", o.ToString(), StringComparison.Ordinal);
                }
            }
        }
    }
}
