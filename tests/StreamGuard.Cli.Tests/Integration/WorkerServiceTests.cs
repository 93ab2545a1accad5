using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamGuard.Cli.Hosting;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// How <c>streamguard run</c> ends when its worker stops by itself (<see cref="WorkerService"/>): the host is stopped,
/// the exit code is 1 and the reason is logged before the process ends, whatever the exception — an operator must
/// never find a stopped worker and no line saying why.
/// </summary>
public sealed class WorkerServiceTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Failures => ["kafka", "unexpected", "cancelled-not-asked"];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task AWorkerThatStopsByItselfStopsTheHostExitsOneAndSaysWhy(string failure)
    {
        Exception thrown = failure switch
        {
            "kafka" => new Confluent.Kafka.KafkaException(Confluent.Kafka.ErrorCode.Local_Transport),
            "unexpected" => new FormatException("an unexpected failure in the engine's start"),
            // Not the host's stopping token: a cancellation nobody asked for is a failure like any other.
            _ => new OperationCanceledException("a wait inside the worker was cancelled"),
        };
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var logs = new ListLogger();
        var worker = new StreamGuardWorker(cluster.WorkerOptions(), _ => throw thrown, logs);
        using var meter = new Meter("StreamGuard.Tests.WorkerService");
        var outcome = new RunOutcome();
        var lifetime = new Lifetime();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var options = new RunOptions { Bootstrap = cluster.BootstrapServers, Policy = policy.PolicyPath };
        using var service = new WorkerService(worker, new WorkerMetrics(worker, meter), options, outcome, lifetime,
            factory);

        await service.StartAsync(CancellationToken.None);
        Assert.True(lifetime.Stopped.Wait(s_timeout), "the host was not stopped");
        try
        {
            await service.ExecuteTask!;
        }
        catch (OperationCanceledException)
        {
            // What the host sees of a cancellation; what matters is what was logged and the exit code.
        }

        Assert.True(outcome.Finished);
        Assert.Equal(1, outcome.ExitCode);
        (LogLevel level, int id, string message, Exception? exception) = Assert.Single(logs.Entries,
            e => e.Id is 6 or 7);
        Assert.Equal(LogLevel.Error, level);
        if (failure == "kafka")
        {
            Assert.Equal(6, id);
            Assert.Contains("stopped on an error after 0 events", message, StringComparison.Ordinal);
            Assert.Contains(thrown.Message, message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(7, id);
            Assert.Contains("the worker failed after 0 events", message, StringComparison.Ordinal);
            Assert.Same(thrown, exception);
        }
    }

    /// <summary>The host's lifetime, as far as the service uses it: <see cref="StopApplication"/>.</summary>
    private sealed class Lifetime : IHostApplicationLifetime
    {
        public ManualResetEventSlim Stopped { get; } = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopped.Set();
    }

    /// <summary>Every line logged, by any category.</summary>
    private sealed class ListLogger : ILogger, ILoggerProvider
    {
        private readonly List<(LogLevel, int, string, Exception?)> _entries = [];

        public IReadOnlyList<(LogLevel Level, int Id, string Message, Exception? Exception)> Entries
        {
            get { lock (_entries) return [.. _entries]; }
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            lock (_entries) _entries.Add((logLevel, eventId.Id, formatter(state, exception), exception));
        }

        public void Dispose()
        {
        }
    }
}
