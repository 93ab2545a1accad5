using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
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

    public static YamlNode At(this YamlNode node, params string[] keys)
    {
        foreach (string k in keys) node = ((YamlMappingNode)node).Children[new YamlScalarNode(k)];
        return node;
    }
}

/// <summary>
/// docker-compose.yml, prometheus.yml and the Grafana provisioning agree with each other and with the worker: every
/// topic created with a partition count the worker accepts, the scrape target where the worker listens, the dashboard
/// on the provisioned datasource. (CI also runs `docker-compose config -q` on the compose file.)
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
}
