using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using StreamGuard.Kafka;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Tests.Integration;

/// <summary>The repository's files of a path, found from the test binaries (tests run inside the repository).</summary>
internal static class DeploymentFiles
{
    public static string Path(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "StreamGuard.sln")))
            {
                return System.IO.Path.Combine(dir.FullName, relative);
            }
        }
        throw new FileNotFoundException("StreamGuard.sln not found above the test binaries", relative);
    }

    public static YamlMappingNode Yaml(string relative)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path(relative))) stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    /// <summary>Every document of a multi-document YAML file (Kubernetes manifests), as mappings.</summary>
    public static List<YamlMappingNode> Documents(string relative)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path(relative))) stream.Load(reader);
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    /// <summary>The value at <paramref name="keys"/>, or null when a key is missing on the way.</summary>
    public static YamlNode? Find(this YamlNode node, params string[] keys)
    {
        foreach (string k in keys)
        {
            if (node is not YamlMappingNode m || !m.Children.TryGetValue(new YamlScalarNode(k), out YamlNode? next))
            {
                return null;
            }
            node = next;
        }
        return node;
    }

    public static IEnumerable<YamlNode> Items(this YamlNode node, params string[] keys) =>
        node.Find(keys) is YamlSequenceNode s ? s.Children : [];

    public static YamlNode At(this YamlNode node, params string[] keys)
    {
        foreach (string k in keys) node = ((YamlMappingNode)node).Children[new YamlScalarNode(k)];
        return node;
    }
}

/// <summary>
/// docker-compose.yml, prometheus.yml and the Grafana provisioning agree with each other and with the worker: every
/// topic created with a partition count the worker accepts, the scrape target where the worker listens, the dashboard
/// on the provisioned datasource; Kafka's log on a named volume; Grafana's admin password from the environment only.
/// The Dockerfile builds a non-root image on a chiseled base with no key inside and OCI labels. (CI also runs
/// `docker-compose config -q` on the compose file; no Docker engine runs here, so the Dockerfile is checked as text.)
/// </summary>
public sealed class DeploymentFilesTests
{
    [Fact]
    public void ComposeCreatesEveryTopicCoPartitionedWithTheReadsAndTheTablesCompacted()
    {
        YamlMappingNode compose = DeploymentFiles.Yaml("docker-compose.yml");
        string script = ((YamlSequenceNode)compose.At("services", "topics", "command")).Children[0].ToString();
        var topics = new Dictionary<string, (int Partitions, string Line)>(StringComparer.Ordinal);
        foreach (string line in script.Split('\n'))
        {
            Match create = Regex.Match(line, @"^\s*create (\S+) --partitions (\d+)");
            Match loop = Regex.Match(line, @"^\s*for t in ([^;]+); do create \$\$t --partitions (\d+)");
            if (create.Success)
            {
                topics[create.Groups[1].Value] =
                    (int.Parse(create.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), line);
            }
            if (loop.Success)
            {
                foreach (string t in loop.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    topics[t] =
                        (int.Parse(loop.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), line);
                }
            }
        }
        var names = new TopicNames();
        Assert.Equal(names.All.Order(StringComparer.Ordinal), topics.Keys.Order(StringComparer.Ordinal));
        int reads = topics[names.Reads].Partitions;
        foreach (string t in (string[])[names.Queries, names.Holds, names.RepartitionReads, names.RepartitionQueries])
        {
            Assert.True(topics[t].Partitions == reads,
                $"{t}: {topics[t].Partitions} partitions, {names.Reads} {reads}: the worker refuses to start");
        }
        Assert.Contains("cleanup.policy=compact", topics[names.Hotlists].Line, StringComparison.Ordinal);
        Assert.Contains("cleanup.policy=compact", topics[names.Holds].Line, StringComparison.Ordinal);
        Assert.Contains("retention.ms=-1", topics[names.Audit].Line, StringComparison.Ordinal);
        Assert.Equal("false",
            compose.At("services", "kafka", "environment", "KAFKA_AUTO_CREATE_TOPICS_ENABLE").ToString());
        // No output topic shared by agencies: the worker makes each agency's own, as the compose file tells it to.
        Assert.DoesNotContain(topics.Keys, t => TopicNames.Kinds.Any(k => t == names.KindName(k)));
        string Setting(string name) => compose.At("services", "streamguard", "environment", name).ToString();
        Assert.Equal(TopicNames.DefaultAgencyTemplate, Setting("STREAMGUARD_TOPIC_TEMPLATE"));
        Assert.Equal("1", Setting("STREAMGUARD_TOPIC_REPLICATION")); // one broker
        Assert.InRange(int.Parse(Setting("STREAMGUARD_TOPIC_PARTITIONS"), CultureInfo.InvariantCulture), 1, 12);
    }

