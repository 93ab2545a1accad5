using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Cli.Hosting;
using StreamGuard.Kafka;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// deploy/kubernetes against the worker, as the compose tests check docker-compose.yml: every setting the StatefulSet
/// gives is a real option of <c>run</c> and binds; the transactional.id is stable per pod and inside the worker's
/// ACL; probes, Service and PodMonitor on the port and paths the worker serves; the policy and every key it names
/// mounted where the policy resolves them, hot-reloadable; the KafkaTopics are exactly the topics the worker uses for
/// the sample policy, co-partitioned; the KafkaUsers are what <c>streamguard acl --format strimzi</c> prints for it.
/// </summary>
[Collection("Console")]
public sealed class KubernetesManifestsTests
{
    private const string Dir = "deploy/kubernetes";

    private static readonly Lazy<Manifests> s_manifests = new(Manifests.Load);

    /// <summary>Every resource of the kustomization (its generated ConfigMap is checked through its generator).
    /// </summary>
    private sealed record Manifests(YamlMappingNode Kustomization, List<YamlMappingNode> Resources)
    {
        public static Manifests Load()
        {
            YamlMappingNode kustomization = DeploymentFiles.Yaml($"{Dir}/kustomization.yaml");
            var resources = new List<YamlMappingNode>();
            foreach (YamlNode file in kustomization.Items("resources"))
            {
                resources.AddRange(DeploymentFiles.Documents($"{Dir}/{file}"));
            }
            return new Manifests(kustomization, resources);
        }

        public IEnumerable<YamlMappingNode> OfKind(string kind) =>
            Resources.Where(r => r.Find("kind")?.ToString() == kind);

        public YamlMappingNode StatefulSet => OfKind("StatefulSet").Single();

        public YamlMappingNode Container => (YamlMappingNode)StatefulSet.Items("spec", "template", "spec", "containers")
            .Single();
    }

    private static Manifests K => s_manifests.Value;

    private static string S(YamlNode? node) => node?.ToString() ?? "";

