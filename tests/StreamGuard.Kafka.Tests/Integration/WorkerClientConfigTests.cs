using Confluent.Kafka;
using StreamGuard.Kafka;

namespace StreamGuard.Tests.Integration;

/// <summary>The settings the worker's producer gets whatever the operator passes with <c>--kafka</c>.</summary>
public sealed class WorkerClientConfigTests
{
    private static ProducerConfig Producer(params (string Key, string Value)[] kafka) =>
        WorkerClientConfig.Producer(new WorkerOptions
        {
            BootstrapServers = "127.0.0.1:9092",
            Kafka = kafka.ToDictionary(k => k.Key, k => k.Value),
        }, transactional: true);

    [Fact]
    public void EveryBatchFitsTheSmallestTopicLimitTheWorkerAcceptsWhateverTheOperatorSets()
    {
        // A broker refuses a whole batch over a topic's max.message.bytes, and librdkafka does not split it: a
        // batch must fit any topic the worker writes to (each at least MinRecordBytes, or the worker refuses it).
        Assert.True(WorkerClientConfig.MaxBatchBytes < KafkaOutputSink.MinRecordBytes);
        Assert.Equal(WorkerClientConfig.MaxBatchBytes, Producer().BatchSize);
        Assert.Equal(WorkerClientConfig.MaxBatchBytes, Producer(("batch.size", "1000000")).BatchSize);
        Assert.Equal(16_384, Producer(("batch.size", "16384")).BatchSize);
        Assert.Equal(Acks.All, Producer(("acks", "1")).Acks);
        // Not a number: refused by name (librdkafka takes "1MB" without a word).
        foreach (string bad in (string[])["1MB", "0", "99999999999"])
        {
            var e = Assert.Throws<ArgumentException>(() => Producer(("batch.size", bad)));
            Assert.Equal($"--kafka batch.size={bad}: not a whole number of bytes from 1 to 2147483647 (the worker " +
                "uses at most 524288)", e.Message);
        }
    }
}
