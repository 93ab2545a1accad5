using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>One record read in place from librdkafka's memory: valid only during the callback.</summary>
internal delegate bool RecordHandler(int partition, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull,
    long offset, long timestampMs);

/// <summary>
/// Reads an assigned Confluent.Kafka consumer's queue in batches with librdkafka's <c>rd_kafka_consume_batch_queue</c>,
/// handing each record's key and value to the caller in place — no <c>ConsumeResult</c>, no payload copy.
/// </summary>
/// <remarks>
/// <para>The main loop keeps per-message <c>Consume</c>: this reader's gain in rate on the embedded cluster is below
/// the bar set for changing it (<c>bench consume-batch</c>, bench/RESULTS.md). Restore uses it for the garbage it does
/// not make: nothing is allocated per record (its rate is bound by the broker's fetches: <c>bench rebuild</c>).</para>
/// <para>Confluent.Kafka does not expose the batch API nor its <c>rd_kafka_t</c>: the handle is taken from its
/// non-public <c>Handle.LibrdkafkaHandle</c> (checked at first use; a Confluent.Kafka without it makes
/// <see cref="IsSupported"/> false and callers keep per-message <c>Consume</c>). Used for assignment-only readers
/// (restore), where no rebalance callback can run inside the batch call.</para>
/// </remarks>
internal static unsafe partial class BatchQueueReader
{
    private const int PartitionEof = -191; // RD_KAFKA_RESP_ERR__PARTITION_EOF
    private static readonly PropertyInfo? s_handle =
        typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>Whether this Confluent.Kafka lets the batch API be used on its consumers.</summary>
    public static bool IsSupported => s_handle is not null
        && typeof(SafeHandle).IsAssignableFrom(s_handle.PropertyType);

    /// <summary>
    /// Reads the records of <paramref name="consumer"/>'s assignment (partitions of one topic) until each partition in
    /// <paramref name="endOffsets"/> reaches a record at or past its end offset or its end (the consumer must be built
    /// with <c>enable.partition.eof=true</c>), or <paramref name="deadline"/> passes (then
    /// <see cref="TimeoutException"/>). Records of a partition that is done, or not in <paramref name="endOffsets"/>,
    /// are not handed over. Returns how many records <paramref name="handle"/> accepted. A consume error other than EOF
    /// throws <see cref="KafkaException"/>.
    /// </summary>
    public static int ReadToEnd<TKey, TValue>(IConsumer<TKey, TValue> consumer,
        IReadOnlyDictionary<int, long> endOffsets, DateTime deadline, RecordHandler handle, int batchSize = 1000)
    {
        var open = new Dictionary<int, long>(endOffsets);
        if (open.Count == 0) return 0;
        if (!IsSupported) throw new NotSupportedException("this Confluent.Kafka does not expose its librdkafka handle");
        var safe = (SafeHandle)s_handle!.GetValue(consumer.Handle)!;
        bool added = false;
        safe.DangerousAddRef(ref added);
        Librdkafka.RouteImports(typeof(BatchQueueReader).Assembly);
        nint queue = Native.QueueGetConsumer(safe.DangerousGetHandle());
        nint* batch = (nint*)NativeMemory.Alloc((nuint)batchSize, (nuint)sizeof(nint));
        int accepted = 0;
        try
        {
            while (true)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"reading partitions " +
                    $"[{string.Join(",", open.Keys)}] to their end did not finish in time");
                nint got = Native.ConsumeBatchQueue(queue, 200, batch, (nuint)batchSize);
                if (got < 0) throw new KafkaException(ErrorCode.Local_Fail);
                try
                {
                    for (int i = 0; i < got; i++)
                    {
                        var m = (Native.Message*)batch[i];
                        if (!open.TryGetValue(m->Partition, out long end)) continue; // done: destroyed unread
                        if (m->Err == PartitionEof || (m->Err == 0 && m->Offset >= end))
                        {
                            open.Remove(m->Partition);
                            continue;
                        }
                        if (m->Err != 0) throw new KafkaException((ErrorCode)m->Err);
                        long timestamp = Native.MessageTimestamp((nint)m, out _);
                        var key = new ReadOnlySpan<byte>((void*)m->Key, (int)m->KeyLength);
                        var value = new ReadOnlySpan<byte>((void*)m->Payload, (int)m->Length);
                        if (handle(m->Partition, key, value, m->Payload == 0, m->Offset, timestamp)) accepted++;
                        // the last one wanted: no need to wait for more
                        if (m->Offset >= end - 1) open.Remove(m->Partition);
                    }
                }
                finally
                {
                    // Every message of the batch is destroyed, also those after one that threw: a message not
                    // destroyed keeps its partition (and the consumer's destruction) waiting for it.
                    for (int j = 0; j < got; j++) Native.MessageDestroy(batch[j]);
                }
                if (open.Count == 0) return accepted;
            }
        }
        finally
        {
            NativeMemory.Free(batch);
            Native.QueueDestroy(queue);
            if (added) safe.DangerousRelease();
        }
    }

    private static partial class Native
    {
        private const string LibraryName = Librdkafka.LibraryName;

        [StructLayout(LayoutKind.Sequential)]
        internal struct Message
        {
            public int Err;
            public nint Topic;
            public int Partition;
            public nint Payload;
            public nuint Length;
            public nint Key;
            public nuint KeyLength;
            public long Offset;
            public nint Private;
        }

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_queue_get_consumer")]
        [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
        internal static partial nint QueueGetConsumer(nint rk);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_queue_destroy")]
        [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
        internal static partial void QueueDestroy(nint queue);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_consume_batch_queue")]
        [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
        internal static partial nint ConsumeBatchQueue(nint queue, int timeoutMs, nint* messages, nuint size);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_message_destroy")]
        [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
        internal static partial void MessageDestroy(nint message);

        [LibraryImport(LibraryName, EntryPoint = "rd_kafka_message_timestamp")]
        [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
        internal static partial long MessageTimestamp(nint message, out int type);
    }
}
