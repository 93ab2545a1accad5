using System.Diagnostics;
using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>
/// Sampled acknowledgement latency: from an event's consumption to the broker's acknowledgement of the last of the
/// outputs it produced (the delivery report of each, acks=all), recorded into <see cref="AckLatency"/>.
/// </summary>
/// <remarks>
/// Every <c>sampleEvery</c>-th event that produces outputs is timed by a probe from a fixed ring, made when the sink
/// is: each probe has its own delivery handler (a delegate created once), which counts errors exactly as the shared
/// one and then counts the probe's outstanding outputs down. Nothing is allocated per event: an output of a timed
/// event passes the probe's handler to <c>Produce</c> instead of the shared one. The worker holds one extra count
/// while it dispatches the event, so the figure cannot be taken before the event's last output was handed over;
/// whichever thread takes the count to zero (librdkafka's delivery-report thread, or the worker's during a flush)
/// records. A probe still in flight when the ring comes round to it again is not reused: that event is counted in
/// <see cref="SharedLatencyHistogram.Skipped"/> and not timed. An event with a failed delivery is not recorded (the
/// worker stops on it at the next commit).
/// </remarks>
public sealed partial class KafkaOutputSink
{
    private const int ProbeRingSize = 1024; // a power of two

    private readonly AckProbe[] _probes = [];
    private readonly int _sampleEvery;
    private AckProbe? _timed; // the probe of the event being dispatched; the worker's thread only
    private long _nextProbe;
    private int _sinceSample; // events with outputs since the last one timed
    private int _eventOutputs; // outputs of the event being dispatched, timed or not

    /// <summary>Consumed → every output acknowledged, for sampled events; null when not measured.</summary>
    public SharedLatencyHistogram? AckLatency { get; }

    /// <summary>
    /// Before an event is dispatched (the worker's thread): times its outputs to their acknowledgement if it is the
    /// sampled one. <paramref name="consumedTicks"/> is the <see cref="Stopwatch"/> timestamp the event was consumed at.
    /// </summary>
    internal void BeginEvent(long consumedTicks)
    {
        _eventOutputs = 0;
        if (AckLatency is null || _sinceSample + 1 < _sampleEvery) return;
        AckProbe probe = _probes[(int)(_nextProbe++ & (ProbeRingSize - 1))];
        if (!probe.TryArm(consumedTicks))
        {
            AckLatency.CountSkipped();
            _sinceSample = 0;
            return;
        }
        _timed = probe;
    }

    /// <summary>
    /// After the event's dispatch (the worker's thread): its outputs are all handed over. Returns whether it was timed
    /// and produced outputs; one without outputs records nothing, and the next event is sampled in its place.
    /// </summary>
    internal bool EndEvent()
    {
        AckProbe? probe = _timed;
        if (probe is null)
        {
            if (_eventOutputs > 0) _sinceSample++;
            return false;
        }
        _timed = null;
        bool outputs = probe.Outputs > 0;
        if (outputs) _sinceSample = 0; // else it stays one short of the sample: the next event is timed instead
        probe.Release();
        return outputs;
    }

    private void CountDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _deliveryErrors);
            Interlocked.CompareExchange(ref _firstError, report.Error, null);
        }
    }

    /// <summary>One timed event: its consumed timestamp and its outputs not yet acknowledged.</summary>
    private sealed class AckProbe
    {
        private readonly KafkaOutputSink _sink;
        private readonly SharedLatencyHistogram _latency;
        private long _consumedTicks;
        // Outputs handed to the producer and not yet acknowledged, plus 1 while the worker dispatches the event.
        private int _outstanding;
        private int _failed;
        // 1 when the probe may be armed: set by whoever recorded (or dropped) the last use, after it no longer reads the probe.
        private int _free = 1;

        public AckProbe(KafkaOutputSink sink, SharedLatencyHistogram latency)
        {
            _sink = sink;
            _latency = latency;
            Handler = OnDelivery;
        }

        public Action<DeliveryReport<byte[], byte[]>> Handler { get; }

        /// <summary>Outputs of the event handed to the producer: written by the worker's thread before it releases the probe.</summary>
        public int Outputs { get; private set; }

        public bool TryArm(long consumedTicks)
        {
            if (Volatile.Read(ref _free) == 0) return false;
            _free = 0;
            _consumedTicks = consumedTicks;
            _failed = 0;
            Outputs = 0;
            Volatile.Write(ref _outstanding, 1); // the worker's count, dropped by Release
            return true;
        }

        /// <summary>Before Produce: its delivery report may come (on another thread) before Produce returns.</summary>
        public void Add()
        {
            Outputs++;
            Interlocked.Increment(ref _outstanding);
        }

        /// <summary>Produce did not take the record (queue full, or it threw): no report will come for it.</summary>
        public void Remove()
        {
            Outputs--;
            Interlocked.Decrement(ref _outstanding); // never the last count: the worker's is still held
        }

        public void Release() => Done(Interlocked.Decrement(ref _outstanding));

        private void OnDelivery(DeliveryReport<byte[], byte[]> report)
        {
            _sink.CountDelivery(report);
            if (report.Error.IsError) Volatile.Write(ref _failed, 1);
            Done(Interlocked.Decrement(ref _outstanding));
        }

        private void Done(int left)
        {
            if (left != 0) return;
            long now = Stopwatch.GetTimestamp();
            if (Outputs > 0 && Volatile.Read(ref _failed) == 0) _latency.Record(now - _consumedTicks);
            Volatile.Write(ref _free, 1);
        }
    }
}
