using System.Text.RegularExpressions;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Tests.Cli;

/// <summary>
/// <c>streamguard acl</c>: parsed back, the ACLs give every agency of the policy Read and Describe on exactly its own
/// output topics (by exact name) and nothing else, and the worker what it needs, in both output formats.
/// </summary>
public sealed class AclCommandTests
{
    // ca-la is a prefix of ca-lapd: a prefix ACL on alpr.shared.ca-la would grant alpr.shared.ca-lapd.
    private const string Yaml = """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: ca-la, state: CA, level: local}
          - {id: wa-spd, state: WA, level: local}
          - {id: us-ice-ero, level: federal}
        """;

    private static readonly string[] s_agencies = ["ca-lapd", "ca-la", "wa-spd", "us-ice-ero"];

    /// <summary>One ACL as parsed from either format: who, what resource (type, name, pattern), which operations.
    /// </summary>
    private sealed record Acl(string Principal, string Type, string Name, string Pattern, string Operations);

    [Fact]
    public void KafkaAclsGiveEachAgencyExactlyItsOwnTopics()
    {
        using var policy = new TestPolicy(Yaml);
        var r = CliRunner.Run("acl", "--policy", policy.PolicyPath, "--bootstrap", "kafka:9092");
        Assert.True(r.Code == 0, r.Err);
        List<Acl> acls = ParseKafkaAcls(r.Out);
        AssertAgencies(acls, a => $"User:{a}", new TopicNames());
        AssertWorker(acls, "User:streamguard", new TopicNames(), prefixed: true);
    }

    [Fact]
    public void StrimziUsersGiveEachAgencyExactlyItsOwnTopics()
    {
        using var policy = new TestPolicy(Yaml);
        var r = CliRunner.Run("acl", "--policy", policy.PolicyPath, "--format", "strimzi", "--strimzi-cluster", "prod",
            "--topic-prefix", "dev.");
        Assert.True(r.Code == 0, r.Err);
        var stream = new YamlStream();
        stream.Load(new StringReader(r.Out));
        Assert.Equal(s_agencies.Length + 1, stream.Documents.Count); // one KafkaUser per agency, one for the worker
        var acls = new List<Acl>();
        foreach (YamlDocument d in stream.Documents)
        {
            var user = (YamlMappingNode)d.RootNode;
            Assert.Equal("kafka.strimzi.io/v1beta2", Text(user, "apiVersion"));
            Assert.Equal("KafkaUser", Text(user, "kind"));
            var metadata = (YamlMappingNode)user["metadata"];
            Assert.Equal("prod", Text((YamlMappingNode)metadata["labels"], "strimzi.io/cluster"));
            var authorization = (YamlMappingNode)((YamlMappingNode)user["spec"])["authorization"];
            Assert.Equal("simple", Text(authorization, "type"));
            foreach (YamlMappingNode acl in ((YamlSequenceNode)authorization["acls"]).Cast<YamlMappingNode>())
            {
                var resource = (YamlMappingNode)acl["resource"];
                string type = Text(resource, "type");
                acls.Add(new Acl("User:" + Text(metadata, "name"),
                    type == "transactionalId" ? "transactional-id" : type,
                    type == "cluster" ? "" : Text(resource, "name"),
                    type == "cluster" ? "" : Text(resource, "patternType") == "prefix" ? "prefixed" : "literal",
                    string.Join(",", ((YamlSequenceNode)acl["operations"]).Select(o => o.ToString()).Order())));
            }
        }
        TopicNames topics = new TopicNames().WithPrefix("dev.");
        AssertAgencies(acls, a => $"User:{a}", topics);
        AssertWorker(acls, "User:streamguard", topics, prefixed: true);
    }

    [Fact]
    public void ATemplateWithTheAgencyFirstGivesTheWorkerEachTopicByName()
    {
        using var policy = new TestPolicy(Yaml);
        var r = CliRunner.Run("acl", "--policy", policy.PolicyPath, "--topic-template", "{agency}.{kind}",
            "--principal-template", "User:CN={agency},O=Agencies", "--worker-principal", "User:CN=sg");
        Assert.True(r.Code == 0, r.Err);
        List<Acl> acls = ParseKafkaAcls(r.Out);
        var topics = new TopicNames { AgencyTemplate = "{agency}.{kind}" };
        AssertAgencies(acls, a => $"User:CN={a},O=Agencies", topics);
        AssertWorker(acls, "User:CN=sg", topics, prefixed: false);
    }

