using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>
/// The native librdkafka that Confluent.Kafka loaded, for this solution's own imports of it (the batch reader here,
/// the embedded cluster in StreamGuard.Kafka.Embedded): every <c>[LibraryImport("librdkafka")]</c> must bind to that
/// very copy, whose handles and messages Confluent.Kafka creates.
/// </summary>
/// <remarks>
/// Confluent.Kafka 2.x binds by library name: "librdkafka" first and, on glibc Linux, then "centos8-librdkafka" (on
/// Alpine only "alpine-librdkafka"). The first is the build that needs libsasl2.so.3, so where that is missing (e.g.
/// Debian 12) Confluent runs on the centos8 build. A path given to <see cref="Library.Load(string)"/> does not change
/// that binding on Linux, and fails outright where libdl.so is absent. So Confluent loads librdkafka its own way, the
/// same name lookups are repeated through the runtime's probing for Confluent's assembly (same deps.json paths, same
/// files, hence the same OS handle), and each importing assembly's imports of <see cref="LibraryName"/> resolve to
/// that handle.
/// </remarks>
internal static class Librdkafka
{
    /// <summary>The library name every import of librdkafka in this solution uses.</summary>
    public const string LibraryName = "librdkafka";

    private static readonly Lock s_gate = new();
    private static readonly HashSet<Assembly> s_routed = [];
    private static nint s_library;

    /// <summary>
    /// Loads librdkafka through Confluent.Kafka (once) and routes <paramref name="assembly"/>'s imports of
    /// <see cref="LibraryName"/> to that copy (once per assembly). Returns the library's OS handle.
    /// </summary>
    public static nint RouteImports(Assembly assembly)
    {
        lock (s_gate)
        {
            if (s_library == 0)
            {
                Library.Load();
                s_library = FindConfluentLibrary();
            }
            if (s_routed.Add(assembly))
            {
                nint library = s_library;
                NativeLibrary.SetDllImportResolver(assembly, (name, _, _) => name == LibraryName ? library : 0);
            }
            return s_library;
        }
    }

    private static nint FindConfluentLibrary()
    {
        Assembly confluent = typeof(Library).Assembly;
        string[] candidates = !OperatingSystem.IsLinux() ? ["librdkafka"]
            : IsAlpine() ? ["alpine-librdkafka"]
            : ["librdkafka", "centos8-librdkafka"];
        foreach (string candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, confluent, null, out nint library)) return library;
        }
        throw new InvalidOperationException($"Confluent.Kafka loaded librdkafka {Library.VersionString}, but none of " +
            $"[{string.Join(", ", candidates)}] resolves to it from {confluent.Location}.");
    }

    private static bool IsAlpine()
    {
        const string OsRelease = "/etc/os-release";
        if (!File.Exists(OsRelease)) return false;
        foreach (string line in File.ReadLines(OsRelease))
        {
            if (line.StartsWith("ID=", StringComparison.Ordinal)) return line[3..].Trim('"', '\'') == "alpine";
        }
        return false;
    }
}
