using StreamGuard.Kafka;

namespace StreamGuard.Tests.Support;

/// <summary>A <see cref="StreamGuardWorker"/> running on its own thread, as <c>streamguard run</c> runs it.</summary>
internal sealed class WorkerThread : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(120));
    private readonly Thread _thread;
    private Exception? _failure;

    public WorkerThread(StreamGuardWorker worker)
    {
        Worker = worker;
        _thread = new Thread(() =>
        {
            try { worker.Run(_stop.Token); }
            catch (Exception e) { _failure = e; }
        }) { IsBackground = true };
        _thread.Start();
    }

    public StreamGuardWorker Worker { get; }

    /// <summary>Waits until the group has assigned partitions to the worker.</summary>
    public async Task AssignedAsync()
    {
        if (await Task.WhenAny(Worker.Assigned, Task.Delay(s_timeout)) != Worker.Assigned)
        {
            throw new TimeoutException("the worker was not assigned partitions in time", _failure);
        }
    }

    /// <summary>Waits for <paramref name="condition"/>; fails at once if the worker failed.</summary>
    public async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            if (_failure is { } e) throw new InvalidOperationException("worker failed", e);
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the worker did not get there in time");
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the worker as Ctrl+C would and asserts it ended cleanly.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        _thread.Join(s_timeout);
        Assert.Null(_failure);
    }

    public void Dispose() => _stop.Dispose();
}
