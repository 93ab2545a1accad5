using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// A worker resuming an audit chain verifies the tail it continues: a block appended to the audit topic by someone
/// without the audit key, however correctly hash-chained, is found on resume and the worker refuses to continue the
/// chain. Runs on the embedded cluster, or on a real broker when STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public sealed class AuditChainResumeTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    private static StreamGuardWorker Worker(KafkaTestCluster cluster, TestPolicy policy, byte[]? auditKey = null,
        byte[]? retiredAuditKey = null) =>
        new(cluster.WorkerOptions(cluster.GroupId + "-w", quickRejoin: true),
            sink => new StreamGuardEngine(policy.Compiled, sink, auditKey ?? TestPolicy.AuditKey,
                EngineOptions.Default with { RetiredAuditKeys = retiredAuditKey is null ? null : [retiredAuditKey] }));

    /// <summary>Runs a worker until it is ready (returns null) or fails (returns its exception).</summary>
    private static async Task<Exception?> RunUntilReady(StreamGuardWorker worker, Func<Task> whileReady)
    {
        using var stop = new CancellationTokenSource();
        Task run = Task.Factory.StartNew(() => worker.Run(stop.Token), TaskCreationOptions.LongRunning);
        var deadline = DateTime.UtcNow + s_timeout;
        while (!worker.Ready && !run.IsCompleted)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the worker neither got ready nor failed");
            await Task.Delay(50);
        }
        if (!run.IsCompleted) await whileReady();
        await stop.CancelAsync();
        try
        {
            await run.WaitAsync(s_timeout);
            return null;
        }
        catch (Exception e) when (e is not TimeoutException)
        {
            return e;
        }
    }

    /// <summary>Waits until <paramref name="worker"/> has decided an event (at most the test's timeout).</summary>
    private static async Task FirstProcessed(StreamGuardWorker worker)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (worker.Processed < 1 && DateTime.UtcNow < deadline) await Task.Delay(50);
    }

    [Fact]
    public async Task ACorrectlyChainedForgedBlockAppendedBeforeARestartIsDetectedOnResume()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster(partitions: 1);
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
        {
            Key = "7ABC123", Value = TestPolicy.Read("r1", "ca-lapd", "7ABC123", now.AddMinutes(-1)),
        });
        StreamGuardWorker first = Worker(cluster, policy);
        Assert.Null(await RunUntilReady(first, () => FirstProcessed(first)));
        Assert.Equal(1, first.Processed);

        // The chain's head as written, and a block after it hashed onto it exactly as the worker hashes blocks.
        List<string> lines = cluster.AuditLines(s_timeout);
        AuditVerifier.Result genuine = AuditVerifier.Verify(lines);
        Assert.Null(genuine.Error);
        (long seq, string hash) = genuine.Heads["p0"];
        string entry = $"{{\"seq\":{seq + 1},\"at\":\"2026-03-03T17:00:00Z\",\"policy\":1,\"read\":\"forged\"," +
            "\"owner\":\"ca-lapd\",\"plate_ref\":\"00000000000000000000000000000000\",\"ingest\":\"allow.ingest\"}";
        string sealBody = $"{{\"chain\":\"p0\",\"seq\":{seq + 1},\"at\":\"2026-03-03T17:00:00Z\"," +
            $"\"salt\":\"{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}\"";
        string forgedHash = Convert.ToHexStringLower(
            SHA256.HashData(Encoding.ASCII.GetBytes(hash + entry + "\n" + sealBody + "}")));
        string forged = entry + "\n" + sealBody + $",\"hash\":\"{forgedHash}\"}}";
        // Correctly chained: audit verify accepts the log with it.
        Assert.Null(AuditVerifier.Verify([.. lines, .. forged.Split('\n')]).Error);
        await producer.ProduceAsync(new TopicPartition(cluster.Topics.Audit, 0),
            new Message<string?, string> { Key = "p0", Value = forged });

        StreamGuardWorker second = Worker(cluster, policy);
        Exception? failure = await RunUntilReady(second, () => Task.CompletedTask);

        Assert.NotNull(failure);
        Assert.Contains("audit chain p0", failure.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, second.Processed);
        // Nothing was chained onto the forgery.
        Assert.Equal(seq + 1, AuditVerifier.Verify(cluster.AuditLines(s_timeout)).Heads["p0"].Seq);
    }

    [Fact]
    public async Task AGenuineChainIsResumedAfterARestartAndStillVerifies()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster(partitions: 1);
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (int run = 0; run < 3; run++)
        {
            await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
            {
                Key = "7ABC123", Value = TestPolicy.Read($"r{run}", "ca-lapd", "7ABC123", now.AddMinutes(-1)),
            });
            StreamGuardWorker worker = Worker(cluster, policy);
            Assert.Null(await RunUntilReady(worker, () => FirstProcessed(worker)));
            Assert.Equal(1, worker.Processed);
        }
        AuditVerifier.Result result = AuditVerifier.Verify(cluster.AuditLines(s_timeout));
        Assert.Null(result.Error);
        Assert.True(result.Blocks >= 3);
    }

    [Fact]
    public async Task AWorkerRestartedWithANewAuditKeyContinuesItsChainsAndRestoresItsReadsGivenTheRetiredOne()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster(partitions: 1);
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        byte[] rotated = SHA256.HashData("another audit key"u8);
        await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
        {
            Key = "7ABC123", Value = TestPolicy.Read("r0", "ca-lapd", "7ABC123", now.AddMinutes(-1)),
        });
        StreamGuardWorker first = Worker(cluster, policy);
        Assert.Null(await RunUntilReady(first, () => FirstProcessed(first)));

        // The new key alone: the chain's blocks were salted under the old one, which the worker cannot tell from a
        // forgery.
        Exception? failure = await RunUntilReady(Worker(cluster, policy, rotated), () => Task.CompletedTask);
        Assert.NotNull(failure);
        Assert.Contains("give the retired one too", failure.ToString(), StringComparison.Ordinal);

        // With the retired key: the chain goes on, r0 comes back (its plate_ref compared under the retired key).
        StreamGuardWorker third = Worker(cluster, policy, rotated, TestPolicy.AuditKey);
        int restored = -1;
        Assert.Null(await RunUntilReady(third, async () =>
        {
            restored = third.Engine!.StoredReadCount;
            await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
            {
                Key = "8XYZ999", Value = TestPolicy.Read("r1", "ca-lapd", "8XYZ999", now.AddMinutes(-1)),
            });
            await FirstProcessed(third);
        }));
        Assert.Equal(1, restored);
        Assert.Equal(1, third.Processed);
        AuditVerifier.Result result = AuditVerifier.Verify(cluster.AuditLines(s_timeout));
        Assert.Null(result.Error);
        Assert.True(result.Blocks >= 2);
    }
}
