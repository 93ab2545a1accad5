using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// A record whose message key names another plate than its body: decided, stored and searched by the body's plate
/// (what the engine decides by), so a query for that plate finds it, on whatever partition it arrived (issue 17).
/// Runs on the embedded cluster, or on a real broker when STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public abstract class KeyBodyPlateTests(ProcessingMode mode)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>Two plates that belong to different partitions.</summary>
    private static (string Key, int KeyPartition, string Body, int BodyPartition) TwoPlates(int partitions)
    {
        const string Body = "7BODY01";
        int bodyPartition = PlatePartitioner.PartitionOf(Encoding.UTF8.GetBytes(Body), default, partitions);
        for (int i = 0; ; i++)
        {
            string key = $"9KEY{i:D3}";
            int p = PlatePartitioner.PartitionOf(Encoding.UTF8.GetBytes(key), default, partitions);
            if (p != bodyPartition) return (key, p, Body, bodyPartition);
        }
    }

    private static void Produce(IProducer<string, string> producer, string topic, int partition, string key,
        string value) => producer.Produce(new TopicPartition(topic, partition),
            new Message<string, string> { Key = key, Value = value });

    [Fact]
    public async Task AReadKeyedByAnotherPlateIsDecidedOnItsBodysPlatePartitionAndFoundBySearch()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var (key, keyPartition, body, bodyPartition) = TwoPlates(cluster.Partitions);
        var worker = new StreamGuardWorker(cluster.WorkerOptions(processing: mode),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();
        DateTimeOffset now = DateTimeOffset.UtcNow;

        using (IProducer<string, string> producer = new ProducerBuilder<string, string>(
            new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All }).Build())
        {
            // On the key's partition of the input topic; on the key's partition of the repartition topic (as a
            // forward by the key would have put it); and, for comparison, an ordinary read of the body's plate.
            Produce(producer, cluster.Topics.Reads, keyPartition, key,
                TestPolicy.Read("r-keyed", "ca-lapd", body, now.AddMinutes(-3)));
            Produce(producer, cluster.Topics.RepartitionReads, keyPartition, key,
                TestPolicy.Read("r-misforwarded", "ca-lapd", body, now.AddMinutes(-2)));
            Produce(producer, cluster.Topics.Reads, bodyPartition, body,
                TestPolicy.Read("r-plain", "ca-lapd", body, now.AddMinutes(-1)));
            Assert.Equal(0, producer.Flush(s_timeout));
            await running.WaitFor(() => worker.Processed >= 3);
            // A query keyed by its plate meets the reads of that plate, on that plate's partition.
            Produce(producer, cluster.Topics.Queries, bodyPartition, body,
                TestPolicy.Query("q-body", "ca-lapd", body, DateTimeOffset.UtcNow));
            Assert.Equal(0, producer.Flush(s_timeout));
            await running.WaitFor(() => worker.Processed >= 4);
        }
        await running.StopAsync();

        List<JsonElement> decisions = cluster.AuditDecisions(s_timeout).Select(Json).ToList();
        string chain = $"p{bodyPartition}";
        foreach (string read in (string[])["r-keyed", "r-misforwarded", "r-plain"])
        {
            JsonElement ingest = Assert.Single(decisions, d => Str(d, "event") == "ingest" && Reads(d).Contains(read));
            Assert.Equal(chain, Str(ingest, "chain"));
        }
        string[] found = decisions.Where(d => Str(d, "event") == "search" && Str(d, "query_id") == "q-body")
            .SelectMany(Reads).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["r-keyed", "r-misforwarded", "r-plain"], found);
        Assert.True(worker.Forwarded >= 2, $"forwarded {worker.Forwarded}");
    }

    [Fact]
    public async Task WithoutRepartitionTopicsAReadKeyedByAnotherPlateIsDeadLettered()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var (key, keyPartition, body, bodyPartition) = TwoPlates(cluster.Partitions);
        // Repartition topics with one partition, not one per input partition: the worker runs without forwarding.
        // (Named topics that do not exist would be created by a broker that creates topics on a metadata request.)
        WorkerOptions options = cluster.WorkerOptions(processing: mode);
        options = options with
        {
            Topics = options.Topics with
            {
                RepartitionReads = options.Topics.RepartitionReads + ".one",
                RepartitionQueries = options.Topics.RepartitionQueries + ".one",
            },
        };
        await CreateOnePartitionTopics(cluster, options.Topics.RepartitionReads, options.Topics.RepartitionQueries);
        var worker = new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using (IProducer<string, string> producer = new ProducerBuilder<string, string>(
            new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All }).Build())
        {
            Produce(producer, cluster.Topics.Reads, keyPartition, key,
                TestPolicy.Read("r-keyed", "ca-lapd", body, now.AddMinutes(-2)));
            // A key that is the same plate written otherwise is no disagreement.
            Produce(producer, cluster.Topics.Reads, bodyPartition, body.ToLowerInvariant().Insert(1, "-"),
                TestPolicy.Read("r-same", "ca-lapd", body, now.AddMinutes(-1)));
            Assert.Equal(0, producer.Flush(s_timeout));
            await running.WaitFor(() => worker.Processed >= 2);
        }
        await running.StopAsync();
        Assert.Equal(0, worker.Forwarded);

        var dead = cluster.ReadToEnd(cluster.Topics.DeadLetter, s_timeout).Select(r => Json(r.Message.Value)).ToList();
        JsonElement letter = Assert.Single(dead);
        Assert.Equal("invalid_field", Str(letter, "error"));
        Assert.Contains("plate", Str(letter, "detail"), StringComparison.Ordinal);
        List<JsonElement> decisions = cluster.AuditDecisions(s_timeout).Select(Json).ToList();
        Assert.DoesNotContain(decisions, d => Reads(d).Contains("r-keyed"));
        Assert.Contains(decisions, d => Str(d, "event") == "ingest" && Reads(d).Contains("r-same"));
    }

    private static async Task CreateOnePartitionTopics(KafkaTestCluster cluster, params string[] topics)
    {
        if (cluster.Mock is { } mock)
        {
            foreach (string t in topics) mock.CreateTopic(t, 1);
            return;
        }
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync(topics.Select(t =>
            new TopicSpecification { Name = t, NumPartitions = 1, ReplicationFactor = 1 }));
    }

    private static JsonElement Json(string s) => JsonDocument.Parse(Encoding.UTF8.GetBytes(s)).RootElement.Clone();

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static IEnumerable<string> Reads(JsonElement d) =>
        d.TryGetProperty("reads", out JsonElement reads) && reads.ValueKind == JsonValueKind.Array
            ? reads.EnumerateArray().Select(r => r.ValueKind == JsonValueKind.String
                ? r.GetString()!
                : r.TryGetProperty("read_id", out JsonElement id) ? id.GetString()! : "")
            : [];

    /// <summary>These tests with outputs, audit and offsets committed in one transaction.</summary>
    public sealed class ExactlyOnce() : KeyBodyPlateTests(ProcessingMode.ExactlyOnce);

    /// <summary>These tests with outputs flushed, then offsets committed.</summary>
    public sealed class AtLeastOnce() : KeyBodyPlateTests(ProcessingMode.AtLeastOnce);
}
