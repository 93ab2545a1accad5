using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// `streamguard broker` as a real process: the dev broker on fixed ports, with `streamguard run --bootstrap` as a
/// second process against it, as README shows. (The embedded broker itself is under test here, so this runs the
/// same with or without STREAMGUARD_KAFKA_BOOTSTRAP.)
/// </summary>
public sealed class BrokerProcessTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task BrokerOnFixedPortsServesTheWorkerAndAnyClient()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // SIGTERM is a POSIX signal
        int port = TwoFreePorts();
        using Process broker = Start("broker", "--port", port.ToString(CultureInfo.InvariantCulture), "--brokers", "2",
            "--partitions", "4");
        Process? worker = null;
        try
        {
            string bootstrap = await ReadLineAsync(broker);
            Task<string> brokerErr = broker.StandardError.ReadToEndAsync();
            Assert.Equal($"127.0.0.1:{port},127.0.0.1:{port + 1}", bootstrap);

            // Clients learn the fixed ports from Metadata too, so every later connection goes through them.
            using (IAdminClient admin =
                new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
            {
                Metadata metadata = admin.GetMetadata(s_timeout);
                Assert.Equal([$"1 127.0.0.1:{port}", $"2 127.0.0.1:{port + 1}"],
                    metadata.Brokers.Select(b => $"{b.BrokerId} {b.Host}:{b.Port}").Order(StringComparer.Ordinal));
                Assert.Equal(4, metadata.Topics.Single(t => t.Topic == "alpr.reads").Partitions.Count);
                Assert.Contains(metadata.Topics.Single(t => t.Topic == "alpr.reads").Partitions, p => p.Leader == 2);
            }

            // A second broker on the same port refuses to start and says why.
            using (Process second = Start("broker", "--port", port.ToString(CultureInfo.InvariantCulture)))
            {
                Task<string> errText = second.StandardError.ReadToEndAsync();
                using var exit = new CancellationTokenSource(s_timeout);
                try
                {
                    await second.WaitForExitAsync(exit.Token);
                }
                finally
                {
                    if (!second.HasExited) second.Kill(entireProcessTree: true);
                }
                string err = await errText;
                Assert.Equal(1, second.ExitCode);
                Assert.Contains($"cannot listen on 127.0.0.1:{port}", err, StringComparison.Ordinal);
            }

            string samples = Path.Combine(AppContext.BaseDirectory, "samples");
            worker = Start("run", "--bootstrap", bootstrap, "--policy", Path.Combine(samples, "policy.yaml"),
                "--audit-key", "file:" + Path.Combine(samples, "keys", "audit.key"), "--group", "broker-verb-test");
            Task<string> workerErr = worker.StandardError.ReadToEndAsync();
            Task<string> workerOut = worker.StandardOutput.ReadToEndAsync();
            byte[] key = File.ReadAllBytes(Path.Combine(samples, "keys", "ca-lapd.key")).AsSpan().TrimEnd("\n"u8)
                .ToArray();
            DateTimeOffset now = DateTimeOffset.UtcNow;
            using (IProducer<string?, string> producer = new ProducerBuilder<string?, string>(
                new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All }).Build())
            {
                for (int i = 0; i < 3; i++)
                {
                    await producer.ProduceAsync("alpr.reads", new Message<string?, string>
                    {
                        Key = "7ABC123", Value = TestPolicy.Read($"r{i}", "ca-lapd", "7ABC123", now.AddMinutes(i - 10)),
                    });
                }
                // The query may overtake the reads into the worker only if it is consumed first; resend until
                // answered with all three.
                var deadline = DateTime.UtcNow + s_timeout;
                string[] answer = [];
                for (int attempt = 0; answer.Length < 3; attempt++)
                {
                    if (DateTime.UtcNow > deadline || worker.HasExited)
                    {
                        Assert.Fail("no answer with the three reads; worker stderr:\n" +
                            (worker.HasExited ? await workerErr : ""));
                    }
                    string query =
                        TestPolicy.Query($"q-{attempt}", "ca-lapd", "7ABC123", DateTimeOffset.UtcNow, signWith: key);
                    await producer.ProduceAsync("alpr.queries",
                        new Message<string?, string> { Key = "7ABC123", Value = query });
                    answer = Answer(bootstrap, $"q-{attempt}");
                }
                Assert.Equal(["r2", "r1", "r0"], answer);
            }

            Assert.Equal(0, await StopAsync(worker));
            await workerOut;
            // no raw plate in the worker's log
            Assert.DoesNotContain("7ABC123", await workerErr, StringComparison.Ordinal);
            Assert.Equal(0, await StopAsync(broker));
            Assert.Contains("in memory only, at most 5 MiB per partition kept", await brokerErr,
                StringComparison.Ordinal);
        }
        finally
        {
            if (worker is { HasExited: false }) worker.Kill(entireProcessTree: true);
            worker?.Dispose();
            if (!broker.HasExited) broker.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// The read ids of the answer to <paramref name="queryId"/> on alpr.results.ca-lapd, the requester's own topic
    /// (read_committed), in order.
    /// </summary>
    private static string[] Answer(string bootstrap, string queryId)
    {
        using IConsumer<string?, string> consumer = new ConsumerBuilder<string?, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "answers-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false,
            IsolationLevel = IsolationLevel.ReadCommitted, AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("alpr.results.ca-lapd");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            ConsumeResult<string?, string>? r;
            try
            {
                r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            }
            catch (ConsumeException e) when (e.Error.Code == ErrorCode.UnknownTopicOrPart)
            {
                return []; // the worker has not made the requester's topic yet: asked again
            }
            if (r?.Message.Key != queryId) continue;
            using JsonDocument d = JsonDocument.Parse(r.Message.Value);
            Assert.Equal("answered", d.RootElement.GetProperty("status").GetString());
            return d.RootElement.GetProperty("reads").EnumerateArray()
                .Select(x => x.GetProperty("read_id").GetString()!).ToArray();
        }
        throw new TimeoutException($"no answer to {queryId} on alpr.results.ca-lapd");
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "streamguard.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start streamguard");
    }

    private static async Task<string> ReadLineAsync(Process p)
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        string? line = await p.StandardOutput.ReadLineAsync(timeout.Token);
        return line ?? throw new InvalidOperationException(
            $"streamguard {p.StartInfo.ArgumentList[1]} printed nothing; " +
            $"stderr:\n{await p.StandardError.ReadToEndAsync()}");
    }

    private static async Task<int> StopAsync(Process p)
    {
        using (Process kill = Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(s_timeout);
        await p.WaitForExitAsync(timeout.Token);
        return p.ExitCode;
    }

    /// <summary>A free loopback port P with P+1 free as well.</summary>
    private static int TwoFreePorts()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            var first = new TcpListener(IPAddress.Loopback, 0);
            first.Start();
            int port = ((IPEndPoint)first.LocalEndpoint).Port;
            try
            {
                if (port >= 65535) continue;
                var next = new TcpListener(IPAddress.Loopback, port + 1);
                try
                {
                    next.Start();
                    return port;
                }
                catch (SocketException)
                {
                    continue;
                }
                finally
                {
                    next.Stop();
                }
            }
            finally
            {
                first.Stop();
            }
        }
        throw new InvalidOperationException("no two consecutive free loopback ports");
    }
}
