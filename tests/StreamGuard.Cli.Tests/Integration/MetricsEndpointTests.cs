using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// `streamguard run` as a real process with its HTTP endpoint on (configured through STREAMGUARD_METRICS): /metrics
/// counts what it consumed, decided, dead-lettered and committed under OpenTelemetry's names and attributes, states its
/// build and policy, counts reloads by result; /healthz and /readyz answer; the lag of every input partition comes
/// down to zero; the dashboard and the alert rules ask only for series it exports. With STREAMGUARD_OTLP_ENDPOINT the
/// same metrics are pushed by OTLP.
/// </summary>
public sealed class MetricsEndpointTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task MetricsHealthAndReadinessReportTheWorkersRealState()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // stopped with SIGTERM
        // ca-lasd's reads pushed to ca-lapd: every read has an output of its own at once (its share), so the
        // acknowledgement latency is sampled on reads (audit entries go out in blocks at commits, not per event).
        using var policy = new TestPolicy(TestPolicy.Yaml + """

            agreements:
              - {id: lasd-push, owners: [ca-lasd], recipients: [ca-lapd], access: [push], purposes: [stolen_vehicle]}
            """);
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        const int reads = 60, malformed = 3;
        for (int i = 0; i < reads; i++)
        {
            string plate = $"M{i % 17:D4}";
            producer.Produce(cluster.Topics.Reads, new Message<string?, string>
            {
                Key = plate, Value = TestPolicy.Read($"r{i}", "ca-lasd", plate, now.AddSeconds(-i)),
            });
        }
        for (int i = 0; i < malformed; i++)
        {
            producer.Produce(cluster.Topics.Reads,
                new Message<string?, string> { Key = $"M{i:D4}", Value = "{\"read_id\": \"broken" });
        }
        producer.Flush(s_timeout);

        string auditKey = Path.Combine(policy.Directory, "audit.key");
        await File.WriteAllTextAsync(auditKey, "metrics-test-audit-key");
        string prefix = cluster.Topics.Reads[..^"alpr.reads".Length];
        int port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (string a in (string[])[
            Path.Combine(AppContext.BaseDirectory, "streamguard.dll"), "run", "--bootstrap", cluster.BootstrapServers,
            "--policy", policy.PolicyPath, "--group", cluster.GroupId, "--topic-prefix", prefix,
            "--audit-key", "file:" + auditKey,
            "--stats-interval-s", "0", "--kafka", "statistics.interval.ms=500"])
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["STREAMGUARD_METRICS"] = $"127.0.0.1:{port}";
        using var http = new HttpClient
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10),
        };

        using Process worker = Process.Start(start)!;
        Task<string> stderr = worker.StandardError.ReadToEndAsync();
        Task<string> stdout = worker.StandardOutput.ReadToEndAsync();
        string metrics;
        try
        {
            await WaitFor(async () => await Status(http, "/readyz") == HttpStatusCode.OK, worker,
                "/readyz to answer 200");
            Assert.Equal(HttpStatusCode.OK, await Status(http, "/healthz"));

            // Every record consumed and every reads partition caught up (librdkafka's statistics every 500 ms).
            string reads0 = cluster.Topics.Reads;
            metrics = "";
            await WaitFor(async () =>
            {
                metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
                return Sample(metrics, "messaging_client_consumed_messages_total", ("messaging_system", "kafka"),
                        ("messaging_destination_name", reads0), ("messaging_consumer_group_name", cluster.GroupId))
                        == reads + malformed &&
                    Enumerable.Range(0, cluster.Partitions).All(p => Sample(metrics, "streamguard_consumer_lag",
                        ("messaging_destination_name", reads0), ("messaging_destination_partition_id", P(p))) == 0) &&
                    Sample(metrics, "streamguard_commits_total") >= 1 &&
                    Sample(metrics, "streamguard_output_ack_duration_seconds_count") == (reads + malformed) / 8;
            }, worker, "the worker to consume everything and commit");
            Assert.Equal(HttpStatusCode.OK, await Status(http, "/readyz"));
            Assert.StartsWith("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)),
                StringComparison.Ordinal);

            // Reloads by result: a broken policy file is refused (a structured warning, event id 8), a valid change
            // applied; the policy info follows the version in force.
            string valid = await File.ReadAllTextAsync(policy.PolicyPath);
            await File.WriteAllTextAsync(policy.PolicyPath, valid + "\nagreements: [unclosed\n");
            await WaitFor(async () => Sample(await Metrics(http), "streamguard_policy_reloads_total",
                ("result", "refused")) == 1, worker, "the broken policy to be refused");
            await File.WriteAllTextAsync(policy.PolicyPath, valid + "\n# reviewed\n");
            await WaitFor(async () => Sample(metrics = await Metrics(http), "streamguard_policy_reloads_total",
                ("result", "applied")) == 1, worker, "the changed policy to be applied");
            Assert.Equal(1, Sample(metrics, "streamguard_policy_reloads_total", ("result", "refused")));
            Assert.Equal(1, Sample(metrics, "streamguard_policy_info", ("version", "2")));
            Assert.Null(Sample(metrics, "streamguard_policy_info", ("version", "1")));
            Assert.Null(Sample(metrics, "streamguard_policy_info", ("policy", policy.Compiled.Hash)));
        }
        finally
        {
            await StopAsync(worker);
        }
        string err = await stderr;
        await stdout;
        Assert.True(worker.ExitCode == 0, $"exit code {worker.ExitCode}; stderr:\n{err}");
        Assert.DoesNotContain("M0001", err, StringComparison.Ordinal); // no raw plate in the log
        Assert.Contains("warn: streamguard[8] policy reload REFUSED", err, StringComparison.Ordinal);
        Assert.DoesNotContain("M0001", metrics, StringComparison.Ordinal);

        Assert.Equal(reads, Sample(metrics, "streamguard_decisions_total", ("code", "allow.ingest")));
        Assert.Equal(reads, Sample(metrics, "streamguard_decisions_total", ("code", "allow.agreement")));
        string shared = cluster.Topics.ForAgency(OutputKind.Shared, "ca-lapd");
        Assert.Equal(reads, Sample(metrics, "messaging_client_sent_messages_total", ("messaging_system", "kafka"),
            ("messaging_destination_name", shared)));
        Assert.InRange(Sample(metrics, "streamguard_output_size_bytes_total", ("messaging_destination_name", shared))
            ?? 0, reads * 50, reads * 4096);
        Assert.Equal(0, Sample(metrics, "streamguard_decisions_total", ("code", "deny.statute")));
        Assert.Equal(malformed, Sample(metrics, "streamguard_dead_letters_total", ("error_type", "malformed_json"),
            ("messaging_destination_name", cluster.Topics.DeadLetter)));
        Assert.Equal(0, Sample(metrics, "streamguard_dead_letters_total", ("error_type", "unknown_agency")));
        Assert.Equal(malformed, Sample(metrics, "messaging_client_sent_messages_total",
            ("messaging_destination_name", cluster.Topics.DeadLetter)));
        // The audit: one message (a block) per chain per commit at most, the last commit at shutdown included; and
        // in them one ingest entry per read, plus each chain's opening policy_load entry, every chain verified.
        double commits = Sample(metrics, "streamguard_commits_total") ?? 0;
        Assert.InRange(Sample(metrics, "messaging_client_sent_messages_total",
            ("messaging_destination_name", cluster.Topics.Audit)) ?? -1, 1, commits * cluster.Partitions);
        List<string> auditLines = cluster.AuditLines(s_timeout);
        StreamGuard.Audit.AuditVerifier.Result audit = StreamGuard.Audit.AuditVerifier.Verify(auditLines);
        Assert.Null(audit.Error);
        Assert.Equal(reads + audit.Chains, audit.Entries);
        Assert.Equal(reads, auditLines.Count(l => l.Contains("\"ingest\":\"allow.ingest\"", StringComparison.Ordinal)));
        Assert.Equal(0, Sample(metrics, "messaging_client_consumed_messages_total",
            ("messaging_destination_name", cluster.Topics.Queries)));
        Assert.Equal(reads, Sample(metrics, "streamguard_store_reads"));
        // The store's bytes: at least the reads as received (each is kept whole), at most what a loose bound on
        // arena slack and index allows for this handful (a first arena chunk and index arrays are allocated whole).
        Assert.InRange(Sample(metrics, "streamguard_store_size_bytes") ?? -1, reads * 100, 64L * 1024 * 1024);
        Assert.Equal(0, Sample(metrics, "streamguard_purges_total"));
        Assert.Equal(0, Sample(metrics, "streamguard_transaction_aborts_total"));
        Assert.Equal(1, Sample(metrics, "streamguard_ready"));
        // Health ages: the loop polls every 50 ms; the last commit is at most a commit interval (100 ms) old plus
        // however long a loaded machine takes.
        Assert.InRange(Sample(metrics, "streamguard_poll_age_seconds") ?? -1, 0, 10);
        Assert.InRange(Sample(metrics, "streamguard_commit_age_seconds") ?? -1, 0, 60);
        // Provenance: the build as the audit's policy_load entries state it, and the service resource.
        string load = auditLines.First(l => l.Contains("\"policy_load\"", StringComparison.Ordinal));
        using (var loadDoc = System.Text.Json.JsonDocument.Parse(load))
        {
            System.Text.Json.JsonElement entry = loadDoc.RootElement.GetProperty("policy_load");
            string build = entry.GetProperty("build").GetString()!;
            Assert.Equal(1, Sample(metrics, "streamguard_build_info", ("version", build.Split('+')[0]),
                ("commit", build.Contains('+', StringComparison.Ordinal) ? build.Split('+')[1] : "unknown"),
                ("statutes", entry.GetProperty("statutes").GetString()!)));
        }
        Assert.Equal(1, Sample(metrics, "target_info", ("service_name", "streamguard"),
            ("service_version", BuildInfo.Version)));
        // The latency histogram: one observation per decided event, in buckets from 10 µs up.
        Assert.Equal(reads + malformed, Sample(metrics, "streamguard_decision_duration_seconds_count"));
        Assert.Equal(reads + malformed,
            Sample(metrics, "streamguard_decision_duration_seconds_bucket", ("le", "+Inf")));
        double sum = Sample(metrics, "streamguard_decision_duration_seconds_sum") ?? 0;
        Assert.InRange(sum, 1e-7, 10);
        Assert.NotNull(Sample(metrics, "streamguard_decision_duration_seconds_bucket", ("le", "0.001")));
        Assert.Contains("# TYPE streamguard_decision_duration_seconds histogram", metrics, StringComparison.Ordinal);
        // Acknowledgement latency: every 8th event with outputs (each of these has one), timed to its last output's
        // acknowledgement.
        Assert.Equal((reads + malformed) / 8, Sample(metrics, "streamguard_output_ack_duration_seconds_count"));
        Assert.InRange(Sample(metrics, "streamguard_output_ack_duration_seconds_sum") ?? 0, 1e-6, 60);
        Assert.Contains("# TYPE streamguard_output_ack_duration_seconds histogram", metrics, StringComparison.Ordinal);

        // The provisioned Grafana dashboard and the alert rules ask only for series the worker exports (the rules also
        // for Prometheus's own `up`).
        string dashboard =
            await File.ReadAllTextAsync(DeploymentFiles.Path("deploy/grafana/dashboards/streamguard.json"));
        using var dashboardDoc = System.Text.Json.JsonDocument.Parse(dashboard);
        List<string> queried = [.. dashboardDoc.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .SelectMany(t => PromQl.MetricNames(t.GetProperty("expr").GetString()!)).Distinct()];
        Assert.Contains("streamguard_output_ack_duration_seconds_bucket", queried);
        Assert.Contains("messaging_client_consumed_messages_total", queried);
        foreach (string name in queried)
        {
            Assert.True(Sample(metrics, name) is not null,
                $"the dashboard queries {name}, which /metrics does not export");
        }
        var rules = (YamlDotNet.RepresentationModel.YamlSequenceNode)
            ((YamlDotNet.RepresentationModel.YamlSequenceNode)DeploymentFiles.Yaml("deploy/prometheus/alerts.yml")
                .At("groups")).Children.Single().At("rules");
        List<string> alerted = [.. rules.Children.SelectMany(r => PromQl.MetricNames(r.At("expr").ToString()))
            .Distinct()];
        Assert.Contains("streamguard_poll_age_seconds", alerted);
        Assert.Contains("streamguard_policy_reloads_total", alerted);
        foreach (string name in alerted.Where(n => n != "up"))
        {
            Assert.True(Sample(metrics, name) is not null,
                $"deploy/prometheus/alerts.yml uses {name}, which /metrics does not export");
        }
    }

    [Fact]
    public async Task TheSameMetricsArePushedByOtlpWhenAnEndpointIsGiven()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // stopped with SIGTERM
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        string auditKey = Path.Combine(policy.Directory, "audit.key");
        await File.WriteAllTextAsync(auditKey, "otlp-test-audit-key");
        int port = FreePort();
        using var collector = new System.Net.HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (string a in (string[])[
            Path.Combine(AppContext.BaseDirectory, "streamguard.dll"), "run", "--bootstrap", cluster.BootstrapServers,
            "--policy", policy.PolicyPath, "--group", cluster.GroupId,
            "--topic-prefix", cluster.Topics.Reads[..^"alpr.reads".Length], "--audit-key", "file:" + auditKey,
            "--stats-interval-s", "0"])
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["STREAMGUARD_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}";
        start.Environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        start.Environment["OTEL_METRIC_EXPORT_INTERVAL"] = "500";

        using Process worker = Process.Start(start)!;
        Task<string> stderr = worker.StandardError.ReadToEndAsync();
        Task<string> stdout = worker.StandardOutput.ReadToEndAsync();
        string path = "", contentType = "", body = "";
        try
        {
            using var deadline = new CancellationTokenSource(s_timeout);
            // Exports until one comes from a ready worker (the first may be sent before the group assigns).
            while (!body.Contains("streamguard.ready", StringComparison.Ordinal)
                || !body.Contains("messaging.client.consumed.messages", StringComparison.Ordinal))
            {
                Task<System.Net.HttpListenerContext> next = collector.GetContextAsync();
                if (await Task.WhenAny(next, Task.Delay(Timeout.Infinite, deadline.Token)) != next)
                {
                    throw new TimeoutException($"no OTLP export within {s_timeout}; stderr:\n" +
                        (worker.HasExited ? await stderr : "(running)"));
                }
                System.Net.HttpListenerContext request = await next;
                path = request.Request.Url!.AbsolutePath;
                contentType = request.Request.ContentType ?? "";
                using (var read = new MemoryStream())
                {
                    await request.Request.InputStream.CopyToAsync(read);
                    // Protobuf carries names and string attributes as UTF-8 bytes as they are.
                    body = System.Text.Encoding.UTF8.GetString(read.ToArray());
                }
                request.Response.StatusCode = 200;
                request.Response.ContentType = "application/x-protobuf";
                request.Response.Close();
            }
        }
        finally
        {
            await StopAsync(worker);
        }
        string err = await stderr;
        await stdout;
        Assert.True(worker.ExitCode == 0, $"exit code {worker.ExitCode}; stderr:\n{err}");
        Assert.Equal("/v1/metrics", path);
        Assert.Equal("application/x-protobuf", contentType);
        foreach (string expected in (string[])["service.name", "streamguard", "service.version", BuildInfo.Version,
            "service.instance.id", "messaging.destination.name", cluster.Topics.Reads, "streamguard.build.info",
            "streamguard.policy.reloads", "{message}"])
        {
            Assert.Contains(expected, body, StringComparison.Ordinal);
        }
        Assert.Contains($"metrics exported by OTLP to http://127.0.0.1:{port}", err, StringComparison.Ordinal);
    }

    private static async Task<string> Metrics(HttpClient http) =>
        await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    private static string P(int partition) => partition.ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<HttpStatusCode?> Status(HttpClient http, string path)
    {
        try
        {
            using HttpResponseMessage r = await http.GetAsync(new Uri(path, UriKind.Relative));
            return r.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
    }

    private static async Task WaitFor(Func<Task<bool>> condition, Process worker, string what)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!await condition())
        {
            if (worker.HasExited)
            {
                throw new InvalidOperationException($"the worker exited ({worker.ExitCode}) while waiting for {what}");
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {s_timeout} for {what}");
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// The value of the first sample of <paramref name="name"/> carrying every given label (Prometheus text format);
    /// null if none.
    /// </summary>
    internal static double? Sample(string exposition, string name, params (string Label, string Value)[] labels)
    {
        foreach (string line in exposition.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            // name{label="value",…} value [timestamp]   or   name value [timestamp]
            int open = line.IndexOf('{', StringComparison.Ordinal);
            int close = open >= 0 ? line.LastIndexOf('}') : -1;
            int nameEnd = open >= 0 ? open : line.IndexOf(' ', StringComparison.Ordinal);
            if (nameEnd <= 0 || line[..nameEnd] != name) continue;
            string labelText = open >= 0 ? line[open..(close + 1)] : "";
            if (!labels.All(l => labelText.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal))) continue;
            string value = line[(open >= 0 ? close + 1 : nameEnd)..].Trim().Split(' ')[0];
            return double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>Stops the worker as an orchestrator does (SIGTERM), killing it if it has not exited in time.</summary>
    private static async Task StopAsync(Process worker)
    {
        if (worker.HasExited) return;
        using Process kill = Process.Start("kill", ["-TERM", worker.Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        using var exitTimeout = new CancellationTokenSource(s_timeout);
        try { await worker.WaitForExitAsync(exitTimeout.Token); }
        catch (OperationCanceledException) { worker.Kill(entireProcessTree: true); }
    }
}
