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
        var e = Assert.Throws<ArgumentException>(() => Producer(("batch.size", "1MB")));
        Assert.Equal("--kafka batch.size=1MB: not a whole number of bytes", e.Message);
    }
}
