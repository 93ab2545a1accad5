using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamGuard.Engine;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Hosting;

/// <summary>How the worker ended: the exit code of <c>run</c>, and whether it has ended (liveness).</summary>
internal sealed class RunOutcome
{
    private int _exitCode = 1;
    private bool _finished;

    /// <summary>0 after a clean stop (offsets committed); 1 until then and after a failure.</summary>
    public int ExitCode { get => Volatile.Read(ref _exitCode); set => Volatile.Write(ref _exitCode, value); }

    public bool Finished { get => Volatile.Read(ref _finished); set => Volatile.Write(ref _finished, value); }
}

/// <summary>
/// <see cref="StreamGuardWorker"/> as a hosted service: its consume loop on a thread of its own, stopped by the
/// host's stopping token (Ctrl+C, SIGTERM) — it finishes the event in hand, commits and leaves the group. If the
/// worker stops by itself (a Kafka error), the host is stopped and <c>run</c> exits 1.
/// </summary>
internal sealed class WorkerService(
    StreamGuardWorker worker, WorkerMetrics metrics, RunOptions options, RunOutcome outcome,
    IHostApplicationLifetime lifetime, ILoggerFactory loggers)
    : BackgroundService
{
    /// <summary>The metrics attached to the worker (resolved here so they are attached before it runs).</summary>
    public WorkerMetrics Metrics { get; } = metrics;

    private readonly ILogger _logger = loggers.CreateLogger("streamguard");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using Timer? stats = options.StatsIntervalS == 0 ? null : new Timer(_ => LogStats(), null,
            TimeSpan.FromSeconds(options.StatsIntervalS), TimeSpan.FromSeconds(options.StatsIntervalS));
        try
        {
            // The consume loop blocks in librdkafka: a dedicated thread, not one of the pool's.
            await Task.Factory.StartNew(() => worker.Run(stoppingToken), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
            outcome.ExitCode = 0;
            Log.StoppedCleanly(_logger, worker.Processed);
        }
        catch (AuditChainBrokenException e)
        {
            // Not a restartable error: a restart refuses again until an operator acts.
            Log.ChainRefused(_logger, e.Message);
        }
        catch (Exception e) when (e is Confluent.Kafka.KafkaException or ArgumentException
            or InvalidOperationException or TimeoutException)
        {
            // Nothing past the last commit is lost: a restart resumes from it (and, exactly-once, aborts the rest).
            Log.StoppedOnError(_logger, worker.Processed, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // Said before the process ends (exit 1), never left to the host: the operator must see why it stopped. A
            // cancellation the host did not ask for is such a failure; the host would drop it without a word.
            Log.Crashed(_logger, worker.Processed, e);
        }
        finally
        {
            outcome.Finished = true;
            lifetime.StopApplication();
        }
    }

    private void LogStats()
    {
        if (worker.Engine is not { } engine) return;
        EngineStats s = engine.Stats;
        Log.Stats(_logger, worker.Processed, s.Reads, s.Queries, s.Results, s.DeadLetters, engine.StoredReadCount,
            worker.Commits);
    }
}