    /// <summary>The container's environment: literal values, and each $(VAR) substituted as Kubernetes does (from a
    /// variable defined earlier in the list; the downward API's metadata.name is the pod's name).</summary>
    private static Dictionary<string, string> Environment(string podName)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (YamlNode e in K.Container.Items("env"))
        {
            string name = S(e.Find("name"));
            if (e.Find("valueFrom") is { } from)
            {
                Assert.Equal("metadata.name", S(from.Find("fieldRef", "fieldPath")));
                env[name] = podName;
                continue;
            }
            env[name] = Regex.Replace(S(e.Find("value")), @"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", m =>
            {
                string reference = m.Groups[1].Value;
                Assert.True(env.ContainsKey(reference), $"{name}: $({reference}) is not defined before it");
                return env[reference];
            });
        }
        return env;
    }

    private static RunOptions Bind(Dictionary<string, string> env)
    {
        string[] args = [.. K.Container.Items("args").Select(S)];
        Assert.Equal("run", args[0]);
        System.CommandLine.ParseResult parsed = StreamGuard.Cli.Cli.Root.Parse(args);
        Assert.Empty(parsed.Errors);
        return RunConfiguration.Bind(RunConfiguration.Build(new CommandArgs(parsed, new Hashtable(env)),
            new Hashtable(env), AppContext.BaseDirectory, AppContext.BaseDirectory));
    }

    private static PolicyDocument Policy => PolicyLoader.LoadFile(DeploymentFiles.Path("samples/policy.yaml"));

    [Fact]
    public void EverySettingOfTheStatefulSetIsAnOptionOfRunAndBinds()
    {
        Dictionary<string, string> env = Environment("streamguard-0");
        var options = RunOptionTable.Settings.ToDictionary(o => o.Env, StringComparer.Ordinal);
        foreach (string name in env.Keys.Where(n => n.StartsWith("STREAMGUARD_", StringComparison.Ordinal)))
        {
            // An option by its variable, or a .NET configuration key with a section (STREAMGUARD_Logging__…).
            Assert.True(options.ContainsKey(name) || name.Contains("__", StringComparison.Ordinal),
                $"{name} is not an option of streamguard run");
        }
        RunOptions bound = Bind(env); // throws UsageException, naming the setting, on any bad value
        Assert.Equal("/etc/streamguard/policy.yaml", bound.Policy);
        Assert.Equal(ProcessingMode.ExactlyOnce, bound.Processing);
        Assert.Equal(TopicNames.DefaultAgencyTemplate, bound.TopicTemplate);
        Assert.True(bound.TopicReplication >= 2, "agency topics the worker creates must be replicated");
    }

    [Fact]
    public void EachPodHasItsOwnStableTransactionalIdInsideTheWorkersAcl()
    {
        YamlMappingNode set = K.StatefulSet;
        string name = S(set.At("metadata", "name"));
        int replicas = int.Parse(S(set.At("spec", "replicas")), CultureInfo.InvariantCulture);
        YamlMappingNode worker = K.OfKind("KafkaUser").Single(u => S(u.At("metadata", "name")) == "streamguard");
        YamlNode txnAcl = worker.Items("spec", "authorization", "acls")
            .Single(a => S(a.Find("resource", "type")) == "transactionalId");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int ordinal = 0; ordinal < replicas + 2; ordinal++)
        {
            string pod = $"{name}-{ordinal}"; // the StatefulSet's pod names, scaled up or not
            RunOptions bound = Bind(Environment(pod));
            string id = bound.TransactionalId!;
            Assert.Contains(pod, id, StringComparison.Ordinal);
            Assert.True(ids.Add(id), $"two pods share transactional.id {id}");
            string acl = S(txnAcl.At("resource", "name"));
            Assert.True(S(txnAcl.At("resource", "patternType")) == "prefix"
                    ? id.StartsWith(acl, StringComparison.Ordinal)
                    : id == acl,
                $"transactional.id {id} is outside the worker's ACL ({acl})");
            Assert.Equal(bound.Group + "-", acl); // the ACL `streamguard acl` gives for the worker's group
        }
        // At most one worker per input partition.
        YamlMappingNode reads = K.OfKind("KafkaTopic")
            .Single(t => S(t.At("metadata", "name")) == new TopicNames().Reads);
        Assert.InRange(replicas, 1, int.Parse(S(reads.At("spec", "partitions")), CultureInfo.InvariantCulture));
    }

    [Fact]
    public void ProbesServiceAndPodMonitorUseThePortAndPathsTheWorkerServes()
    {
        RunOptions bound = Bind(Environment("streamguard-0"));
        int port = new Uri(bound.MetricsUrl!).Port;
        YamlNode containerPort = K.Container.Items("ports").Single();
        string portName = S(containerPort.At("name"));
        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), S(containerPort.At("containerPort")));
        Assert.StartsWith("0.0.0.0:", Environment("streamguard-0")["STREAMGUARD_METRICS"], StringComparison.Ordinal);

        // The paths the worker maps (src/StreamGuard.Cli/Hosting; MetricsEndpointTests checks what they answer).
        string hosting = string.Concat(Directory.GetFiles(DeploymentFiles.Path("src/StreamGuard.Cli/Hosting"), "*.cs")
            .Select(File.ReadAllText));
        void Served(string path) => Assert.Contains($"\"{path}\"", hosting, StringComparison.Ordinal);
        (string Probe, string Path)[] probes =
            [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")];
        foreach ((string probe, string path) in probes)
        {
            Assert.Equal(path, S(K.Container.At(probe, "httpGet", "path")));
            Assert.Equal(portName, S(K.Container.At(probe, "httpGet", "port")));
            Served(path);
        }

        YamlMappingNode service = K.OfKind("Service").Single();
        Assert.Equal("None", S(service.At("spec", "clusterIP")));
        Assert.Equal(S(service.At("metadata", "name")), S(K.StatefulSet.At("spec", "serviceName")));
        Assert.Equal(portName, S(service.Items("spec", "ports").Single().At("targetPort")));
        var podLabels = (YamlMappingNode)K.StatefulSet.At("spec", "template", "metadata", "labels");
        void Selects(YamlNode selector)
        {
            foreach ((YamlNode key, YamlNode value) in (YamlMappingNode)selector)
            {
                Assert.Equal(S(value), S(podLabels.Find(S(key))));
            }
        }
        Selects(service.At("spec", "selector"));
        Selects(K.StatefulSet.At("spec", "selector", "matchLabels"));

        YamlMappingNode monitor = K.OfKind("PodMonitor").Single();
        Assert.Equal("monitoring.coreos.com/v1", S(monitor.At("apiVersion")));
        Selects(monitor.At("spec", "selector", "matchLabels"));
        YamlNode endpoint = monitor.Items("spec", "podMetricsEndpoints").Single();
        Assert.Equal(portName, S(endpoint.At("port")));
        Assert.Equal("/metrics", S(endpoint.At("path")));
        Served("/metrics");
        // Series get the job name compose's Prometheus gives them, so dashboards and alert rules apply unchanged.
        string job = S(((YamlMappingNode)DeploymentFiles.Yaml("deploy/prometheus/prometheus.yml")
            .Items("scrape_configs").Single()).At("job_name"));
        Assert.Equal(job, S(podLabels.Find(S(monitor.At("spec", "jobLabel")))));
    }

    [Fact]
    public void ThePolicyAndEveryKeyItNamesAreMountedWhereThePolicyResolvesThemAndReloadInPlace()
    {
        // The ConfigMap is made from a copy of the sample policy, under a fixed name (a hashed name rolls the pods).
        Assert.Equal(File.ReadAllBytes(DeploymentFiles.Path("samples/policy.yaml")),
            File.ReadAllBytes(DeploymentFiles.Path($"{Dir}/policy.yaml")));
        YamlNode generator = K.Kustomization.Items("configMapGenerator").Single();
        Assert.Equal("policy.yaml", S(generator.Items("files").Single()));
        Assert.Equal("true", S(K.Kustomization.At("generatorOptions", "disableNameSuffixHash")));

        Dictionary<string, string> env = Environment("streamguard-0");
        string policyPath = env["STREAMGUARD_POLICY"];
        YamlNode podSpec = K.StatefulSet.At("spec", "template", "spec");
        // mounted file path → (volume source kind, object name, key)
        var files = new Dictionary<string, (string Kind, string Name, string Key)>(StringComparer.Ordinal);
        foreach (YamlNode mount in K.Container.Items("volumeMounts"))
        {
            Assert.Null(mount.Find("subPath")); // a subPath mount never sees an update
            string at = S(mount.At("mountPath"));
            YamlNode volume = podSpec.Items("volumes").Single(v => S(v.At("name")) == S(mount.At("name")));
            IEnumerable<(string Kind, YamlNode Source)> sources = volume.Find("projected") is { } projected
                ? projected.Items("sources").Select(s => (S(((YamlMappingNode)s).Children.Keys.Single()),
                    ((YamlMappingNode)s).Children.Values.Single()))
                : ((YamlMappingNode)volume).Children.Where(c => S(c.Key) is "secret" or "configMap")
                    .Select(c => (S(c.Key), c.Value));
            foreach ((string kind, YamlNode source) in sources)
            {
                string name = S(source.Find("name") ?? source.Find("secretName"));
                foreach (YamlNode item in source.Items("items"))
                {
                    files[$"{at}/{S(item.At("path"))}"] = (kind, name, S(item.At("key")));
                }
            }
        }

        Assert.Equal(("configMap", S(generator.At("name")), "policy.yaml"), files[policyPath]);
        string baseDirectory = Path.GetDirectoryName(policyPath)!;
        foreach (AgencyConfig agency in Policy.Agencies)
        {
            foreach (string keyRef in agency.KeyRefs)
            {
                Assert.StartsWith("file:", keyRef, StringComparison.Ordinal);
                string path = Path.GetFullPath(Path.Combine(baseDirectory, keyRef[5..]));
                Assert.True(files.TryGetValue(path, out var key), $"{agency.Id}: its key {path} is not mounted");
                Assert.Equal("secret", key.Kind);
            }
        }
        string auditKey = env["STREAMGUARD_AUDIT_KEY"];
        Assert.StartsWith("file:", auditKey, StringComparison.Ordinal);
        Assert.Equal("secret", files[auditKey[5..]].Kind);

        // Kafka's TLS files: the cluster CA and the worker's own KafkaUser's certificate (Strimzi's Secrets).
        string cluster = S(K.OfKind("KafkaUser").First().At("metadata", "labels", "strimzi.io/cluster"));
        foreach (string setting in env["STREAMGUARD_KAFKA"].Split(';'))
        {
            string[] kv = setting.Split('=', 2);
            if (!kv[0].EndsWith(".location", StringComparison.Ordinal)) continue;
            Assert.True(files.TryGetValue(kv[1], out var file), $"{kv[0]}: {kv[1]} is not mounted");
            Assert.Equal("secret", file.Kind);
            Assert.Contains(file.Name, (string[])[$"{cluster}-cluster-ca-cert", "streamguard"]);
        }
        Assert.StartsWith($"{cluster}-kafka-bootstrap:", env["STREAMGUARD_BOOTSTRAP"], StringComparison.Ordinal);
    }

    [Fact]
    public void TheWorkerRunsAsTheImagesNonRootUserWithinItsResources()
    {
        (_, List<DockerStage> stages) = DockerfileModel.Parse(File.ReadAllText(DeploymentFiles.Path("Dockerfile")));
        string[] user = stages[^1].All("USER").Last().Arguments.Split(':');
        YamlNode pod = K.StatefulSet.At("spec", "template", "spec", "securityContext");
        Assert.Equal("true", S(pod.At("runAsNonRoot")));
        Assert.Equal(user[0], S(pod.At("runAsUser")));
        Assert.Equal(user[^1], S(pod.At("runAsGroup")));
        YamlNode container = K.Container.At("securityContext");
        Assert.Equal("false", S(container.At("allowPrivilegeEscalation")));
        Assert.Equal("true", S(container.At("readOnlyRootFilesystem")));
        Assert.Equal("ALL", S(container.Items("capabilities", "drop").Single()));
        foreach (string bound in (string[])["requests", "limits"])
        {
            Assert.NotEmpty(S(K.Container.Find("resources", bound, "cpu")));
            Assert.NotEmpty(S(K.Container.Find("resources", bound, "memory")));
        }
    }

    [Fact]
    public void TheKafkaTopicsAreTheWorkersTopicsForThePolicyCoPartitionedAndRetained()
    {
        RunOptions bound = Bind(Environment("streamguard-0"));
        var names = new TopicNames { AgencyTemplate = bound.TopicTemplate };
        PolicyDocument policy = Policy;
        var topics = K.OfKind("KafkaTopic").ToDictionary(
            t => S(t.Find("spec", "topicName") ?? t.At("metadata", "name")), StringComparer.Ordinal);
        string[] expected = [.. names.All, .. policy.Agencies.SelectMany(a => names.OfAgency(a.Id))];
        Assert.Equal(expected.Order(StringComparer.Ordinal), topics.Keys.Order(StringComparer.Ordinal));

        int Int(string topic, params string[] path) =>
            int.Parse(S(topics[topic].At(["spec", .. path])), CultureInfo.InvariantCulture);
        string Config(string topic, string key) => S(topics[topic].Find("spec", "config", key));
        int reads = Int(names.Reads, "partitions");
        foreach (string t in (string[])[names.Queries, names.Holds, names.RepartitionReads, names.RepartitionQueries])
        {
            Assert.True(Int(t, "partitions") == reads, $"{t}: not as many partitions as {names.Reads}");
        }
        Assert.Equal("compact", Config(names.Hotlists, "cleanup.policy"));
        Assert.Equal("compact", Config(names.Holds, "cleanup.policy"));
        Assert.Equal("-1", Config(names.Audit, "retention.ms"));
        Assert.Equal("-1", Config(names.Audit, "retention.bytes"));
        // A taken-over partition's reads are restored from alpr.reads: it keeps them as long as any agency may.
        long longest = (long)policy.Agencies.Select(a => a.Retention ?? policy.DefaultRetention)
            .Append(policy.DefaultRetention).Max().TotalMilliseconds;
        foreach (string t in (string[])[names.Reads, names.RepartitionReads])
        {
            Assert.InRange(long.Parse(Config(t, "retention.ms"), CultureInfo.InvariantCulture), longest, long.MaxValue);
        }
        string cluster = S(K.OfKind("KafkaUser").First().At("metadata", "labels", "strimzi.io/cluster"));
        foreach ((string name, YamlMappingNode topic) in topics)
        {
            Assert.Equal("kafka.strimzi.io/v1beta2", S(topic.At("apiVersion")));
            Assert.Equal(cluster, S(topic.At("metadata", "labels", "strimzi.io/cluster")));
            int replicas = Int(name, "replicas");
            int minInSync = int.Parse(Config(name, "min.insync.replicas"), CultureInfo.InvariantCulture);
            Assert.InRange(minInSync, 2, replicas - 1); // a write survives a broker's loss, and one broker may be down
        }
        // Each agency's topics as the worker would create them.
        foreach (string t in policy.Agencies.SelectMany(a => names.OfAgency(a.Id)))
        {
            Assert.Equal(bound.TopicPartitions, Int(t, "partitions"));
            Assert.Equal(bound.TopicReplication, Int(t, "replicas"));
        }
    }

    [Fact]
    public void TheKafkaUsersAreWhatStreamguardAclPrintsForThePolicy()
    {
        string cluster = S(K.OfKind("KafkaTopic").First().At("metadata", "labels", "strimzi.io/cluster"));
        var r = CliRunner.Run("acl", "--policy", DeploymentFiles.Path("samples/policy.yaml"), "--format", "strimzi",
            "--strimzi-cluster", cluster);
        Assert.True(r.Code == 0, r.Err);
        string file = File.ReadAllText(DeploymentFiles.Path($"{Dir}/users.yaml"));
        string generated = string.Concat(file.Split('\n').SkipWhile(l => l.StartsWith('#')).Select(l => l + "\n"))
            .TrimEnd('\n') + "\n";
        Assert.True(generated == r.Out, $"{Dir}/users.yaml is not the output of `streamguard acl --policy " +
            $"samples/policy.yaml --format strimzi --strimzi-cluster {cluster}`: run it again");
        // The worker authenticates as its own KafkaUser: the Secret the User Operator makes for it is the one mounted.
        Assert.Contains(K.StatefulSet.Items("spec", "template", "spec", "volumes"),
            v => S(v.Find("secret", "secretName")) == "streamguard");
        Assert.Contains(K.OfKind("KafkaUser"), u => S(u.At("metadata", "name")) == "streamguard");
    }
}
