using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Hosting;

/// <summary>
/// The worker's health as ASP.NET Core health checks: <c>/healthz</c> (liveness) runs the checks tagged
/// <see cref="Live"/>, <c>/readyz</c> (readiness) every check. Each answers 200 or 503 with one line per check.
/// </summary>
internal static class WorkerHealthChecks
{
    public const string Live = "live";

    /// <summary>Registers the checks; the worker and <see cref="RunOutcome"/> come from the container.</summary>
    public static IServiceCollection AddWorkerHealthChecks(this IServiceCollection services, TimeSpan livenessTimeout)
    {
        services.AddHealthChecks()
            .Add(new HealthCheckRegistration("worker-loop",
                sp => new LivenessCheck(sp.GetRequiredService<StreamGuardWorker>(),
                    sp.GetRequiredService<RunOutcome>(), livenessTimeout),
                HealthStatus.Unhealthy, [Live]))
            .Add(new HealthCheckRegistration("worker-ready",
                sp => new ReadinessCheck(sp.GetRequiredService<StreamGuardWorker>()), HealthStatus.Unhealthy, []));
        return services;
    }

    /// <summary>Maps <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static IEndpointRouteBuilder MapWorkerHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(Live), ResponseWriter = WriteText,
        });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { ResponseWriter = WriteText });
        return endpoints;
    }

    /// <summary>Plain text: the overall status, then each check's status and description.</summary>
    private static Task WriteText(HttpContext context, HealthReport report)
    {
        var text = new StringBuilder();
        text.Append(report.Status == HealthStatus.Healthy ? "ok" : report.Status.ToString().ToLowerInvariant())
            .Append('\n');
        foreach ((string name, HealthReportEntry entry) in report.Entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}: {entry.Status.ToString().ToLowerInvariant()}: ")
                .Append(entry.Description).Append('\n');
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.ToString());
    }

    /// <summary>
    /// Liveness: the worker has not stopped, and its consume loop has polled within the timeout
    /// (<see cref="WorkerHealth.PollAgeSeconds"/>: table loading and restores are not stalls). A failed liveness is a
    /// restart's job: the worker resumes from its last commit.
    /// </summary>
    internal sealed class LivenessCheck(StreamGuardWorker worker, RunOutcome outcome, TimeSpan timeout) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context,
            CancellationToken cancellationToken = default)
        {
            if (outcome.Finished) return Task.FromResult(HealthCheckResult.Unhealthy("worker stopped"));
            double age = WorkerHealth.PollAgeSeconds(worker);
            return Task.FromResult(age > timeout.TotalSeconds
                ? HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture,
                    $"the consume loop has not polled for {age:0.0} s (limit {timeout.TotalSeconds:0} s)"))
                : HealthCheckResult.Healthy(worker.LastPollTimestamp == 0
                    ? "the consume loop has not started (loading the tables)"
                    : string.Create(CultureInfo.InvariantCulture, $"the consume loop polled {age:0.0} s ago")));
        }
    }

    /// <summary>
    /// Readiness: the worker runs, its hotlist and hold tables are loaded whole, and its partitions are assigned and
    /// restored (<see cref="StreamGuardWorker.Ready"/>); the description says what it waits for.
    /// </summary>
    internal sealed class ReadinessCheck(StreamGuardWorker worker) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context,
            CancellationToken cancellationToken = default) => Task.FromResult(
            worker.Ready ? HealthCheckResult.Healthy("ready: tables loaded, partitions assigned and restored")
            : !worker.Running ? HealthCheckResult.Unhealthy("not ready: worker not running")
            : !worker.TablesLoaded ? HealthCheckResult.Unhealthy("not ready: loading the hotlist and hold tables")
            : worker.Restoring ? HealthCheckResult.Unhealthy("not ready: restoring assigned partitions")
            : HealthCheckResult.Unhealthy("not ready: waiting for partitions (joining the group or rebalancing)"));
    }
}
