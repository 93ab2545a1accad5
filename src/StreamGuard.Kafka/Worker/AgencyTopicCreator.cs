using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using StreamGuard.Engine;

namespace StreamGuard.Kafka;

/// <summary>
/// Makes sure every agency of a policy has its output topics (<see cref="TopicNames.OfAgency"/>) before anything is
/// produced to them: missing ones are created through the admin API with the worker's partitions and replication
/// (<see cref="WorkerOptions.AgencyTopicPartitions"/>), existing ones are used as they are. Run on start and before a
/// reloaded policy is swapped in; topics made or found once are not asked about again.
/// </summary>
/// <remarks>
/// A topic that may not be created (the worker's principal lacks Create on it or on the cluster) is a
/// <see cref="TopicCreationException"/> naming the topic and the right: on start the worker stops with it, on reload
/// the new version is refused and the one in force stays. A cluster that does not implement CreateTopics (the embedded
/// one) creates a topic when a client asks for its metadata: the same question then creates it.
/// </remarks>
internal sealed class AgencyTopicCreator : IDisposable
{
    private readonly IAdminClient _admin;
    private readonly WorkerOptions _options;
    private readonly ILogger _log;
    private readonly HashSet<string> _present = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _recordLimits = new(StringComparer.Ordinal);
    private readonly TimeSpan _timeout;
    private bool _configsUndescribed;

    public AgencyTopicCreator(IProducer<byte[], byte[]> producer, WorkerOptions options, ILogger log)
    {
        _admin = new DependentAdminClientBuilder(producer.Handle).Build();
        _options = options;
        _log = log;
        _timeout = options.FlushTimeout;
    }

    /// <summary>The output topics of every agency of <paramref name="policy"/> (retired ones included: purge notices
    /// still reach them), in agency order.</summary>
    public static List<string> TopicsOf(CompiledPolicy policy, TopicNames topics) =>
        TopicsOf(Enumerable.Range(0, policy.Agencies.Count).Select(policy.Agencies.IdText), topics);

    /// <summary>The output topics of <paramref name="agencies"/>, in order.</summary>
    public static List<string> TopicsOf(IEnumerable<string> agencies, TopicNames topics) =>
        agencies.SelectMany(topics.OfAgency).ToList();

    /// <summary>
    /// Creates the missing output topics of <paramref name="policy"/>'s agencies; returns how many it created. Throws
    /// <see cref="TopicCreationException"/> when one cannot be.
    /// </summary>
    /// <remarks>
    /// <paramref name="former"/>: agencies in no policy of this worker (former recipients of restored reads), whose
    /// topics are made too, and checked against the policy's so that no two agencies meet in one topic.
    /// </remarks>
    public int Ensure(CompiledPolicy policy, IEnumerable<string>? former = null) =>
        Ensure([.. TopicsOf(policy, _options.Topics), .. TopicsOf(former ?? [], _options.Topics)]);

    private int Ensure(List<string> wanted)
    {
        CheckNames(wanted);
        var missing = wanted.Where(t => !_present.Contains(t)).ToList();
        if (missing.Count == 0) return 0;
        foreach (string t in Existing()) _present.Add(t);
        missing.RemoveAll(_present.Contains);
        if (missing.Count == 0) return 0;
        Create(missing);
        foreach (string t in missing) _present.Add(t);
        WorkerLog.AgencyTopicsCreated(_log, missing.Count, string.Join(", ", missing));
        return missing.Count;
    }

    /// <summary>Two agencies' (or kinds') names must never meet in one topic, nor one of them in a fixed
    /// topic.</summary>
    private void CheckNames(List<string> wanted)
    {
        var seen = new HashSet<string>(_options.Topics.All, StringComparer.Ordinal);
        foreach (string t in wanted)
        {
            if (!seen.Add(t))
            {
                throw new TopicCreationException(t, $"topic template '{_options.Topics.AgencyTemplate}' gives {t} " +
                    "to two outputs: it must keep agencies and kinds apart");
            }
            if (t.Length > 249 || !t.All(TopicNames.IsTopicChar))
            {
                throw new TopicCreationException(t, $"'{t}' is not a valid Kafka topic name (at most 249 of " +
                    "a-z, A-Z, 0-9, '.', '_', '-')");
            }
        }
    }

    /// <summary>The topics the worker's principal can see (one metadata request, no topic auto-created).</summary>
    private List<string> Existing()
    {
        try
        {
            return _admin.GetMetadata(_timeout).Topics.Where(t => !t.Error.IsError).Select(t => t.Topic).ToList();
        }
        catch (KafkaException e)
        {
            throw new TopicCreationException(_options.Topics.AgencyTemplate,
                $"cannot list the cluster's topics to find missing per-agency topics: {e.Error.Reason}", e.Error.Code);
        }
    }

