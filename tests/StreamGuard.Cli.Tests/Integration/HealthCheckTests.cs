using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamGuard.Cli.Hosting;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c> as <c>streamguard run</c> maps them (<see cref="WorkerHealthChecks"/>), over
/// HTTP, for a real worker on the test cluster whose thread a logger can hold at a chosen log line: readiness waits for
/// the hotlist and hold tables while liveness does not count their loading as a stall; a consume loop held elsewhere
/// fails liveness once it has not polled for the configured time, and recovers when it goes on.
/// </summary>
public sealed class HealthCheckTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_liveness = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task ReadinessWaitsForTheTablesAndAStalledLoopFailsLivenessWithinItsTimeout()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var gate = new GateLogger();
        gate.Hold(119); // "tables: … loaded": read to their end, not yet in force
        using var reloader = new PolicyReloader(policy.PolicyPath, policy.Compiled, _ => { },
            TimeSpan.FromMilliseconds(200));
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), gate, reloader);
        var outcome = new RunOutcome();
        int port = FreePort();
        WebApplicationBuilder web = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        web.WebHost.UseKestrelCore().UseUrls($"http://127.0.0.1:{port}");
        web.Services.AddRoutingCore();
        web.Services.AddSingleton(worker).AddSingleton(outcome).AddWorkerHealthChecks(s_liveness);
        await using WebApplication app = web.Build();
        app.MapWorkerHealthChecks();
        await app.StartAsync();
        using var http = new HttpClient
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10),
        };

        using var thread = new WorkerThread(worker);
        try
        {
            // Tables loading: not ready, yet alive for longer than the liveness timeout (loading is not a stall).
            Assert.True(gate.Blocked.Wait(s_timeout), "the worker did not load its tables");
            await Task.Delay(s_liveness + TimeSpan.FromSeconds(1));
            (HttpStatusCode ready, string readyText) = await Get(http, "/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
            Assert.Contains("loading the hotlist and hold tables", readyText, StringComparison.Ordinal);
            (HttpStatusCode live, string liveText) = await Get(http, "/healthz");
            Assert.True(live == HttpStatusCode.OK, liveText);
            Assert.False(worker.TablesLoaded);

            gate.Release();
            await WaitFor(async () => (await Get(http, "/readyz")).Status == HttpStatusCode.OK, "/readyz to be 200");
            Assert.True(worker.TablesLoaded);
            Assert.Equal(HttpStatusCode.OK, (await Get(http, "/healthz")).Status);

            // A reload held at "policy … in force", on the worker's thread between two polls: the loop stalls.
            gate.Hold(109);
            await File.AppendAllTextAsync(policy.PolicyPath, "\n# reviewed\n");
            Assert.True(gate.Blocked.Wait(s_timeout), "the reload did not reach the worker");
            // The loop's last poll, frozen while it is held (the reload's topic checks may take a while before the
            // hold on a loaded machine, so time is measured from the poll, as liveness measures it).
            long lastPoll = worker.LastPollTimestamp;
            Assert.NotEqual(0, lastPoll);
            if (Stopwatch.GetElapsedTime(lastPoll) < s_liveness - TimeSpan.FromSeconds(1))
            {
                Assert.Equal(HttpStatusCode.OK, (await Get(http, "/healthz")).Status); // not yet: within the timeout
            }
            string failed = "";
            await WaitFor(async () =>
            {
                (HttpStatusCode status, failed) = await Get(http, "/healthz");
                return status == HttpStatusCode.ServiceUnavailable;
            }, "/healthz to fail");
            TimeSpan after = Stopwatch.GetElapsedTime(lastPoll);
            Assert.Equal(lastPoll, worker.LastPollTimestamp);
            // Not before the timeout, and soon after it (polled every 100 ms; generous for a loaded machine).
            Assert.InRange(after, s_liveness, s_liveness + TimeSpan.FromSeconds(30));
            Assert.Contains("the consume loop has not polled for", failed, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Get(http, "/readyz")).Status);
            Assert.True(WorkerHealth.PollAgeSeconds(worker) > s_liveness.TotalSeconds);

            gate.Release();
            await WaitFor(async () => (await Get(http, "/healthz")).Status == HttpStatusCode.OK,
                "/healthz to recover");
            Assert.Equal(1, worker.PolicyReloadsApplied);
        }
        finally
        {
            gate.Release();
            await thread.StopAsync();
        }
        outcome.Finished = true; // as WorkerService marks it when the worker has ended
        (HttpStatusCode end, string endText) = await Get(http, "/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, end);
        Assert.Contains("worker stopped", endText, StringComparison.Ordinal);
        Assert.Contains("not ready: worker not running", (await Get(http, "/readyz")).Text, StringComparison.Ordinal);
        await app.StopAsync();
    }

    private static async Task<(HttpStatusCode Status, string Text)> Get(HttpClient http, string path)
    {
        using HttpResponseMessage r = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    private static async Task WaitFor(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {s_timeout} for {what}");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>
    /// A logger that holds the thread logging a chosen event id until released: a call that hangs on the worker's
    /// thread, at a known place.
    /// </summary>
    private sealed class GateLogger : ILogger
    {
        private readonly ManualResetEventSlim _open = new(true);
        private int _held = -1;

        /// <summary>Set once a thread is held.</summary>
        public ManualResetEventSlim Blocked { get; } = new();

        public void Hold(int eventId)
        {
            Blocked.Reset();
            _open.Reset();
            Volatile.Write(ref _held, eventId);
        }

        public void Release()
        {
            Volatile.Write(ref _held, -1);
            _open.Set();
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != Volatile.Read(ref _held)) return;
            Blocked.Set();
            _open.Wait(TimeSpan.FromMinutes(2));
        }
    }
}
