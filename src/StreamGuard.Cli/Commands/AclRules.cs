using StreamGuard.Kafka;

namespace StreamGuard.Cli.Commands;

/// <summary>Kafka resource types an ACL names.</summary>
internal enum AclResource
{
    Topic,
    Group,
    TransactionalId,
    Cluster,
}

/// <summary>One Kafka ACL: <paramref name="Principal"/> may do <paramref name="Operations"/> on the resource.
/// <paramref name="Prefixed"/>: the name is a prefix (Kafka's PREFIXED pattern), else the exact name (LITERAL).
/// </summary>
internal sealed record AclRule(string Principal, AclResource Resource, string Name, bool Prefixed,
    IReadOnlyList<string> Operations);

/// <summary>
/// The ACLs of SPEC §6: each agency may read its own output topics and nothing else; the worker may read its inputs,
/// write its outputs, create the agencies' topics, and use its group and transactional id.
/// </summary>
/// <remarks>
/// An agency's topics are named exactly (LITERAL), never by prefix: agency ids are [a-z0-9-], so one id can be a
/// prefix of another (<c>ca-la</c>, <c>ca-lapd</c>), and a prefix ACL on <c>alpr.shared.ca-la</c> would also grant
/// <c>alpr.shared.ca-lapd</c>. The worker's rights on the agencies' topics are a prefix when the template puts the
/// agency last after a fixed text (<c>alpr.shared.</c> for <c>{kind}.{agency}</c>), so an agency added by a reload
/// needs no new ACL for the worker; otherwise one LITERAL rule per topic of the policy.
/// </remarks>
internal static class AclRules
{
    /// <summary>What <c>acl</c> is told besides the policy.</summary>
    internal sealed record Settings
    {
        public TopicNames Topics { get; init; } = new();

        /// <summary>An agency's principal: <c>{agency}</c> stands for its id.</summary>
        public string PrincipalTemplate { get; init; } = "User:{agency}";

        public string WorkerPrincipal { get; init; } = "User:streamguard";

        public string Group { get; init; } = "streamguard";

        /// <summary>The worker's transactional.id; null: every id starting <c>&lt;group&gt;-</c> (the default
        /// ids).</summary>
        public string? TransactionalId { get; init; }
    }

    public static string PrincipalOf(Settings s, string agency) =>
        s.PrincipalTemplate.Replace("{agency}", agency, StringComparison.Ordinal);

    /// <summary>Agency <paramref name="agency"/>'s rules: Read and Describe on each of its topics, and Read on the
    /// consumer groups named <c>&lt;agency&gt;.…</c> (agency ids hold no dot, so no other agency's group).</summary>
    public static List<AclRule> ForAgency(Settings s, string agency)
    {
        string principal = PrincipalOf(s, agency);
        var rules = new List<AclRule>();
        foreach (string topic in s.Topics.OfAgency(agency))
        {
            rules.Add(new AclRule(principal, AclResource.Topic, topic, Prefixed: false, ["Read", "Describe"]));
        }
        rules.Add(new AclRule(principal, AclResource.Group, agency + ".", Prefixed: true, ["Read"]));
        return rules;
    }

    /// <summary>The worker's rules, for the agencies <paramref name="agencies"/> of the policy.</summary>
    public static List<AclRule> ForWorker(Settings s, IReadOnlyList<string> agencies)
    {
        TopicNames t = s.Topics;
        string p = s.WorkerPrincipal;
        var rules = new List<AclRule>();
        // DescribeConfigs on every topic the worker reads a setting of: alpr.reads' retention (what a restore may
        // rebuild), and the max.message.bytes of every topic it writes (a restart after an operator lowered one
        // bounds its outputs by it and dead-letters what would not fit, instead of failing the same transaction
        // again and again). Without it the worker warns and uses its producer's limit alone.
        rules.Add(new AclRule(p, AclResource.Topic, t.Reads, false, ["Read", "Describe", "DescribeConfigs"]));
        foreach (string topic in (string[])[t.Queries, t.Hotlists, t.Holds])
        {
            rules.Add(new AclRule(p, AclResource.Topic, topic, false, ["Read", "Describe"]));
        }
        // The repartition topics are written and read back; the audit topic is read back when a chain is resumed.
        foreach (string topic in (string[])[t.RepartitionReads, t.RepartitionQueries, t.Audit])
        {
            rules.Add(new AclRule(p, AclResource.Topic, topic, false,
                ["Read", "Write", "Describe", "DescribeConfigs"]));
        }
        rules.Add(new AclRule(p, AclResource.Topic, t.DeadLetter, false, ["Write", "Describe", "DescribeConfigs"]));
        string[] outputRights = ["Write", "Describe", "Create", "DescribeConfigs"];
        foreach (OutputKind kind in TopicNames.Kinds)
        {
            if (AgencyPrefix(t, kind) is { } prefix)
            {
                rules.Add(new AclRule(p, AclResource.Topic, prefix, true, outputRights));
                continue;
            }
            foreach (string agency in agencies)
            {
                rules.Add(new AclRule(p, AclResource.Topic, t.ForAgency(kind, agency), false, outputRights));
            }
        }
        rules.Add(new AclRule(p, AclResource.Group, s.Group, false, ["Read", "Describe"]));
        rules.Add(s.TransactionalId is { } id
            ? new AclRule(p, AclResource.TransactionalId, id, false, ["Write", "Describe"])
            : new AclRule(p, AclResource.TransactionalId, s.Group + "-", true, ["Write", "Describe"]));
        rules.Add(new AclRule(p, AclResource.Cluster, "kafka-cluster", false, ["IdempotentWrite"]));
        return rules;
    }

    /// <summary>
    /// The fixed text every agency's topic of <paramref name="kind"/> starts with when the template ends with
    /// <c>{agency}</c> after a separator (<c>alpr.shared.</c>); null when the agency is not last, or nothing fixed
    /// precedes it (a prefix would then cover unrelated topics).
    /// </summary>
    public static string? AgencyPrefix(TopicNames topics, OutputKind kind)
    {
        string template = topics.AgencyTemplate;
        if (!template.EndsWith("{agency}", StringComparison.Ordinal)) return null;
        string head = template[..^"{agency}".Length].Replace("{kind}", topics.KindName(kind), StringComparison.Ordinal);
        return head.Length > 0 && head[^1] is '.' or '_' or '-' && head.Length > 1 ? head : null;
    }
}
