using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Hosting;

/// <summary>
/// The generic host of <c>streamguard run</c>: configuration layers, console logging, the worker as a hosted service
/// and — with <c>--metrics ADDR</c> — Kestrel serving <c>/metrics</c> (Prometheus, through OpenTelemetry),
/// <c>/healthz</c> and <c>/readyz</c>.
/// </summary>
internal static class RunHost
{
    /// <summary>
    /// Longest a stop may take: the worker's last commit may wait for its flush timeout (30 s) first.
    /// </summary>
    private static readonly TimeSpan s_shutdownTimeout = TimeSpan.FromSeconds(90);

    public static async Task<int> RunAsync(RunOptions options, RunConfiguration.Layers layers, CompiledPolicy policy,
        byte[] auditKey, CancellationToken ct)
    {
        IHostApplicationBuilder builder;
        WebApplicationBuilder? web = null;
        if (options.MetricsUrl is null)
        {
            builder = Host.CreateEmptyApplicationBuilder(
                new HostApplicationBuilderSettings { ApplicationName = "streamguard" });
        }
        else
        {
            web = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "streamguard" });
            web.WebHost.UseKestrelCore().UseUrls(options.MetricsUrl);
            web.Services.AddRoutingCore();
            web.Services.AddOpenTelemetry().WithMetrics(m => m
                .AddMeter(WorkerMetrics.MeterName, "System.Runtime")
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
            builder = web;
        }
        builder.Configuration.AddConfiguration(layers.Root);
        ConfigureLogging(builder);
        ConfigureServices(builder.Services, options, policy, auditKey);

        using IHost host = web is null ? ((HostApplicationBuilder)builder).Build() : MapEndpoints(web.Build());
        ILogger logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("streamguard");
        RunOutcome outcome = host.Services.GetRequiredService<RunOutcome>();
        string processing = RunOptionTable.Processing.WordOf(options.Processing);
        Log.Starting(logger, options.Bootstrap, options.Group, processing, policy.Hash);
        try
        {
            await host.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e) when (web is not null)
        {
            // Kestrel could not bind: the worker may have started already; let it commit and leave the group.
            Console.Error.WriteLine($"streamguard run: --metrics: cannot listen on {options.MetricsUrl}: {e.Message}");
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return 1;
        }
        if (host is WebApplication app) Log.Serving(logger, string.Join(", ", app.Urls));
        await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
        return outcome.ExitCode;
    }

    private static void ConfigureLogging(IHostApplicationBuilder builder)
    {
        // Defaults first, so "Logging:Console" in configuration overrides them (e.g. FormatterName "json" for log
        // shippers).
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        // Everything on stderr: stdout stays free for what a verb prints as its result.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    private static void ConfigureServices(IServiceCollection services, RunOptions options, CompiledPolicy policy,
        byte[] auditKey)
    {
        services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = s_shutdownTimeout;
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        services.AddMetrics();
        services.AddSingleton(options);
        services.AddSingleton<RunOutcome>();
        if (options.ReloadIntervalMs > 0)
        {
            services.AddSingleton(sp => new PolicyReloader(options.Policy, policy,
                m => Log.Worker(sp.GetRequiredService<ILoggerFactory>().CreateLogger("streamguard"), m),
                TimeSpan.FromMilliseconds(options.ReloadIntervalMs)));
        }
        services.AddSingleton(sp =>
        {
            ILogger log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("streamguard");
            // The first policy_load records state what this policy grants against nothing (everything denied).
            PolicyChangeSummary initial = Common.InitialChange(policy, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            TopicNames topics = (options.TopicPrefix is null
                ? new TopicNames()
                : new TopicNames().WithPrefix(options.TopicPrefix)) with { AgencyTemplate = options.TopicTemplate };
            var workerOptions = new WorkerOptions
            {
                BootstrapServers = options.Bootstrap, GroupId = options.Group, Topics = topics,
                AgencyTopicPartitions = options.TopicPartitions == 0 ? -1 : options.TopicPartitions,
                AgencyTopicReplication = (short)(options.TopicReplication == 0 ? -1 : options.TopicReplication),
                CommitInterval = TimeSpan.FromMilliseconds(options.CommitIntervalMs), CommitBatch = options.CommitBatch,
                Processing = options.Processing, TransactionalId = options.TransactionalId, Kafka = options.Kafka,
            };
            return new StreamGuardWorker(workerOptions,
                sink => new StreamGuardEngine(policy, sink, auditKey, change: initial),
                log, sp.GetService<PolicyReloader>());
        });
        services.AddSingleton(sp => new WorkerMetrics(
            sp.GetRequiredService<StreamGuardWorker>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()
                .Create(new System.Diagnostics.Metrics.MeterOptions(WorkerMetrics.MeterName))));
        services.AddHostedService<WorkerService>();
    }

    private static WebApplication MapEndpoints(WebApplication app)
    {
        StreamGuardWorker worker = app.Services.GetRequiredService<StreamGuardWorker>();
        RunOutcome outcome = app.Services.GetRequiredService<RunOutcome>();
        app.MapPrometheusScrapingEndpoint("/metrics");
        // Liveness: the worker has not stopped (a stopped worker is a restart's job).
        app.MapGet("/healthz", () => outcome.Finished
            ? Results.Text("worker stopped\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok\n"));
        // Readiness: partitions assigned and their audit chains and reads restored.
        app.MapGet("/readyz", () => worker.Ready
            ? Results.Text("ready\n")
            : Results.Text(worker.Running
                    ? "not ready: waiting for partitions or restoring them\n"
                    : "not ready: worker not running\n",
                statusCode: StatusCodes.Status503ServiceUnavailable));
        return app;
    }
}
