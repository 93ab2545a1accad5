using System.Reflection;
using StreamGuard.Policy;

namespace StreamGuard.Kafka;

/// <summary>
/// Which StreamGuard is running: its version, the commit it was built from and the hash of the statute-rule table
/// compiled into it — the figures every <c>policy_load</c> audit entry states (<c>build</c>, <c>statutes</c>), read
/// from the same place (the informational version of the core assembly, <see cref="StatuteRules.TableHash"/>).
/// </summary>
public static class BuildInfo
{
    private static readonly string s_informational =
        typeof(StatuteRules).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(StatuteRules).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The build as the audit states it: <c>VERSION+COMMIT</c> when the commit is known.</summary>
    public static string Build => s_informational;

    /// <summary>The version, without the commit.</summary>
    public static string Version { get; } = s_informational.Split('+')[0];

    /// <summary>The commit the build was made from; <c>unknown</c> when it was built outside a git checkout.</summary>
    public static string Commit { get; } =
        s_informational.IndexOf('+', StringComparison.Ordinal) is int plus and >= 0 && plus < s_informational.Length - 1
            ? s_informational[(plus + 1)..]
            : "unknown";

    /// <summary>SHA-256 of the statute-rule table compiled into this build (<c>sha256:</c> and hex).</summary>
    public static string StatuteTableHash => StatuteRules.TableHash;
}
