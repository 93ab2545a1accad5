using System.Collections.Concurrent;
using StreamGuard.Kafka;

namespace StreamGuard.Tests.Support;

/// <summary>
/// A <see cref="StreamGuardWorker"/> under a supervisor, as systemd's <c>Restart=on-failure</c> or a Kubernetes pod
/// would run <c>streamguard run</c>: when the worker stops on an error, a new one (new engine, same worker slot) is
/// started after a short pause. Every stop is recorded; <see cref="StopAsync"/> asserts the last one ends cleanly.
/// </summary>
internal sealed class SupervisedWorker : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private long _processedBefore;
    private Exception? _lastFailure;
    private volatile StreamGuardWorker? _current;

    /// <param name="create">Builds one worker incarnation; its log goes to <see cref="Log"/>.</param>
    /// <param name="maxRestarts">More stops than this fail the test (a crash loop is not recovery).</param>
    public SupervisedWorker(Func<Action<string>, StreamGuardWorker> create, int maxRestarts = 10)
    {
        _thread = new Thread(() =>
        {
            while (!_stop.IsCancellationRequested)
            {
                StreamGuardWorker worker =
                    create(m => _log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} [{Restarts}] {m}"));
                _current = worker;
                try
                {
                    worker.Run(_stop.Token);
                    _lastFailure = null;
                    return; // cancelled and stopped cleanly
                }
#pragma warning disable CA1031 // a supervisor restarts on any failure, and records it
                catch (Exception e)
#pragma warning restore CA1031
                {
                    _lastFailure = e;
                    _failures.Enqueue($"{e.GetType().Name}: {e.Message}");
                    Interlocked.Add(ref _processedBefore, worker.Processed);
                    if (_stop.IsCancellationRequested || Restarts >= maxRestarts) return;
                    Restarts++;
                    _stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(300));
                }
            }
        }) { IsBackground = true, Name = "supervised-worker" };
        _thread.Start();
    }

    /// <summary>Workers started after a failure.</summary>
    public int Restarts { get; private set; }

    /// <summary>Why each stopped incarnation stopped.</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    /// <summary>Every incarnation's log, in order.</summary>
    public IReadOnlyCollection<string> Log => _log;

    /// <summary>Events processed by all incarnations (a restarted worker reprocesses what was not committed).</summary>
    public long Processed => Interlocked.Read(ref _processedBefore) + (_current?.Processed ?? 0);

    /// <summary>Waits until the current incarnation has been assigned partitions.</summary>
    public async Task AssignedAsync()
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (_current is not { Assigned.IsCompleted: true })
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    "no worker was assigned partitions in time:\n" + string.Join('\n', _log));
            }
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Stops the worker as Ctrl+C would; asserts the last incarnation ended cleanly and did not give up.
    /// </summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        Assert.True(_thread.Join(s_timeout), "the worker did not stop in time");
        Assert.True(_lastFailure is null,
            $"the last worker did not stop cleanly: {_lastFailure}\n{string.Join('\n', _log)}");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join(s_timeout);
        _stop.Dispose();
    }
}
