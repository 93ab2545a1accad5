using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace StreamGuard.Tests.Interop;

/// <summary>
/// The Kafka clients of the interop suite that are not Confluent.Kafka: kcat (the Debian package) and KafkaJS (npm,
/// installed in <c>tests/interop</c>). With <c>STREAMGUARD_INTEROP=1</c> (set by <c>.ci/run</c>, which installs both)
/// they are required and a missing one fails its tests; otherwise a test whose tool is missing is skipped, saying why.
/// </summary>
internal static class InteropTools
{
    public const string Variable = "STREAMGUARD_INTEROP";

    public static bool Required => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>The repository's root (the folder of StreamGuard.sln), found upwards from the test binaries.</summary>
    public static string? RepoRoot { get; } = FindRepoRoot();

    public static string? KafkaJsDirectory => RepoRoot is null ? null : Path.Combine(RepoRoot, "tests", "interop");

    /// <summary>Why kcat tests cannot run here, or null when they can (or must: <see cref="Required"/>).</summary>
    public static string? KcatSkipReason() =>
        Required || FindOnPath("kcat") is not null ? null
        : $"kcat is not installed (apt-get install kcat); .ci/run installs it and sets {Variable}=1, " +
            "which makes this test mandatory";

    /// <summary>Why KafkaJS tests cannot run here, or null when they can (or must: <see cref="Required"/>).</summary>
    public static string? KafkaJsSkipReason()
    {
        if (Required) return null;
        if (FindOnPath("node") is null)
        {
            return $"node is not installed; .ci/run installs KafkaJS and sets {Variable}=1, " +
                "which makes this test mandatory";
        }
        if (KafkaJsDirectory is null || !Directory.Exists(Path.Combine(KafkaJsDirectory, "node_modules", "kafkajs")))
        {
            return $"KafkaJS is not installed (npm ci --prefix tests/interop); .ci/run installs it and sets " +
                $"{Variable}=1, which makes this test mandatory";
        }
        return null;
    }

    /// <summary>Runs kcat; fails the test with its output when it exits non-zero.</summary>
    public static string Kcat(IEnumerable<string> arguments, string? stdinFile = null, TimeSpan? timeout = null)
    {
        string kcat = FindOnPath("kcat") ?? throw new InvalidOperationException(
            $"kcat is not on PATH but {Variable}=1 requires it (apt-get install kcat)");
        return Run(kcat, arguments, stdinFile, timeout ?? TimeSpan.FromSeconds(60), okCodes: [0]).Stdout;
    }

    /// <summary>
    /// Runs one of the KafkaJS scripts of tests/interop with node; returns its exit code and standard output.
    /// </summary>
    public static (int Code, string Stdout) KafkaJs(string script, IEnumerable<string> arguments, TimeSpan timeout)
    {
        string node = FindOnPath("node")
            ?? throw new InvalidOperationException($"node is not on PATH but {Variable}=1 requires it");
        string dir = KafkaJsDirectory
            ?? throw new InvalidOperationException("the repository (StreamGuard.sln) is not above the test binaries");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "kafkajs")))
        {
            throw new InvalidOperationException(
                $"KafkaJS is not installed in {dir} but {Variable}=1 requires it (npm ci --prefix tests/interop)");
        }
        var (code, stdout, _) = Run(node, [Path.Combine(dir, script), .. arguments], null, timeout, okCodes: [0, 2]);
        return (code, stdout);
    }

    /// <summary>Records printed as JSON lines by kcat <c>-J</c> or by consume.js, as (topic, key, value).</summary>
    public static List<(string Topic, string? Key, string? Value)> ParseRecords(string jsonLines, string valueMember)
    {
        var records = new List<(string, string?, string?)>();
        foreach (string line in
            jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            using JsonDocument d = JsonDocument.Parse(line);
            JsonElement r = d.RootElement;
            records.Add((r.GetProperty("topic").GetString()!, r.GetProperty("key").GetString(),
                r.GetProperty(valueMember).GetString()));
        }
        return records;
    }

    /// <summary>Records printed by consume.js, with where they sit.</summary>
    public static List<(string Topic, int Partition, long Offset, string? Key, string? Value)> ParseRecordsAt(
        string jsonLines)
    {
        var records = new List<(string, int, long, string?, string?)>();
        foreach (string line in
            jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            using JsonDocument d = JsonDocument.Parse(line);
            JsonElement r = d.RootElement;
            records.Add((r.GetProperty("topic").GetString()!, r.GetProperty("partition").GetInt32(),
                r.GetProperty("offset").GetInt64(), r.GetProperty("key").GetString(),
                r.GetProperty("value").GetString()));
        }
        return records;
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> arguments,
        string? stdinFile, TimeSpan timeout, int[] okCodes)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdinFile is not null,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        start.Environment["KAFKAJS_NO_PARTITIONER_WARNING"] = "1";
        using Process p = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (stdinFile is not null)
        {
            using (FileStream input = File.OpenRead(stdinFile)) input.CopyTo(p.StandardInput.BaseStream);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)} " +
                $"ran over {timeout.TotalSeconds:N0} s; stderr:\n{stderr.Result}");
        }
        p.WaitForExit();
        string output = stdout.Result, errors = stderr.Result;
        if (!okCodes.Contains(p.ExitCode))
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)} " +
                $"exited with {p.ExitCode}; stderr:\n{errors}");
        }
        return (p.ExitCode, output, errors);
    }

    private static string? FindOnPath(string name)
    {
        string path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (string dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string? FindRepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "StreamGuard.sln"))) return d.FullName;
        }
        return null;
    }
}

/// <summary>A fact that needs kcat.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KcatFactAttribute : FactAttribute
{
    public KcatFactAttribute() => Skip = InteropTools.KcatSkipReason();
}

/// <summary>A fact that needs node and KafkaJS.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KafkaJsFactAttribute : FactAttribute
{
    public KafkaJsFactAttribute() => Skip = InteropTools.KafkaJsSkipReason();
}

/// <summary>A fact that needs node, KafkaJS and a real Kafka broker (<c>STREAMGUARD_KAFKA_BOOTSTRAP</c>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KafkaJsOnRealBrokerFactAttribute : FactAttribute
{
    public KafkaJsOnRealBrokerFactAttribute() => Skip =
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("STREAMGUARD_KAFKA_BOOTSTRAP"))
            ? "needs a real Kafka broker (set STREAMGUARD_KAFKA_BOOTSTRAP, e.g. `docker compose up kafka`): " +
                "the embedded broker shows records of aborted transactions to read_committed readers, " +
                "KafkaJS's included (EmbeddedBrokerShowsAbortedRecordsToKafkaJsReadCommitted)"
            : InteropTools.KafkaJsSkipReason();
}
