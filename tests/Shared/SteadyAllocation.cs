namespace StreamGuard.Tests.Support;

/// <summary>
/// Allocation measured on the test's thread once the code under test runs as optimised code. Until the runtime's
/// tiered compilation replaces a method's first-tier code (after a call-counting delay that other tests' compilation
/// keeps extending in a full run), that code may allocate what the optimised code does not, so a figure taken after a
/// fixed number of warm-up calls depends on what else the process is doing.
/// </summary>
/// <remarks>
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts only this thread, so tests running in parallel do not
/// disturb it; measured code must stay on the calling thread (synchronous tests).
/// </remarks>
internal static class SteadyAllocation
{
    private const int SteadyBatches = 3;
    private static readonly TimeSpan s_defaultLimit = TimeSpan.FromSeconds(20);

    /// <summary>Bytes allocated on this thread by <paramref name="action"/>.</summary>
    public static long Of(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>
    /// Runs <paramref name="batch"/> — fresh work each time, returning what it allocated (one figure, or a tuple of
    /// figures) — until three batches in a row allocate the same, and <paramref name="target"/> when given, or until
    /// <paramref name="limit"/> (20 s by default) passes. After a batch that breaks the streak it pauses, so the
    /// runtime's background compilation can run. Returns the number of batches run.
    /// </summary>
    public static int WarmUp<T>(Func<T> batch, T? target = null, TimeSpan? limit = null)
        where T : struct, IEquatable<T>
    {
        DateTime deadline = DateTime.UtcNow + (limit ?? s_defaultLimit);
        T? previous = null;
        int steady = 0, batches = 0;
        while (steady < SteadyBatches && DateTime.UtcNow < deadline)
        {
            T allocated = batch();
            batches++;
            bool same = target is { } t ? allocated.Equals(t) : previous is { } p && allocated.Equals(p);
            steady = same ? steady + 1 : target is null ? 1 : 0;
            previous = allocated;
            if (!same) Thread.Sleep(20); // let the runtime's background compilation run
        }
        return batches;
    }
}
