using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Hosting;

/// <summary>
/// The generic host of <c>streamguard run</c>: configuration layers, console logging, the worker as a hosted service
/// and — with <c>--metrics ADDR</c> — Kestrel serving <c>/metrics</c> (Prometheus, through OpenTelemetry),
/// <c>/healthz</c> and <c>/readyz</c> (ASP.NET Core health checks, <see cref="WorkerHealthChecks"/>); with
/// <c>--otlp-endpoint</c> the same metrics are also pushed by OTLP.
/// </summary>
internal static class RunHost
{
    /// <summary>
    /// Longest a stop may take: the worker's last commit may wait for its flush timeout (30 s) first.
    /// </summary>
    private static readonly TimeSpan s_shutdownTimeout = TimeSpan.FromSeconds(90);

    public static async Task<int> RunAsync(RunOptions options, RunConfiguration.Layers layers, CompiledPolicy policy,
        byte[] auditKey, byte[]? retiredAuditKey, CancellationToken ct)
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
            web.Services.AddWorkerHealthChecks(TimeSpan.FromSeconds(options.LivenessTimeoutS));
            builder = web;
        }
        builder.Configuration.AddConfiguration(layers.Root);
        ConfigureTelemetry(builder, options, web is not null);
        ConfigureLogging(builder);
        ConfigureServices(builder.Services, options, policy, auditKey, retiredAuditKey);

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
        if (options.OtlpEndpoint is not null)
        {
            Log.ExportingOtlp(logger, options.OtlpEndpoint,
                builder.Configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "grpc");
        }
        await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
        return outcome.ExitCode;
    }

    /// <summary>
    /// OpenTelemetry, when anything collects metrics: the worker's meter and the runtime's, under a
    /// <c>service.name</c> / <c>service.version</c> / <c>service.instance.id</c> resource, exported for Prometheus
    /// (<c>/metrics</c>) and/or by OTLP. The exporter's standard <c>OTEL_*</c> variables apply (headers, protocol,
    /// export interval, resource attributes); <c>--otlp-endpoint</c> is <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.
    /// </summary>
    private static void ConfigureTelemetry(IHostApplicationBuilder builder, RunOptions options, bool prometheus)
    {
        if (!prometheus && options.OtlpEndpoint is null) return;
        // The host's configuration has STREAMGUARD_* only; the OpenTelemetry SDK reads its settings from it.
        var otel = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string k && k.StartsWith("OTEL_", StringComparison.Ordinal)) otel[k] = e.Value as string;
        }
        if (options.OtlpEndpoint is not null) otel["OTEL_EXPORTER_OTLP_ENDPOINT"] = options.OtlpEndpoint;
        builder.Configuration.AddInMemoryCollection(otel);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("streamguard", serviceVersion: BuildInfo.Version,
                serviceInstanceId: string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{Environment.MachineName}-{Environment.ProcessId}")))
            .WithMetrics(m =>
            {
                m.AddMeter(WorkerMetrics.MeterName, "System.Runtime");
                if (prometheus) m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                if (options.OtlpEndpoint is not null) m.AddOtlpExporter();
            });
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
        byte[] auditKey, byte[]? retiredAuditKey)
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
            services.AddSingleton(sp =>
            {
                ILogger log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("streamguard");
                return new PolicyReloader(options.Policy, policy, m => Log.Worker(log, m),
                    TimeSpan.FromMilliseconds(options.ReloadIntervalMs))
                {
                    Refused = (inForce, reason) => Log.ReloadRefused(log, inForce, reason),
                };
            });
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
                sink => new StreamGuardEngine(policy, sink, auditKey,
                    EngineOptions.Default with
                    {
                        RetiredAuditKeys = retiredAuditKey is null ? null : [retiredAuditKey],
                    },
                    initial),
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
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapWorkerHealthChecks();
        return app;
    }
}
