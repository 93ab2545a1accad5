using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace StreamGuard.Kafka;

/// <summary>
/// One setting of several topics, read with DescribeConfigs: the record limits of the topics the worker writes
/// (<see cref="AgencyTopicCreator"/>) and the retention of the reads topic (<see cref="PartitionRestorer"/>).
/// </summary>
internal static class TopicConfigs
{
    /// <summary>
    /// <paramref name="setting"/>'s value for each topic the broker described; a topic it refused (no right to
    /// describe it) is left out. Throws <see cref="KafkaException"/> when the request failed as a whole and
    /// <see cref="TimeoutException"/> when it did not finish within <paramref name="timeout"/> and a grace of 5 s
    /// (the admin client's own timeout is not always kept).
    /// </summary>
    public static Dictionary<string, string> Read(IAdminClient admin, IEnumerable<string> topics, string setting,
        TimeSpan timeout)
    {
        List<DescribeConfigsResult> results;
        try
        {
            Task<List<DescribeConfigsResult>> describe = admin.DescribeConfigsAsync(
                topics.Select(t => new ConfigResource { Type = ResourceType.Topic, Name = t }),
                new DescribeConfigsOptions { RequestTimeout = timeout });
            if (!describe.Wait(timeout + TimeSpan.FromSeconds(5)))
            {
                throw new TimeoutException($"DescribeConfigs did not answer within {timeout.TotalSeconds:0} s");
            }
            results = describe.Result;
        }
        catch (AggregateException ae) when (ae.InnerException is DescribeConfigsException e)
        {
            results = e.Results.Where(r => !r.Error.IsError)
                .Select(r => new DescribeConfigsResult { ConfigResource = r.ConfigResource, Entries = r.Entries })
                .ToList();
        }
        catch (AggregateException ae) when (ae.InnerException is KafkaException k)
        {
            throw k;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DescribeConfigsResult r in results)
        {
            if (r.Entries.TryGetValue(setting, out ConfigEntryResult? entry) && entry.Value is { } value)
            {
                values[r.ConfigResource.Name] = value;
            }
        }
        return values;
    }
}
