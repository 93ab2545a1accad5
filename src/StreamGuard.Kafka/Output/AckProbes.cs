using System.Diagnostics;
using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>
/// Sampled acknowledgement latency of a consume–produce loop: from an event's consumption to the broker's
/// acknowledgement of the last of the outputs it produced (the delivery report of each, acks=all), recorded into a
/// <see cref="SharedLatencyHistogram"/>. Used by <see cref="KafkaOutputSink"/> and by the bench's pass-through pipe,
/// so both are timed alike.
/// </summary>
/// <remarks>
/// Every <c>sampleEvery</c>-th event that produces outputs is timed by a probe from a fixed ring, made up front: each
/// probe has its own delivery handler (a delegate created once), which counts errors through the loop's own handler
/// and then counts the probe's outstanding outputs down. Nothing is allocated per event: an output of a timed event
/// passes the probe's handler to <c>Produce</c> instead of the shared one. The loop holds one extra count while it
/// dispatches the event, so the figure cannot be taken before the event's last output was handed over; whichever
/// thread takes the count to zero (librdkafka's delivery-report thread, or the loop's during a flush or poll) records.
/// A probe still in flight when the ring comes round to it again is not reused: that event is counted in
/// <see cref="SharedLatencyHistogram.Skipped"/> and not timed. An event with a failed delivery is not recorded.
/// The loop's thread calls <see cref="BeginEvent"/>, <see cref="Produced"/> and <see cref="EndEvent"/>; only the
/// probes' handlers run elsewhere.
/// </remarks>
public sealed class AckProbes
{
    private const int RingSize = 1024; // a power of two

    private readonly Probe[] _ring;
    private readonly int _sampleEvery;
    private readonly SharedLatencyHistogram _latency;
    private long _next;
    private int _sinceSample; // events with outputs since the last one timed
    private int _eventOutputs; // outputs of the event being dispatched, timed or not
    // Timed events whose audit entry waits, by chain, for the chain's next block.
    private readonly Dictionary<int, List<Probe>> _awaitingBlock = [];
    private readonly BlockAck[] _blocks;
    private long _nextBlock;
    private int _blockOfEvent = -1; // the chain of the last block produced while the event was dispatched

