using System.Diagnostics;

namespace StreamGuard.Kafka;

/// <summary>
/// The ages liveness and the metrics judge a worker by, from the timestamps the worker keeps (two volatile reads, no
/// allocation).
/// </summary>
public static class WorkerHealth
{
    /// <summary>
    /// Seconds the consume loop has gone without polling, as liveness judges it: 0 before its first poll (the
    /// hotlist and hold tables are loading: readiness covers that, and their progress is logged) and while an
    /// assignment's restore runs inside <c>Consume</c> (a restore may rightly take minutes, and logs its progress).
    /// Anything else that keeps the worker's thread from polling — a commit, a rebalance handler or a reload that
    /// hangs — makes it grow.
    /// </summary>
    public static double PollAgeSeconds(StreamGuardWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        long last = worker.LastPollTimestamp;
        if (last == 0 || worker.Restoring) return 0;
        return Math.Max(0, Stopwatch.GetTimestamp() - last) / (double)Stopwatch.Frequency;
    }

    /// <summary>
    /// Seconds since the last commit (a transaction, or an offset commit) went through; before the first, since the
    /// worker started; 0 before it runs. A worker commits only when it has something to commit, so an idle worker's
    /// commit age grows too: alerts pair it with lag.
    /// </summary>
    public static double CommitAgeSeconds(StreamGuardWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        long last = worker.LastCommitTimestamp;
        return last == 0 ? 0 : Math.Max(0, Stopwatch.GetTimestamp() - last) / (double)Stopwatch.Frequency;
    }
}
