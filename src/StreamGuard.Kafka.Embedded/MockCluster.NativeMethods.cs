using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace StreamGuard.Kafka.Embedded;

public sealed partial class MockCluster
{
    /// <summary>
    /// The librdkafka entry points of the mock cluster, bound to the native library Confluent.Kafka loaded
    /// (<see cref="Librdkafka"/>).
    /// </summary>
    private static partial class NativeMethods
    {
        internal const int ProducerType = 0; // RD_KAFKA_PRODUCER
        private const string LibraryName = Librdkafka.LibraryName;

        /// <summary>Routes this assembly's imports of librdkafka to Confluent's copy, which must have the mock
        /// API.</summary>
        internal static void EnsureLoaded()
        {
            nint library = Librdkafka.RouteImports(typeof(MockCluster).Assembly);
            if (!NativeLibrary.TryGetExport(library, "rd_kafka_mock_cluster_new", out _))
            {
                throw new InvalidOperationException(
                    $"The librdkafka that Confluent.Kafka uses ({Library.VersionString}) has no mock cluster API.");
            }
        }

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_conf_new")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial nint ConfNew();

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_conf_destroy")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void ConfDestroy(nint conf);

        /// <returns>RD_KAFKA_CONF_OK (0) on success.</returns>
        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static unsafe partial int ConfSet(nint conf, string name, string value, byte* errorText,
            nuint errorTextSize);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_new")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static unsafe partial nint New(int type, nint conf, byte* errorText, nuint errorTextSize);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_destroy")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void Destroy(nint handle);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_cluster_new")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial nint MockClusterNew(nint handle, int brokerCount);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_cluster_destroy")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void MockClusterDestroy(nint cluster);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial nint MockClusterBootstraps(nint cluster);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_topic_create",
            StringMarshalling = StringMarshalling.Utf8)]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial ErrorCode MockTopicCreate(nint cluster, string topic, int partitionCount,
            int replicationFactor);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_topic_set_error",
            StringMarshalling = StringMarshalling.Utf8)]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void MockTopicSetError(nint cluster, string topic, ErrorCode error);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void MockPushRequestErrorsArray(nint cluster, short apiKey, nuint count,
            ErrorCode[] errors);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_clear_request_errors")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void MockClearRequestErrors(nint cluster, short apiKey);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_down")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial ErrorCode MockBrokerSetDown(nint cluster, int brokerId);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_up")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial ErrorCode MockBrokerSetUp(nint cluster, int brokerId);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_rtt")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial ErrorCode MockBrokerSetRtt(nint cluster, int brokerId, int rttMs);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_partition_set_leader",
            StringMarshalling = StringMarshalling.Utf8)]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial ErrorCode MockPartitionSetLeader(nint cluster, string topic, int partition,
            int brokerId);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_set_controller_id")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void MockSetControllerId(nint cluster, int controllerId);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_host_port",
            StringMarshalling = StringMarshalling.Utf8)]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void MockBrokerSetHostPort(nint cluster, int brokerId, string host, int port);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_coordinator_set",
            StringMarshalling = StringMarshalling.Utf8)]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial ErrorCode MockCoordinatorSet(nint cluster, string keyType, string key, int brokerId);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_mock_group_initial_rebalance_delay_ms")]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        internal static partial void MockGroupInitialRebalanceDelayMs(nint cluster, int delayMs);
    }
}