    /// <param name="latency">Where the figures go.</param>
    /// <param name="sampleEvery">Times every this many-th event that produces outputs (1 = every one).</param>
    /// <param name="onDelivery">The loop's own delivery handler (error accounting), called first for every report a
    /// probe gets.</param>
    public AckProbes(SharedLatencyHistogram latency, int sampleEvery, Action<DeliveryReport<byte[], byte[]>> onDelivery)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleEvery, 1);
        _latency = latency;
        _sampleEvery = sampleEvery;
        _ring = new Probe[RingSize];
        for (int i = 0; i < _ring.Length; i++) _ring[i] = new Probe(latency, onDelivery);
        _blocks = new BlockAck[RingSize];
        for (int i = 0; i < _blocks.Length; i++) _blocks[i] = new BlockAck(onDelivery);
    }

    /// <summary>The probe of the event being dispatched when it is timed, else null: pass it to <see cref="Produced"/>
    /// around each output.</summary>
    public Probe? Timed { get; private set; }

    /// <summary>Before an event is dispatched: times its outputs if it is the sampled one.
    /// <paramref name="consumedTicks"/>: its <see cref="Stopwatch"/> timestamp.</summary>
    public void BeginEvent(long consumedTicks)
    {
        _eventOutputs = 0;
        _blockOfEvent = -1;
        if (_sinceSample + 1 < _sampleEvery) return;
        Probe probe = _ring[(int)(_next++ & (RingSize - 1))];
        if (!probe.TryArm(consumedTicks))
        {
            _latency.CountSkipped();
            _sinceSample = 0;
            return;
        }
        Timed = probe;
    }

    /// <summary>An output of the event being dispatched (timed or not) was handed to the producer.</summary>
    public void Produced() => _eventOutputs++;

    /// <summary>
    /// After the event's dispatch: its outputs are all handed over, except its audit entry when it wrote one on chain
    /// <paramref name="auditChain"/> (else -1), which reaches Kafka with the chain's next block: a timed event then
    /// waits for that block's acknowledgement too (<see cref="TakeBlockWaiters"/>). Returns whether it was timed and
    /// has outputs; one timed without outputs records nothing, and the next event is timed in its place.
    /// </summary>
    public bool EndEvent(int auditChain = -1)
    {
        Probe? probe = Timed;
        if (probe is null)
        {
            if (_eventOutputs > 0 || auditChain >= 0) _sinceSample++;
            return false;
        }
        Timed = null;
        if (auditChain >= 0 && auditChain != _blockOfEvent)
        {
            probe.Add();
            Waiting(auditChain).Add(probe);
        }
        bool outputs = probe.Outputs > 0;
        if (outputs) _sinceSample = 0; // else it stays one short of the sample: the next event is timed instead
        probe.Release();
        return outputs;
    }

    /// <summary>
    /// When chain <paramref name="chain"/>'s block is about to be produced: the delivery handler that acknowledges the
    /// timed events whose entries it holds, or null when none waits. A handler still in flight when the ring comes
    /// round to it again is not reused: those events are counted as skipped.
    /// </summary>
    public Action<DeliveryReport<byte[], byte[]>>? TakeBlockWaiters(int chain)
    {
        if (Timed is { } timed)
        {
            // Sealed while an event is dispatched (a full block, or the event's evictions): an output of that event.
            _eventOutputs++;
            _blockOfEvent = chain;
            timed.Add();
            Waiting(chain).Add(timed);
        }
        if (!_awaitingBlock.TryGetValue(chain, out List<Probe>? waiting) || waiting.Count == 0) return null;
        BlockAck block = _blocks[(int)(_nextBlock++ & (RingSize - 1))];
        if (!block.TryTake(waiting))
        {
            foreach (Probe probe in waiting)
            {
                _latency.CountSkipped();
                probe.Acknowledged(failed: true);
            }
            waiting.Clear();
            return null;
        }
        waiting.Clear();
        return block.Handler;
    }

    private List<Probe> Waiting(int chain)
    {
        if (!_awaitingBlock.TryGetValue(chain, out List<Probe>? waiting)) _awaitingBlock.Add(chain, waiting = []);
        return waiting;
    }

    /// <summary>
    /// Produces one record with the delivery handler of <paramref name="probe"/> (a timed event's output) or
    /// <paramref name="untimed"/>, counting it into the probe before <c>Produce</c> (its report may come first, on
    /// another thread) and out again if <c>Produce</c> did not take it. A full producer queue is back-pressure: the
    /// loop waits for deliveries instead of growing memory, then tries again. A record the producer refuses itself —
    /// too large, or invalid: an error of this record that no retry cures (<see cref="RefusesRecord"/>) — is not
    /// queued, and false returned, so the caller can account for it instead of stopping; any other error propagates.
    /// The one produce loop of the worker's sink and the bench's pass-through pipe.
    /// </summary>
    public static bool Produce(IProducer<byte[], byte[]> producer, TopicPartition destination,
        Message<byte[], byte[]> message, Action<DeliveryReport<byte[], byte[]>> untimed, Probe? probe)
    {
        Action<DeliveryReport<byte[], byte[]>> handler = probe is null ? untimed : probe.Handler;
        while (true)
        {
            probe?.Add();
            bool queued = false;
            try
            {
                producer.Produce(destination, message, handler);
                queued = true;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
            catch (ProduceException<byte[], byte[]> e) when (RefusesRecord(e.Error.Code))
            {
                return false;
            }
            finally
            {
                if (!queued) probe?.Remove();
            }
            if (queued) return true;
        }
    }

    /// <summary>
    /// Errors of one record that no retry cures: too large for the producer or the broker, or invalid. Any other error
    /// is the producer's or the cluster's, not the record's.
    /// </summary>
    public static bool RefusesRecord(ErrorCode code) => code is ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsgSize
        or ErrorCode.RecordListTooLarge or ErrorCode.InvalidRecord;

    /// <summary>One timed event: its consumed timestamp and its outputs not yet acknowledged.</summary>
    public sealed class Probe
    {
        private readonly SharedLatencyHistogram _latency;
        private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
        private long _consumedTicks;
        // Outputs handed to the producer and not yet acknowledged, plus 1 while the loop dispatches the event.
        private int _outstanding;
        private int _failed;
        // 1 when the probe may be armed: set by whoever recorded (or dropped) the last use, after it no longer reads
        // the probe.
        private int _free = 1;

        public Probe(SharedLatencyHistogram latency, Action<DeliveryReport<byte[], byte[]>> onDelivery)
        {
            _latency = latency;
            _onDelivery = onDelivery;
            Handler = OnDelivery;
        }

        /// <summary>The delivery handler to give <c>Produce</c> for this event's outputs.</summary>
        public Action<DeliveryReport<byte[], byte[]>> Handler { get; }

        /// <summary>Outputs of the event handed to the producer: written by the loop's thread before it releases the
        /// probe.</summary>
        public int Outputs { get; private set; }

        public bool TryArm(long consumedTicks)
        {
            if (Volatile.Read(ref _free) == 0) return false;
            _free = 0;
            _consumedTicks = consumedTicks;
            _failed = 0;
            Outputs = 0;
            Volatile.Write(ref _outstanding, 1); // the loop's count, dropped by Release
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
            Interlocked.Decrement(ref _outstanding); // never the last count: the loop's is still held
        }

        public void Release() => Done(Interlocked.Decrement(ref _outstanding));

        private void OnDelivery(DeliveryReport<byte[], byte[]> report)
        {
            _onDelivery(report);
            Acknowledged(report.Error.IsError);
        }

        /// <summary>One of the event's outputs was acknowledged (or failed), its report already counted.</summary>
        public void Acknowledged(bool failed)
        {
            if (failed) Volatile.Write(ref _failed, 1);
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

    /// <summary>
    /// The timed events waiting for one audit block: its delivery report is counted once by the loop's handler, then
    /// acknowledges each of them. Its list is the loop thread's until it is taken, then the report's.
    /// </summary>
    private sealed class BlockAck
    {
        private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
        private readonly List<Probe> _probes = [];
        private int _free = 1;

        public BlockAck(Action<DeliveryReport<byte[], byte[]>> onDelivery)
        {
            _onDelivery = onDelivery;
            Handler = OnDelivery;
        }

        public Action<DeliveryReport<byte[], byte[]>> Handler { get; }

        public bool TryTake(List<Probe> waiting)
        {
            if (Volatile.Read(ref _free) == 0) return false;
            _free = 0;
            _probes.Clear();
            _probes.AddRange(waiting);
            return true;
        }

        private void OnDelivery(DeliveryReport<byte[], byte[]> report)
        {
            _onDelivery(report);
            foreach (Probe probe in _probes) probe.Acknowledged(report.Error.IsError);
            Volatile.Write(ref _free, 1);
        }
    }
}