    private void Create(List<string> missing)
    {
        var specs = missing.Select(t => new TopicSpecification
        {
            Name = t, NumPartitions = _options.AgencyTopicPartitions,
            ReplicationFactor = _options.AgencyTopicReplication,
        }).ToList();
        try
        {
            Task create = _admin.CreateTopicsAsync(specs, new CreateTopicsOptions { RequestTimeout = _timeout });
            if (!create.Wait(_timeout + TimeSpan.FromSeconds(5)))
            {
                throw new TopicCreationException(missing[0],
                    $"creating {missing.Count} per-agency topics did not finish within {_timeout.TotalSeconds:F0} s");
            }
        }
        catch (AggregateException ae) when (ae.InnerException is CreateTopicsException e)
        {
            foreach (CreateTopicReport r in e.Results)
            {
                if (r.Error.IsError && r.Error.Code != ErrorCode.TopicAlreadyExists) throw Refused(r.Topic, r.Error);
            }
        }
        catch (AggregateException ae) when (ae.InnerException is KafkaException
            { Error.Code: ErrorCode.Local_UnsupportedFeature })
        {
            foreach (string t in missing) CreateByMetadata(t);
        }
        catch (AggregateException ae) when (ae.InnerException is KafkaException e)
        {
            throw Refused(missing[0], e.Error);
        }
    }

    /// <summary>A cluster without CreateTopics: a metadata request for the topic creates it (producer clients ask
    /// with allow.auto.create.topics), or says why not.</summary>
    private void CreateByMetadata(string topic)
    {
        Error error;
        try
        {
            TopicMetadata? m = _admin.GetMetadata(topic, _timeout).Topics.FirstOrDefault(x => x.Topic == topic);
            error = m is null ? new Error(ErrorCode.UnknownTopicOrPart) : m.Error;
            if (!error.IsError && m!.Partitions.Count > 0) return;
        }
        catch (KafkaException e)
        {
            error = e.Error;
        }
        throw Refused(topic, error.IsError ? error : new Error(ErrorCode.UnknownTopicOrPart));
    }

    private static TopicCreationException Refused(string topic, Error error) => error.Code switch
    {
        ErrorCode.TopicAuthorizationFailed => new TopicCreationException(topic,
            $"may not create topic {topic}: the worker's principal lacks the Create right on it " +
            "(TopicAuthorizationFailed); grant Create on the topic (streamguard acl prints the ACLs) or create it",
            error.Code),
        ErrorCode.ClusterAuthorizationFailed => new TopicCreationException(topic,
            $"may not create topic {topic}: the worker's principal lacks the Create right on the cluster " +
            "(ClusterAuthorizationFailed); grant Create on the topic (streamguard acl prints the ACLs) or create it",
            error.Code),
        _ => new TopicCreationException(topic, $"cannot create topic {topic}: {error.Reason} ({error.Code})",
            error.Code),
    };

    /// <summary>
    /// The smallest <c>max.message.bytes</c> among <paramref name="topics"/> and the topic that has it (topics not
    /// asked about before are described in one request), so the sink dead-letters what a topic would refuse instead
    /// of the broker refusing it inside a transaction (which would stop the worker on every restart). Null when no
    /// limit is known: a cluster that does not describe topic configs (the embedded one), or a principal without
    /// DescribeConfigs — the producer's <c>message.max.bytes</c> alone applies then, as logged once.
    /// </summary>
    public (string Topic, int Bytes)? SmallestRecordLimit(IEnumerable<string> topics)
    {
        List<string> all = topics.Distinct(StringComparer.Ordinal).ToList();
        var ask = all.Where(t => !_recordLimits.ContainsKey(t)).ToList();
        if (ask.Count > 0 && !_configsUndescribed) Describe(ask);
        (string, int)? smallest = null;
        foreach (string t in all)
        {
            if (_recordLimits.TryGetValue(t, out int bytes) && (smallest is null || bytes < smallest.Value.Item2))
            {
                smallest = (t, bytes);
            }
        }
        return smallest;
    }

    private void Describe(List<string> topics)
    {
        Dictionary<string, string> limits;
        try
        {
            limits = TopicConfigs.Read(_admin, topics, "max.message.bytes", _timeout);
        }
        catch (Exception e) when (e is TimeoutException or KafkaException)
        {
            _configsUndescribed = true;
            WorkerLog.TopicLimitsUnknown(_log, e is KafkaException k ? k.Error.Reason : e.Message);
            return;
        }
        foreach ((string topic, string value) in limits)
        {
            if (int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out int bytes))
            {
                _recordLimits[topic] = bytes;
            }
        }
    }

    public void Dispose() => _admin.Dispose();
}

/// <summary>A per-agency output topic that is missing and could not be created; the message names the topic and
/// what is missing.</summary>
public sealed class TopicCreationException(string topic, string message, ErrorCode code = ErrorCode.NoError)
    : InvalidOperationException(message)
{
    /// <summary>The topic (the first, when several could not be created).</summary>
    public string Topic { get; } = topic;

    /// <summary>The broker's error, when it gave one.</summary>
    public ErrorCode Code { get; } = code;
}
