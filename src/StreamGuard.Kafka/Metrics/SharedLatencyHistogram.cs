using System.Diagnostics;
using System.Diagnostics.Metrics;
using HdrHistogram;

namespace StreamGuard.Kafka;

/// <summary>
/// A latency histogram in microseconds (HdrHistogram, 1 µs to 60 s, 3 significant digits) that more than one thread
/// may record into — the worker's thread and librdkafka's delivery-report thread — and that any thread may read a
/// consistent copy of.
/// </summary>
/// <remarks>
/// Recorded only for sampled events (a few thousand a second at most), so an uncontended lock per value costs less
/// than the delivery report that carries it; nothing is allocated per value. Values above 60 s are kept as 60 s.
/// </remarks>
public sealed class SharedLatencyHistogram
{
    private const long HighestMicros = 60_000_000;
    private readonly LongHistogram _micros = new(HighestMicros, 3);
    private readonly Lock _lock = new();
    private long _skipped;

    /// <summary>Values recorded so far.</summary>
    public long TotalCount
    {
        get
        {
            lock (_lock) return _micros.TotalCount;
        }
    }

    /// <summary>Sampled events that could not be timed (their probe was still in flight, or a buffer was full):
    /// counted, never recorded.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>A copy of the histogram as it stands (values in microseconds).</summary>
    public LongHistogram Snapshot()
    {
        lock (_lock) return (LongHistogram)_micros.Copy();
    }

    /// <summary>Forgets every value and the skipped count (for example at the end of a warm-up).</summary>
    public void Reset()
    {
        lock (_lock) _micros.Reset();
        Interlocked.Exchange(ref _skipped, 0);
    }

    /// <summary>Also recorded here, in seconds, when set (the worker's OpenTelemetry instrument).</summary>
    internal Histogram<double>? Mirror { get; set; }

    /// <summary>Records <paramref name="stopwatchTicks"/> (a <see cref="Stopwatch"/> interval) in
    /// microseconds.</summary>
    internal void Record(long stopwatchTicks)
    {
        // In double: ticks × 1,000,000 overflows a long after about 2.5 hours at Linux's 1 GHz stopwatch.
        long micros = (long)Math.Clamp(stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency, 0, HighestMicros);
        lock (_lock) _micros.RecordValue(micros);
        Mirror?.Record((double)stopwatchTicks / Stopwatch.Frequency);
    }

    internal void CountSkipped(int events = 1) => Interlocked.Add(ref _skipped, events);
}