    [Fact]
    public void ABadTemplateOrPrincipalTemplateIsAUsageError()
    {
        using var policy = new TestPolicy(Yaml);
        var template = CliRunner.Run("acl", "--policy", policy.PolicyPath, "--topic-template", "{kind}.all");
        Assert.Equal(2, template.Code);
        Assert.Contains("{agency}", template.Err, StringComparison.Ordinal);
        var principal = CliRunner.Run("acl", "--policy", policy.PolicyPath, "--principal-template", "User:one");
        Assert.Equal(2, principal.Code);
        Assert.Contains("--principal-template", principal.Err, StringComparison.Ordinal);
        var help = CliRunner.Run("acl", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("LITERAL", help.Out, StringComparison.Ordinal);
    }

    /// <summary>Every agency: Read and Describe on each of its four topics by exact name, Read on the groups named
    /// after it with a dot, and nothing else.</summary>
    private static void AssertAgencies(List<Acl> acls, Func<string, string> principal, TopicNames topics)
    {
        foreach (string agency in s_agencies)
        {
            var expected = topics.OfAgency(agency).Select(t => new Acl(principal(agency), "topic", t, "literal",
                    "Describe,Read"))
                .Append(new Acl(principal(agency), "group", agency + ".", "prefixed", "Read"))
                .ToHashSet();
            Assert.Equal(expected, acls.Where(a => a.Principal == principal(agency)).ToHashSet());
        }
        // No agency rule is a prefix on a topic, so none reaches another agency's topic.
        Assert.DoesNotContain(acls, a => s_agencies.Any(x => a.Principal == principal(x)) && a.Type == "topic" &&
            a.Pattern != "literal");
    }

    private static void AssertWorker(List<Acl> acls, string principal, TopicNames t, bool prefixed)
    {
        var worker = acls.Where(a => a.Principal == principal).ToList();
        // DescribeConfigs where the worker reads a topic's settings: the reads' retention, every record limit.
        Assert.Contains(new Acl(principal, "topic", t.Reads, "literal", "Describe,DescribeConfigs,Read"), worker);
        foreach (string input in (string[])[t.Queries, t.Hotlists, t.Holds])
        {
            Assert.Contains(new Acl(principal, "topic", input, "literal", "Describe,Read"), worker);
        }
        Assert.Contains(new Acl(principal, "topic", t.Audit, "literal", "Describe,DescribeConfigs,Read,Write"), worker);
        Assert.Contains(new Acl(principal, "topic", t.DeadLetter, "literal", "Describe,DescribeConfigs,Write"), worker);
        Assert.Contains(new Acl(principal, "group", "streamguard", "literal", "Describe,Read"), worker);
        Assert.Contains(new Acl(principal, "transactional-id", "streamguard-", "prefixed", "Describe,Write"), worker);
        foreach (OutputKind kind in TopicNames.Kinds)
        {
            if (prefixed)
            {
                Assert.Contains(new Acl(principal, "topic", t.KindName(kind) + ".", "prefixed",
                    "Create,Describe,DescribeConfigs,Write"), worker);
                continue;
            }
            foreach (string agency in s_agencies)
            {
                Assert.Contains(new Acl(principal, "topic", t.ForAgency(kind, agency), "literal",
                    "Create,Describe,DescribeConfigs,Write"), worker);
            }
        }
        // The worker reads no agency's topic.
        Assert.DoesNotContain(worker, a => a.Operations.Contains("Read", StringComparison.Ordinal) &&
            s_agencies.Any(x => t.OfAgency(x).Contains(a.Name)));
    }

    private static List<Acl> ParseKafkaAcls(string script)
    {
        var acls = new List<Acl>();
        foreach (string line in script.Split('\n'))
        {
            if (!line.StartsWith("kafka-acls.sh ", StringComparison.Ordinal)) continue;
            Assert.Contains(" --add ", line, StringComparison.Ordinal);
            string principal = Unquote(Regex.Match(line, @"--allow-principal ('[^']*'|\S+)").Groups[1].Value);
            string ops = string.Join(",", Regex.Matches(line, @"--operation (\S+)").Select(m => m.Groups[1].Value)
                .Order());
            Match resource = Regex.Match(line, @"--(topic|group|transactional-id) ('[^']*'|\S+)");
            string pattern = Regex.Match(line, @"--resource-pattern-type (\S+)").Groups[1].Value;
            acls.Add(resource.Success
                ? new Acl(principal, resource.Groups[1].Value, Unquote(resource.Groups[2].Value), pattern, ops)
                : new Acl(principal, "cluster", "", "", ops));
        }
        Assert.NotEmpty(acls);
        return acls;
    }

    private static string Unquote(string s) => s.StartsWith('\'') ? s[1..^1].Replace("'\\''", "'") : s;

    private static string Text(YamlMappingNode node, string key) => node[key].ToString();
}
