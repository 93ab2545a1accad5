using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace StreamGuard.Kafka.Embedded;

/// <summary>
/// An in-process Kafka cluster: librdkafka's built-in Kafka-protocol mock broker
/// (<c>rdkafka_mock.h</c>), bound through P/Invoke to the very native library that
/// Confluent.Kafka itself loaded.
/// </summary>
/// <remarks>
/// <para>
/// The brokers listen on loopback ports and speak the real Kafka protocol, so ordinary
/// Confluent.Kafka producers, consumers (including consumer groups) and transactional
/// producers connect to <see cref="BootstrapServers"/> as to any cluster. Broker ids run
/// from 1 to the broker count. Topics are created with <see cref="CreateTopic"/>; the mock
/// does not implement the CreateTopics admin API, and creates unknown topics automatically
/// (with 4 partitions) when a client first asks for them.
/// </para>
/// <para>
/// Transactions are only partly modelled: transactional producers work (InitTransactions,
/// commit, abort), but the mock's Fetch responses carry no aborted-transaction list and report
/// the high watermark as the last stable offset, so a <c>read_committed</c> consumer also
/// receives records of aborted (and still open) transactions. Test commit paths here, not
/// abort filtering.
/// </para>
/// <para>
/// The mock API is marked experimental by librdkafka and is not covered by its API/ABI
/// stability guarantees; only functions present in librdkafka 2.x are bound here.
/// </para>
/// <para>
/// The instance owns two native objects, a private <c>rd_kafka_t</c> handle and the mock
/// cluster on it, and has no finalizer: always dispose it. Fault-injection methods may be
/// called from any thread, but not concurrently with <see cref="Dispose"/>.
/// </para>
/// </remarks>
public sealed partial class MockCluster : IDisposable
{
    private nint _handle;
    private nint _cluster;

    private MockCluster(nint handle, nint cluster, int brokerCount, string bootstrapServers)
    {
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>
    /// The mock brokers' addresses, e.g. <c>127.0.0.1:40123,127.0.0.1:40125</c>, ready for
    /// <see cref="ClientConfig.BootstrapServers"/>.
    /// </summary>
    public string BootstrapServers { get; }

    /// <summary>The number of brokers; their ids run from 1 to this value.</summary>
    public int BrokerCount { get; }

    /// <summary>
    /// Starts a mock cluster on loopback ports.
    /// </summary>
    /// <param name="brokers">Number of brokers (ids 1..<paramref name="brokers"/>); at least 1.</param>
    /// <param name="rebalanceDelayMs">
    /// The brokers' <c>group.initial.rebalance.delay.ms</c>. librdkafka's mock defaults to
    /// 3000 ms, which makes every first group join wait 3 s; the default here, 0, lets a
    /// consumer group form as soon as its first member has joined.
    /// </param>
    /// <returns>A running cluster; dispose it to stop the brokers.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="brokers"/> is below 1 or <paramref name="rebalanceDelayMs"/> is negative.
    /// </exception>
    /// <exception cref="InvalidOperationException">
    /// librdkafka could not create the handle (its error text is included) or the mock cluster,
    /// or the loaded librdkafka lacks the mock API.
    /// </exception>
    /// <exception cref="DllNotFoundException">librdkafka itself could not be loaded.</exception>
    public static MockCluster Start(int brokers = 1, int rebalanceDelayMs = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rebalanceDelayMs);
        NativeMethods.EnsureLoaded();

        var handle = NewHandle();
        var cluster = NativeMethods.MockClusterNew(handle, brokers);
        if (cluster == 0)
        {
            NativeMethods.Destroy(handle);
            throw new InvalidOperationException(
                $"librdkafka could not start a mock cluster of {brokers} broker(s) (rd_kafka_mock_cluster_new " +
                    $"returned NULL; see librdkafka's log for the cause).");
        }

        try
        {
            var bootstraps = Marshal.PtrToStringUTF8(NativeMethods.MockClusterBootstraps(cluster));
            if (string.IsNullOrEmpty(bootstraps))
            {
                throw new InvalidOperationException("librdkafka's mock cluster reported no bootstrap servers.");
            }

            NativeMethods.MockGroupInitialRebalanceDelayMs(cluster, rebalanceDelayMs);
            // The mock reports no controller in Metadata unless told; clients that send InitProducerId to the
            // controller (KafkaJS's idempotent and transactional producers) then fail with "broker not found".
            NativeMethods.MockSetControllerId(cluster, 1);
            return new MockCluster(handle, cluster, brokers, bootstraps);
        }
        catch
        {
            NativeMethods.MockClusterDestroy(cluster);
            NativeMethods.Destroy(handle);
            throw;
        }
    }

