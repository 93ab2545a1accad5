using System.CommandLine;
using System.Text;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Kafka;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard acl</c>: the Kafka ACLs that give each agency exactly its own topics.</summary>
internal static class AclCommand
{
    private static readonly TextOption s_policy = new("policy", "P", "policy file");

    private enum Format
    {
        KafkaAcls,
        Strimzi,
    }

    private static readonly ChoiceOption<Format> s_format = new("format", "F", """
        kafka-acls: kafka-acls.sh command lines; strimzi: KafkaUser resources
        (kafka.strimzi.io/v1beta2, authorization type simple), one per agency and
        one for the worker ({default})
        """, ("kafka-acls", Format.KafkaAcls), ("strimzi", Format.Strimzi))
    {
        Default = Format.KafkaAcls,
    };

    private static readonly TextOption s_principal = new("principal-template", "T",
        "an agency's principal, {agency} standing for its id") { Default = "User:{agency}" };

    private static readonly TextOption s_worker = new("worker-principal", "P", "the worker's principal")
    {
        Default = "User:streamguard",
    };

    private static readonly TextOption s_prefix = new("topic-prefix", "X", "as given to run");

    private static readonly TextOption s_template = new("topic-template", "T", "as given to run")
    {
        Default = TopicNames.DefaultAgencyTemplate,
    };

    private static readonly TextOption s_group = new("group", "G", "the worker's consumer group, as given to run")
    {
        Default = "streamguard",
    };

    private static readonly TextOption s_transactionalId = new("transactional-id", "ID", """
        the worker's transactional.id, as given to run ({default})
        """)
    {
        Shown = "default: every id starting <group>-",
    };

    private static readonly TextOption s_bootstrap = new("bootstrap", "B",
        "kafka-acls: the --bootstrap-server of each command line") { Default = "localhost:9092" };

    private static readonly TextOption s_cluster = new("strimzi-cluster", "NAME",
        "strimzi: the Kafka resource the users belong to (label strimzi.io/cluster)") { Default = "my-cluster" };

    private static readonly TextOption s_authentication = new("strimzi-authentication", "TYPE",
        "strimzi: the users' authentication type (tls, tls-external, scram-sha-512)") { Default = "tls" };

    /// <summary>The verb: its options, its help and what it runs.</summary>
    public static Command Command { get; } = Verb.Create("acl",
        "the Kafka ACLs that give each agency exactly its own topics (kafka-acls.sh or Strimzi)", """
        streamguard acl --policy P [--format kafka-acls|strimzi] [--principal-template T] [options]

        Prints the Kafka ACLs that give each agency of the policy read access to exactly its own output topics
        (alpr.shared.<agency>, alpr.alerts.<agency>, alpr.results.<agency>, alpr.purges.<agency>: Read and
        Describe, each topic by its exact name) and Read on the consumer groups named <agency>.…, and nothing
        else; and what the worker's principal needs: Read on its inputs, Write on its outputs, Create on the
        agencies' topics (it creates a missing one on start and on reload), its group and transactional id.

        Each topic is named exactly (a LITERAL pattern), not by prefix: agency ids may be prefixes of one
        another (ca-la, ca-lapd), so a prefix ACL on alpr.shared.ca-la would also grant alpr.shared.ca-lapd.
        Apply them again after a reload that adds an agency (the worker's own rights are prefixes when the
        template ends with {agency}, so it needs none).

        Example:
          streamguard acl --policy policy.yaml --bootstrap kafka:9092 | sh
          streamguard acl --policy policy.yaml --format strimzi --strimzi-cluster prod | kubectl apply -f -
        """,
        [s_policy, s_format, s_principal, s_worker, s_prefix, s_template, s_group, s_transactionalId, s_bootstrap,
        s_cluster, s_authentication]).Runs((a, _) => Run(a, Console.Out));