    [Fact]
    public void PrometheusScrapesTheWorkerWhereItListensAndGrafanaShowsItsDashboard()
    {
        YamlMappingNode compose = DeploymentFiles.Yaml("docker-compose.yml");
        string listen = compose.At("services", "streamguard", "environment", "STREAMGUARD_METRICS").ToString();
        int port = new Uri(StreamGuard.Cli.Hosting.RunConfiguration.MetricsUrl(listen)!).Port;

        YamlMappingNode prometheus = DeploymentFiles.Yaml("deploy/prometheus/prometheus.yml");
        var job = (YamlMappingNode)((YamlSequenceNode)prometheus.At("scrape_configs")).Children.Single();
        Assert.Equal("/metrics", job.At("metrics_path").ToString());
        var sd = (YamlMappingNode)((YamlSequenceNode)job.At("dns_sd_configs")).Children.Single();
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), sd.At("port").ToString());
        Assert.Equal("streamguard", ((YamlSequenceNode)sd.At("names")).Children.Single().ToString());
        Assert.True(((YamlMappingNode)compose.At("services")).Children.ContainsKey(new YamlScalarNode("streamguard")));

        YamlMappingNode datasources = DeploymentFiles.Yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
        var datasource = (YamlMappingNode)((YamlSequenceNode)datasources.At("datasources")).Children.Single();
        Assert.Equal("http://prometheus:9090", datasource.At("url").ToString());
        using JsonDocument dashboard = JsonDocument.Parse(
            File.ReadAllText(DeploymentFiles.Path("deploy/grafana/dashboards/streamguard.json")));
        JsonElement[] panels = [.. dashboard.RootElement.GetProperty("panels").EnumerateArray()];
        Assert.True(panels.Length >= 10);
        foreach (JsonElement panel in panels)
        {
            Assert.Equal(datasource.At("uid").ToString(),
                panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.NotEmpty(panel.GetProperty("targets").EnumerateArray());
        }
        var providers = (YamlSequenceNode)DeploymentFiles.Yaml("deploy/grafana/provisioning/dashboards/streamguard.yml")
            .At("providers");
        YamlMappingNode provider = (YamlMappingNode)providers.Children.Single();
        Assert.Equal("/var/lib/grafana/dashboards", provider.At("options", "path").ToString());
        Assert.Contains(((YamlSequenceNode)compose.At("services", "grafana", "volumes")).Children,
            v => v.ToString() == "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro");
    }
    [Fact]
    public void KafkaKeepsItsLogOnANamedVolumeAndGrafanaTakesItsAdminFromTheEnvironment()
    {
        YamlMappingNode compose = DeploymentFiles.Yaml("docker-compose.yml");
        // The broker's log directory is the volume's mount point: `docker compose down` keeps the audit log.
        string logDirs = compose.At("services", "kafka", "environment", "KAFKA_LOG_DIRS").ToString();
        Assert.Contains(compose.Items("services", "kafka", "volumes"), v => v.ToString() == $"kafka-data:{logDirs}");
        Assert.NotNull(compose.Find("volumes", "kafka-data"));

        string user = compose.At("services", "grafana", "environment", "GF_SECURITY_ADMIN_USER").ToString();
        string password = compose.At("services", "grafana", "environment", "GF_SECURITY_ADMIN_PASSWORD").ToString();
        Assert.Matches(@"^\$\{GRAFANA_ADMIN_USER(:-[^}]+)?\}$", user);
        // Required (`:?`): no password is built in, so none can be left at a default everyone knows.
        Assert.Matches(@"^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$", password);
        string example = File.ReadAllText(DeploymentFiles.Path(".env.example"));
        Assert.Matches(@"(?m)^GRAFANA_ADMIN_USER=", example);
        Assert.Matches(@"(?m)^GRAFANA_ADMIN_PASSWORD=$", example); // to be filled in, never a sample value
        Assert.Contains(File.ReadAllLines(DeploymentFiles.Path(".gitignore")), l => l.Trim() is ".env" or "/.env");
        Assert.Contains(File.ReadAllLines(DeploymentFiles.Path(".dockerignore")), l => l.Trim() is ".env" or "/.env");

        // The image has no shell: a healthcheck running one would never pass.
        Assert.Null(compose.Find("services", "streamguard", "healthcheck"));
        // Its keys and policy are mounted, and the worker told where.
        Assert.Contains(compose.Items("services", "streamguard", "volumes"),
            v => v.ToString().StartsWith("./samples:/etc/streamguard", StringComparison.Ordinal));
    }

    [Fact]
    public void TheImageRunsAsANonRootUserOnAChiseledBaseWithNoKeyInside()
    {
        (string? syntax, List<DockerStage> stages) = DockerfileModel.Parse(
            File.ReadAllText(DeploymentFiles.Path("Dockerfile")));
        Assert.Equal("docker/dockerfile:1", syntax); // RUN --mount needs BuildKit's Dockerfile syntax
        DockerStage final = stages[^1];
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:10\.0-[a-z]+-chiseled$", final.Base);

        // Non-root, numerically (Kubernetes' runAsNonRoot can only verify a number), and in force for ENTRYPOINT.
        DockerInstruction user = final.All("USER").Last();
        Match id = Regex.Match(user.Arguments, @"^(\d+)(?::(\d+))?$");
        Assert.True(id.Success, $"USER {user.Arguments}: not numeric");
        Assert.NotEqual("0", id.Groups[1].Value);
        Assert.NotEqual("0", id.Groups[2].Value);
        Assert.True(user.Line < final.All("ENTRYPOINT").Single().Line);

        // Nothing from the build context is copied into the final stage; what it copies from another stage was
        // published without the samples and their demo keys, which that stage never copied either.
        foreach (DockerInstruction copy in final.All("COPY").Concat(final.All("ADD")))
        {
            string? from = copy.Flag("from");
            Assert.True(from is not null, $"line {copy.Line}: {copy.Keyword} from the build context into the image");
            DockerStage source = stages.Single(s => s.Name == from);
            Assert.DoesNotContain(source.All("COPY").Concat(source.All("ADD")),
                c => Regex.IsMatch(c.Arguments, @"(^|\s)(\./)?samples\b|keys"));
            Assert.Contains(source.All("RUN"), r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal) &&
                r.Arguments.Contains("-p:BundleSamples=false", StringComparison.Ordinal));
        }
        // ...and BundleSamples=false is what leaves them out of the published output.
        XElement project = XElement.Load(DeploymentFiles.Path("src/StreamGuard.Cli/StreamGuard.Cli.csproj"));
        XElement samples = project.Descendants("None")
            .Single(e => ((string?)e.Attribute("Include"))?.Contains("samples", StringComparison.Ordinal) == true);
        Assert.Equal("'$(BundleSamples)' != 'false'", (string?)samples.Parent!.Attribute("Condition"));

        // The chiseled image has no shell: every RUN of the final stage is in exec form, and the smoke test's samples
        // are a bind mount of that one step (not a layer), its output a tmpfs.
        foreach (DockerInstruction run in final.All("RUN"))
        {
            Assert.True(run.ExecForm, $"line {run.Line}: RUN in shell form in a stage without a shell");
            foreach (string mount in run.Flags.Where(f => f.StartsWith("--mount=", StringComparison.Ordinal)))
            {
                Assert.Matches("type=(bind|tmpfs)", mount);
            }
        }
        Assert.Contains(final.All("RUN"), r => r.Arguments.Contains("\"demo\"", StringComparison.Ordinal));

        // OCI labels; version, revision and source from build arguments of this stage.
        Dictionary<string, string> labels = final.Labels();
        string[] args = [.. final.All("ARG").Select(a => a.Arguments.Split('=')[0])];
        foreach (string key in (string[])["title", "description", "licenses", "version", "revision", "source"])
        {
            Assert.False(string.IsNullOrWhiteSpace(labels.GetValueOrDefault("org.opencontainers.image." + key)),
                $"label org.opencontainers.image.{key}");
        }
        foreach ((string key, string arg) in (ReadOnlySpan<(string, string)>)
            [("version", "VERSION"), ("revision", "REVISION"), ("source", "SOURCE_URL")])
        {
            Assert.StartsWith("${" + arg, labels["org.opencontainers.image." + key], StringComparison.Ordinal);
            Assert.Contains(arg, args);
        }
        Assert.Equal(final.Base, labels["org.opencontainers.image.base.name"]);
        // One licence: the package's, whose text is in the repository.
        string licence = project.Descendants("PackageLicenseExpression").Single().Value;
        Assert.Equal(licence, labels["org.opencontainers.image.licenses"]);
        Assert.Contains("Apache License", File.ReadAllText(DeploymentFiles.Path("LICENSE")), StringComparison.Ordinal);

        // The port the image exposes is where compose tells the worker to serve /metrics.
        string listen = DeploymentFiles.Yaml("docker-compose.yml")
            .At("services", "streamguard", "environment", "STREAMGUARD_METRICS").ToString();
        int port = new Uri(StreamGuard.Cli.Hosting.RunConfiguration.MetricsUrl(listen)!).Port;
        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), final.All("EXPOSE").Single().Arguments);
        Assert.Equal("[\"dotnet\", \"/app/streamguard.dll\"]", final.All("ENTRYPOINT").Single().Arguments);

        // The build context keeps what the build needs and the smoke test binds.
        string[] ignored = [.. File.ReadAllLines(DeploymentFiles.Path(".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
        Assert.DoesNotContain(ignored, l => l.TrimStart('/').StartsWith("src", StringComparison.Ordinal) ||
            l.TrimStart('/').StartsWith("samples", StringComparison.Ordinal));
    }
}
