using System.Text;
using Confluent.Kafka;
using HdrHistogram;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// Consumed → every output acknowledged by the broker (<see cref="StreamGuardWorker.AckLatencyMicros"/>) and consumed →
/// the covering commit (<see cref="StreamGuardWorker.CommitLatencyMicros"/>): taken when the broker acknowledges, not
/// when outputs are handed to the producer. Runs on the embedded cluster (with a produce round trip injected there), or
/// on a real broker when STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public sealed class AckLatencyTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Added to every response of the embedded broker: far above a decision (tens of µs), so a figure taken at
    /// Produce fails.
    /// </summary>
    private const int InjectedRttMs = 40;

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 3)]
    public async Task EachSampledEventIsTimedToTheBrokersAcknowledgementOfItsLastOutputAndToItsCommit(
        bool exactlyOnce, int sampleEvery)
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var options = cluster.WorkerOptions(exactlyOnce ? "ack-" + cluster.GroupId : null) with
        {
            Processing = exactlyOnce ? ProcessingMode.ExactlyOnce : ProcessingMode.AtLeastOnce,
            AckLatencySampleEvery = sampleEvery,
        };
        var worker = new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();
        MockCluster? mock = cluster.Mock;
        mock?.SetBrokerRtt(-1, InjectedRttMs);

        // Every read yields outputs (at least its ingest audit record; the first of a chain a policy_load record too).
        const int reads = 30;
        using (IProducer<string?, string> producer = cluster.Producer())
        {
            for (int i = 0; i < reads; i++)
            {
                string plate = $"7ACK{i % 7:D3}";
                producer.Produce(cluster.Topics.Reads, new Message<string?, string>
                {
                    Key = plate, Value = TestPolicy.Read($"r{i}", "ca-lapd", plate, now.AddSeconds(-i)),
                });
            }
            Assert.Equal(0, producer.Flush(s_timeout));
        }
        await running.WaitFor(() => worker.Processed >= reads);
        await running.StopAsync(); // the last commit flushes: every delivery report has come back
        mock?.SetBrokerRtt(-1, 0);
        await running.WaitFor(() => worker.AckLatencyMicros.TotalCount >= reads / sampleEvery);

        LongHistogram ack = worker.AckLatencyMicros.Snapshot(), committed = worker.CommitLatencyMicros.Snapshot();
        LongHistogram decision = worker.DecisionLatencyMicros;
        Assert.Equal(reads, decision.TotalCount);
        Assert.Equal(reads / sampleEvery, ack.TotalCount);
        Assert.Equal(0, worker.AckLatencyMicros.Skipped);
        Assert.Equal(0, worker.Sink!.DeliveryErrors);
        // An event's outputs are acknowledged after they were handed over, and committed after they were acknowledged.
        Assert.True(ack.GetValueAtPercentile(0) >= decision.GetValueAtPercentile(0),
            $"ack min {ack.GetValueAtPercentile(0)} µs < decision min {decision.GetValueAtPercentile(0)} µs");
        Assert.Equal(ack.TotalCount, committed.TotalCount);
        foreach (double q in (double[])[0, 50, 100])
        {
            Assert.True(committed.GetValueAtPercentile(q) >= ack.GetValueAtPercentile(q) * 0.999,
                $"p{q}: committed {committed.GetValueAtPercentile(q)} µs < " +
                $"acknowledged {ack.GetValueAtPercentile(q)} µs");
        }
        if (mock is not null)
        {
            // The produce round trip is in every figure, and not in the decision's: timing at Produce would show
            // tens of µs.
            Assert.True(decision.GetValueAtPercentile(50) < InjectedRttMs * 1000 / 4,
                $"decision p50 {decision.GetValueAtPercentile(50)} µs");
            Assert.True(ack.GetValueAtPercentile(0) >= InjectedRttMs * 1000 * 0.99,
                $"ack min {ack.GetValueAtPercentile(0)} µs under the injected {InjectedRttMs} ms round trip");
        }
    }

    [Fact]
    public void AProbeStillInFlightWhenTheRingComesRoundIsSkippedAndNeverReused()
    {
        using var cluster = new KafkaTestCluster();
        // Nothing leaves the producer for 2 s: all 1,024 probes are in flight when events 1,025 and on ask for one.
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer(lingerMs: 2000);
        var latency = new SharedLatencyHistogram();
        var sink = new KafkaOutputSink(producer, cluster.Topics, cluster.Partitions, latency, sampleEvery: 1);
        const int events = 1024 + 10;
        for (int i = 0; i < events; i++)
        {
            sink.BeginEvent(System.Diagnostics.Stopwatch.GetTimestamp());
            sink.Audit(i % cluster.Partitions, Bytes($"{{\"seq\":{i:d5}}}"));
            sink.EndEvent();
        }
        Assert.Equal(10, latency.Skipped);
        // No flush (it would send at once): the linger runs out and every figure includes it.
        SpinWait.SpinUntil(() => latency.TotalCount >= 1024, s_timeout);
        Assert.Equal(1024, latency.TotalCount);
        Assert.True(latency.Snapshot().GetValueAtPercentile(0) >= 1_900_000,
            $"min {latency.Snapshot().GetValueAtPercentile(0)} µs: the linger is in every figure");
        Assert.Equal(0, producer.Flush(s_timeout));
        Assert.Equal(events, sink.Produced);
        Assert.Equal(0, sink.DeliveryErrors);

        // The ring is free again once acknowledged: nothing skipped from here on.
        using IProducer<byte[], byte[]> quick = cluster.OutputProducer(lingerMs: 0);
        var again = new SharedLatencyHistogram();
        var sink2 = new KafkaOutputSink(quick, cluster.Topics, cluster.Partitions, again, sampleEvery: 1);
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 1024; j++)
            {
                sink2.BeginEvent(System.Diagnostics.Stopwatch.GetTimestamp());
                sink2.DeadLetter(Bytes("{\"error\":\"malformed_json\"}"));
                sink2.EndEvent();
            }
            Assert.Equal(0, quick.Flush(s_timeout));
            SpinWait.SpinUntil(() => again.TotalCount >= 1024 * (i + 1) - again.Skipped, s_timeout);
        }
        Assert.Equal(3 * 1024, again.TotalCount + again.Skipped);
        Assert.True(again.Skipped < 1024,
            $"{again.Skipped} skipped: probes were not freed after their acknowledgement");
    }

    [Fact]
    public void EventsWithoutOutputsAreNotTimedAndTheNextEventIsSampledInstead()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer(lingerMs: 0);
        var latency = new SharedLatencyHistogram();
        var sink = new KafkaOutputSink(producer, cluster.Topics, cluster.Partitions, latency, sampleEvery: 4);
        cluster.CreateAgencyTopics("ca-lasd");
        sink.AddAgency("ca-lasd");
        // Events without outputs (a forward is not an output of its event: it is timed where it is decided) do not
        // count: every 4th event with outputs is timed, and one sampled without outputs passes the turn to the next.
        bool[] withOutputs =
            [true, false, true, true, false, false, true, true, false, true, true, true, true, false, true];
        int[] timed = [6, 11]; // the 4th and 8th with outputs (events 4 and 5 were sampled in turn and had none)
        for (int i = 0; i < withOutputs.Length; i++)
        {
            sink.BeginEvent(System.Diagnostics.Stopwatch.GetTimestamp());
            if (!withOutputs[i])
            {
                sink.Forward(cluster.Topics.RepartitionReads, 0, default, true, Bytes("{}"), false,
                    EventSource.Kafka("reads", 0, 0));
            }
            else
            {
                sink.Result(Bytes("ca-lasd"), Bytes($"q{i}"), Bytes("{\"status\":\"answered\"}"));
            }
            Assert.Equal(timed.Contains(i), sink.EndEvent());
        }
        Assert.Equal(0, producer.Flush(s_timeout));
        SpinWait.SpinUntil(() => latency.TotalCount >= timed.Length, s_timeout);
        Thread.Sleep(200);
        Assert.Equal(timed.Length, latency.TotalCount);
        Assert.Equal(0, latency.Skipped);
    }

    [Fact]
    public void AFailedDeliveryIsCountedAsBeforeAndItsEventIsNotTimed()
    {
        using var cluster = new KafkaTestCluster();
        if (cluster.Mock is not { } mock) return; // errors can be injected on the embedded cluster only
        using IProducer<byte[], byte[]> producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, DeliveryReportFields = "none", LingerMs = 0,
        }).Build();
        var latency = new SharedLatencyHistogram();
        var sink = new KafkaOutputSink(producer, cluster.Topics, cluster.Partitions, latency, sampleEvery: 1);
        cluster.CreateAgencyTopics("ca-lapd");
        sink.AddAgency("ca-lapd");
        Send(); // connected and leader known before the error is queued for the next produce request
        Assert.Equal(0, producer.Flush(s_timeout));
        SpinWait.SpinUntil(() => latency.TotalCount >= 1, s_timeout);

        mock.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.MsgSizeTooLarge);
        Send();
        Assert.Equal(0, producer.Flush(s_timeout));
        Send();
        Assert.Equal(0, producer.Flush(s_timeout));
        SpinWait.SpinUntil(() => latency.TotalCount >= 2, s_timeout);
        Thread.Sleep(200);

        Assert.Equal(1, sink.DeliveryErrors);
        Assert.Equal(ErrorCode.MsgSizeTooLarge, sink.FirstError?.Code);
        Assert.Equal(2, latency.TotalCount);

        void Send()
        {
            sink.BeginEvent(System.Diagnostics.Stopwatch.GetTimestamp());
            sink.Purge(Bytes("ca-lapd"), Bytes("r1"), Bytes("{\"event\":\"purge\"}"));
            sink.EndEvent();
        }
    }

    [Fact]
    public void TimingAnEventAllocatesNothingMoreOnTheWorkersThreadThanNotTimingIt()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer(lingerMs: 5);
        var latency = new SharedLatencyHistogram();
        var sink = new KafkaOutputSink(producer, cluster.Topics, cluster.Partitions, latency, sampleEvery: 1);
        var plain = new KafkaOutputSink(producer, cluster.Topics, cluster.Partitions);
        const int Chain = 1;
        byte[] record = Bytes("{\"seq\":00001,\"event\":\"ingest\"}");
        long Run(KafkaOutputSink s, bool timed) => SteadyAllocation.Of(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                if (timed) s.BeginEvent(System.Diagnostics.Stopwatch.GetTimestamp());
                s.Audit(Chain, record);
                s.Audit(Chain, record);
                if (timed) s.EndEvent();
            }
        });
        // Interleaved so that both see the same producer state; 1,000 events each (ring-sized: few or no skips).
        (long Timed, long Plain) Round()
        {
            (long, long) round = (Run(sink, true), Run(plain, false));
            Assert.Equal(0, producer.Flush(s_timeout));
            return round;
        }
        SteadyAllocation.WarmUp(Round);
        long timedBytes = 0, plainBytes = 0;
        for (int round = 0; round < 4; round++)
        {
            (long timedRound, long plainRound) = Round();
            timedBytes += timedRound;
            plainBytes += plainRound;
        }
        // Confluent.Kafka allocates per Produce (its delivery-handler wrapper) either way; the probe adds nothing: one
        // object per event would be at least 24 B × 4,000.
        Assert.True(timedBytes - plainBytes < 4000 * 12,
            $"timed {timedBytes:N0} B against {plainBytes:N0} B untimed over 4,000 events");
        Assert.True(latency.TotalCount > 0);
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