    public static int Run(CommandArgs args, TextWriter output)
    {
        string policyPath = args.Require(s_policy);
        Format format = args.Choice(s_format);
        string principal = args.Text(s_principal)!;
        string worker = args.Text(s_worker)!;
        string? prefix = args.Get(s_prefix);
        string template = args.Text(s_template)!;
        string group = args.Text(s_group)!;
        string? transactionalId = args.Get(s_transactionalId);
        string bootstrap = args.Text(s_bootstrap)!;
        string cluster = args.Text(s_cluster)!;
        string authentication = args.Text(s_authentication)!;
        if (TopicNames.TemplateProblem(template) is { } problem)
        {
            throw new UsageException($"--topic-template: {problem}");
        }
        if (!principal.Contains("{agency}", StringComparison.Ordinal))
        {
            throw new UsageException("--principal-template must contain {agency}: each agency has a principal");
        }

        PolicyDocument policy = PolicyLoader.LoadFile(policyPath);
        TopicNames topics = (prefix is null ? new TopicNames() : new TopicNames().WithPrefix(prefix))
            with { AgencyTemplate = template };
        var settings = new AclRules.Settings
        {
            Topics = topics, PrincipalTemplate = principal, WorkerPrincipal = worker, Group = group,
            TransactionalId = transactionalId,
        };
        var agencies = policy.Agencies.Select(a => a.Id).ToList();
        var users = agencies.Select(a => (Name: a, Principal: AclRules.PrincipalOf(settings, a),
                Rules: AclRules.ForAgency(settings, a)))
            .Append((Name: "streamguard", Principal: worker, Rules: AclRules.ForWorker(settings, agencies)))
            .ToList();
        output.Write(format == Format.KafkaAcls
            ? KafkaAcls(users, bootstrap)
            : Strimzi(users, cluster, authentication));
        return 0;
    }

    private static string KafkaAcls(List<(string Name, string Principal, List<AclRule> Rules)> users,
        string bootstrap)
    {
        var text = new StringBuilder();
        text.Append("#!/bin/sh\n")
            .Append("# StreamGuard ACLs (streamguard acl): each agency reads exactly its own topics\nset -e\n");
        foreach ((string name, string principal, List<AclRule> rules) in users)
        {
            text.Append('\n').Append("# ").Append(name).Append('\n');
            foreach (AclRule r in rules)
            {
                text.Append("kafka-acls.sh --bootstrap-server ").Append(Quote(bootstrap))
                    .Append(" --add --allow-principal ").Append(Quote(principal));
                foreach (string op in r.Operations) text.Append(" --operation ").Append(op);
                text.Append(r.Resource switch
                {
                    AclResource.Topic => " --topic " + Quote(r.Name),
                    AclResource.Group => " --group " + Quote(r.Name),
                    AclResource.TransactionalId => " --transactional-id " + Quote(r.Name),
                    _ => " --cluster",
                });
                if (r.Resource != AclResource.Cluster)
                {
                    text.Append(" --resource-pattern-type ").Append(r.Prefixed ? "prefixed" : "literal");
                }
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    private static string Strimzi(List<(string Name, string Principal, List<AclRule> Rules)> users,
        string cluster, string authentication)
    {
        var text = new StringBuilder();
        foreach ((string _, string principal, List<AclRule> rules) in users)
        {
            // Strimzi names the principal after the KafkaUser (User:CN=<name> with TLS, User:<name> with SCRAM).
            string user = principal.StartsWith("User:", StringComparison.Ordinal) ? principal[5..] : principal;
            text.Append("---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\nmetadata:\n")
                .Append("  name: ").Append(Yaml(user)).Append('\n')
                .Append("  labels:\n    strimzi.io/cluster: ").Append(Yaml(cluster)).Append('\n')
                .Append("spec:\n  authentication:\n    type: ").Append(Yaml(authentication)).Append('\n')
                .Append("  authorization:\n    type: simple\n    acls:\n");
            foreach (AclRule r in rules)
            {
                text.Append("      - resource:\n          type: ").Append(r.Resource switch
                {
                    AclResource.Topic => "topic",
                    AclResource.Group => "group",
                    AclResource.TransactionalId => "transactionalId",
                    _ => "cluster",
                }).Append('\n');
                if (r.Resource != AclResource.Cluster)
                {
                    text.Append("          name: ").Append(Yaml(r.Name)).Append('\n')
                        .Append("          patternType: ").Append(r.Prefixed ? "prefix" : "literal").Append('\n');
                }
                text.Append("        operations: [").Append(string.Join(", ", r.Operations)).Append("]\n")
                    .Append("        host: \"*\"\n");
            }
        }
        return text.ToString();
    }

    /// <summary>A shell word: as it is when it holds only safe characters, else single-quoted.</summary>
    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or ',' or '/' or '=')
            ? s
            : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A YAML scalar: plain when safe, else double-quoted.</summary>
    private static string Yaml(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') && !char.IsDigit(s[0])
            ? s
            : "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
                + "\"";
}
