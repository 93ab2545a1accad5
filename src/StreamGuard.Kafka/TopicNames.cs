namespace StreamGuard.Kafka;

/// <summary>
/// The topics of SPEC §1. The fixed ones (<see cref="All"/>) by name; the output topics per agency
/// (<see cref="ForAgency"/>), one of each <see cref="OutputKind"/>, named by <see cref="AgencyTemplate"/> from the
/// kind's name (<see cref="Shared"/>, <see cref="Alerts"/>, <see cref="Results"/>, <see cref="Purges"/>) and the
/// agency's id.
/// </summary>
public sealed record TopicNames
{
    /// <summary>The default <see cref="AgencyTemplate"/>: <c>alpr.shared.ca-lapd</c>.</summary>
    public const string DefaultAgencyTemplate = "{kind}.{agency}";

    /// <summary>The kinds, in <see cref="OutputKind"/> order.</summary>
    public static readonly IReadOnlyList<OutputKind> Kinds =
        [OutputKind.Shared, OutputKind.Alerts, OutputKind.Results, OutputKind.Purges];

    public string Reads { get; init; } = "alpr.reads";
    public string Queries { get; init; } = "alpr.queries";
    public string Hotlists { get; init; } = "alpr.hotlists";
    public string Holds { get; init; } = "alpr.holds";
    /// <summary>The name of kind <see cref="OutputKind.Shared"/>, <c>{kind}</c> in <see cref="AgencyTemplate"/>;
    /// not a topic itself.</summary>
    public string Shared { get; init; } = "alpr.shared";
    public string Alerts { get; init; } = "alpr.alerts";
    public string Results { get; init; } = "alpr.results";
    public string Purges { get; init; } = "alpr.purges";
    public string Audit { get; init; } = "streamguard.audit";
    public string DeadLetter { get; init; } = "streamguard.dlq";
    /// <summary>
    /// Internal: reads forwarded to their plate's partition (as many partitions as <see cref="Reads"/>).
    /// </summary>
    public string RepartitionReads { get; init; } = "streamguard.repartition.reads";
    /// <summary>
    /// Internal: queries forwarded to their plate's partition (as many partitions as <see cref="Queries"/>).
    /// </summary>
    public string RepartitionQueries { get; init; } = "streamguard.repartition.queries";

    /// <summary>
    /// How a per-agency output topic is named: <c>{kind}</c> stands for the kind's name (with any prefix applied),
    /// <c>{agency}</c> for the agency id; both must appear (<see cref="TemplateProblem"/>).
    /// </summary>
    public string AgencyTemplate { get; init; } = DefaultAgencyTemplate;

    /// <summary>The name of <paramref name="kind"/>, as <c>{kind}</c> in <see cref="AgencyTemplate"/>.</summary>
    public string KindName(OutputKind kind) => kind switch
    {
        OutputKind.Shared => Shared,
        OutputKind.Alerts => Alerts,
        OutputKind.Results => Results,
        OutputKind.Purges => Purges,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Agency <paramref name="agency"/>'s topic of <paramref name="kind"/>.</summary>
    public string ForAgency(OutputKind kind, string agency) => AgencyTemplate
        .Replace("{kind}", KindName(kind), StringComparison.Ordinal)
        .Replace("{agency}", agency, StringComparison.Ordinal);

    /// <summary>Every output topic of <paramref name="agency"/>, in <see cref="OutputKind"/> order.</summary>
    public IEnumerable<string> OfAgency(string agency)
    {
        foreach (OutputKind kind in Kinds) yield return ForAgency(kind, agency);
    }

    /// <summary>
    /// Why <paramref name="template"/> cannot name per-agency topics, or null: it must hold <c>{kind}</c> and
    /// <c>{agency}</c> once each (two agencies, or two kinds, must never share a topic) and otherwise only the
    /// characters of a Kafka topic name.
    /// </summary>
    public static string? TemplateProblem(string template)
    {
        if (Count(template, "{kind}") != 1 || Count(template, "{agency}") != 1)
        {
            return $"'{template}' must contain {{kind}} and {{agency}} once each";
        }
        string rest = template.Replace("{kind}", "", StringComparison.Ordinal)
            .Replace("{agency}", "", StringComparison.Ordinal);
        if (!rest.All(IsTopicChar)) return $"'{template}' may hold only a-z, A-Z, 0-9, '.', '_' and '-' besides them";
        return null;

        static int Count(string s, string part)
        {
            int n = 0;
            for (int i = s.IndexOf(part, StringComparison.Ordinal); i >= 0;
                i = s.IndexOf(part, i + part.Length, StringComparison.Ordinal))
            {
                n++;
            }
            return n;
        }
    }

    /// <summary>Whether <paramref name="c"/> may appear in a Kafka topic name.</summary>
    public static bool IsTopicChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';

    /// <summary>The same names with a prefix (isolated test runs on a shared broker).</summary>
    public TopicNames WithPrefix(string prefix) => new()
    {
        Reads = prefix + Reads, Queries = prefix + Queries, Hotlists = prefix + Hotlists, Holds = prefix + Holds,
        Shared = prefix + Shared, Alerts = prefix + Alerts, Results = prefix + Results, Purges = prefix + Purges,
        AgencyTemplate = AgencyTemplate,
        Audit = prefix + Audit, DeadLetter = prefix + DeadLetter,
        RepartitionReads = prefix + RepartitionReads, RepartitionQueries = prefix + RepartitionQueries,
    };

    /// <summary>The fixed topics: inputs, audit, dead letters and the repartition topics (the per-agency outputs are
    /// <see cref="OfAgency"/>'s).</summary>
    public IEnumerable<string> All =>
    [
        Reads, Queries, Hotlists, Holds, Audit, DeadLetter, RepartitionReads, RepartitionQueries,
    ];
}