    /// <summary>
    /// Creates a topic on the mock cluster, with partition leaders spread over the brokers.
    /// </summary>
    /// <param name="topic">Topic name.</param>
    /// <param name="partitions">Number of partitions; at least 1.</param>
    /// <param name="replicationFactor">Replicas per partition (the mock does not check it against
    /// <see cref="BrokerCount"/>).</param>
    /// <exception cref="InvalidOperationException"> The mock refused, e.g. with
    /// <see cref="ErrorCode.TopicAlreadyExists"/>.
    /// </exception>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        Check(NativeMethods.MockTopicCreate(Cluster, topic, partitions, replicationFactor),
            $"create topic '{topic}' with {partitions} partition(s) and replication factor {replicationFactor}");
    }

    /// <summary>
    /// Makes metadata requests answer <paramref name="error"/> for <paramref name="topic"/> (creating the topic, with
    /// the mock's default 4 partitions, if it does not exist) until set to <see cref="ErrorCode.NoError"/>: how the
    /// mock plays a principal without rights on one topic (<see cref="ErrorCode.TopicAuthorizationFailed"/>).
    /// </summary>
    public void SetTopicError(string topic, ErrorCode error)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        NativeMethods.MockTopicSetError(Cluster, topic, error);
    }

    /// <summary>
    /// Takes a broker down: its connections are closed and new ones refused. Partition
    /// leadership does not move, so requests for partitions it leads stall (and are retried
    /// by the clients) until <see cref="SetBrokerUp"/>.
    /// </summary>
    /// <param name="brokerId">Broker id (1-based), or -1 for every broker.</param>
    /// <exception cref="InvalidOperationException">The broker id is unknown.</exception>
    public void SetBrokerDown(int brokerId) =>
        Check(NativeMethods.MockBrokerSetDown(Cluster, brokerId), $"take broker {brokerId} down");

    /// <summary>Lets a broker taken down by <see cref="SetBrokerDown"/> accept connections again.</summary>
    /// <param name="brokerId">Broker id (1-based), or -1 for every broker.</param>
    /// <exception cref="InvalidOperationException">The broker id is unknown.</exception>
    public void SetBrokerUp(int brokerId) =>
        Check(NativeMethods.MockBrokerSetUp(Cluster, brokerId), $"bring broker {brokerId} up");

    /// <summary>
    /// Makes the next requests of one kind fail: the next <c>errors.Length</c> requests with
    /// <paramref name="apiKey"/>, on any broker, are answered with these errors in order, one
    /// each. <see cref="ErrorCode.Local_Transport"/> makes the broker drop the connection instead.
    /// </summary>
    /// <param name="apiKey">Kafka protocol request type; see <see cref="KafkaApiKey"/>.</param>
    /// <param name="errors">Errors to answer with, first to last.</param>
    public void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var cluster = Cluster;
        if (errors.Length == 0)
        {
            return;
        }

        NativeMethods.MockPushRequestErrorsArray(cluster, apiKey, (nuint)errors.Length, errors);
    }

    /// <summary>Drops errors pushed by <see cref="PushRequestErrors"/> for <paramref name="apiKey"/> that are still
    /// pending.</summary>
    /// <param name="apiKey">Kafka protocol request type; see <see cref="KafkaApiKey"/>.</param>
    public void ClearRequestErrors(short apiKey) => NativeMethods.MockClearRequestErrors(Cluster, apiKey);

    /// <summary>Delays every response of a broker by <paramref name="rttMs"/> milliseconds (0 for none).</summary>
    /// <param name="brokerId">Broker id (1-based), or -1 for every broker.</param>
    /// <param name="rttMs">Added round-trip time in milliseconds; not negative.</param>
    /// <exception cref="InvalidOperationException">The broker id is unknown.</exception>
    public void SetBrokerRtt(int brokerId, int rttMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rttMs);
        Check(NativeMethods.MockBrokerSetRtt(Cluster, brokerId, rttMs),
            $"set the round-trip time of broker {brokerId}");
    }

    /// <summary>
    /// Moves the leadership of one partition; clients learn of it through their next
    /// metadata refresh (e.g. after a NOT_LEADER error). The topic is created if missing.
    /// </summary>
    /// <param name="topic">Topic name.</param>
    /// <param name="partition">Partition number.</param>
    /// <param name="brokerId">New leader's broker id, or -1 to leave the partition without a leader.</param>
    /// <exception cref="InvalidOperationException">The mock refused the change.</exception>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        Check(NativeMethods.MockPartitionSetLeader(Cluster, topic, partition, brokerId),
            $"make broker {brokerId} the leader of {topic}[{partition}]");
    }

    /// <summary>
    /// Changes the address a broker advertises in Metadata and FindCoordinator responses. The broker keeps
    /// listening where it was started (librdkafka's mock binds ephemeral loopback ports and offers no way to
    /// choose one): something else, e.g. a <see cref="LoopbackForwarder"/>, must accept connections at the new
    /// address and pass them on to the broker's own port (see <see cref="BrokerPort"/>).
    /// </summary>
    /// <param name="brokerId">Broker id (1-based).</param>
    /// <param name="host">Host name or address clients should connect to.</param>
    /// <param name="port">Port clients should connect to.</param>
    public void AdvertiseBroker(int brokerId, string host, int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, BrokerCount);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        NativeMethods.MockBrokerSetHostPort(Cluster, brokerId, host, port);
    }

    /// <summary>The loopback port broker <paramref name="brokerId"/> listens on (chosen by the kernel at
    /// start).</summary>
    /// <param name="brokerId">Broker id (1-based).</param>
    public int BrokerPort(int brokerId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, BrokerCount);
        // rd_kafka_mock_cluster_bootstraps lists the brokers in id order, "127.0.0.1:port,…".
        string address = BootstrapServers.Split(',')[brokerId - 1];
        return int.Parse(address.AsSpan(address.LastIndexOf(':') + 1),
            System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Makes a broker the coordinator of one consumer group or one transactional id (by default the mock picks it by
    /// hashing the key). Lets a test keep the coordinators up while it takes the leaders of other partitions down.
    /// </summary>
    /// <param name="transactional">True: <paramref name="key"/> is a transactional.id; false: a group.id.</param>
    /// <param name="key">The group.id or transactional.id.</param>
    /// <param name="brokerId">The coordinator's broker id.</param>
    /// <exception cref="InvalidOperationException">The mock refused the change.</exception>
    public void SetCoordinator(bool transactional, string key, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Check(NativeMethods.MockCoordinatorSet(Cluster, transactional ? "transaction" : "group", key, brokerId),
            $"make broker {brokerId} the {(transactional ? "transaction" : "group")} coordinator of '{key}'");
    }

    /// <summary>
    /// Sets the brokers' <c>group.initial.rebalance.delay.ms</c>: how long a new consumer
    /// group waits for more members before its first rebalance.
    /// </summary>
    /// <param name="ms">Delay in milliseconds; 0 rebalances as soon as the first member joins.</param>
    public void SetGroupInitialRebalanceDelay(int ms)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ms);
        NativeMethods.MockGroupInitialRebalanceDelayMs(Cluster, ms);
    }

    /// <summary>
    /// Stops the brokers and frees the native objects (the mock cluster first, then its
    /// handle). Clients still connected see their connections drop. Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        var cluster = Interlocked.Exchange(ref _cluster, 0);
        var handle = Interlocked.Exchange(ref _handle, 0);
        if (cluster != 0)
        {
            NativeMethods.MockClusterDestroy(cluster);
        }

        if (handle != 0)
        {
            NativeMethods.Destroy(handle);
        }
    }

    private nint Cluster
    {
        get
        {
            var cluster = Volatile.Read(ref _cluster);
            ObjectDisposedException.ThrowIf(cluster == 0, this);
            return cluster;
        }
    }

    private static unsafe nint NewHandle()
    {
        const int ErrorTextSize = 512;
        var conf = NativeMethods.ConfNew();
        if (conf == 0)
        {
            throw new InvalidOperationException("librdkafka could not allocate a configuration (rd_kafka_conf_new " +
                "returned NULL).");
        }

        var errorText = stackalloc byte[ErrorTextSize];
        errorText[0] = 0;
        // The hosting handle has no bootstrap.servers and would log a notice saying so;
        // warnings and errors (the mock brokers' included) still reach stderr.
        if (NativeMethods.ConfSet(conf, "log_level", "4", errorText, ErrorTextSize) != 0
            || NativeMethods.ConfSet(conf, "client.id", "streamguard-mock-cluster", errorText, ErrorTextSize) != 0)
        {
            NativeMethods.ConfDestroy(conf);
            throw new InvalidOperationException(
                $"librdkafka refused the mock cluster's configuration: {Marshal.PtrToStringUTF8((nint)errorText)}");
        }

        var handle = NativeMethods.New(NativeMethods.ProducerType, conf, errorText, ErrorTextSize);
        if (handle == 0)
        {
            // On failure rd_kafka_new leaves the configuration with the caller.
            NativeMethods.ConfDestroy(conf);
            var reason = Marshal.PtrToStringUTF8((nint)errorText);
            throw new InvalidOperationException(
                $"librdkafka could not create the handle that hosts the mock cluster: " +
                    $"{(string.IsNullOrEmpty(reason) ? "no reason given" : reason)}");
        }

        return handle;
    }

    private static void Check(ErrorCode error, string action)
    {
        if (error != ErrorCode.NoError)
        {
            throw new InvalidOperationException($"librdkafka's mock cluster could not {action}: {error} " +
                $"({error.GetReason()}).");
        }
    }
}
