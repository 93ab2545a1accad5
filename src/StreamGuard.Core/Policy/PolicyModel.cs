namespace StreamGuard.Policy;

/// <summary>Agency levels of SPEC §3.</summary>
public enum AgencyLevel : byte
{
    Local,
    County,
    State,
    Federal,
    Tribal,
    Private,
}

/// <summary>One agency of the policy file.</summary>
public sealed record AgencyConfig
{
    public required string Id { get; init; }
    public string? Name { get; init; }
    /// <summary>Two-letter state, or null for federal agencies.</summary>
    public string? State { get; init; }
    public required AgencyLevel Level { get; init; }
    /// <summary>The agency's own retention window, if it set one.</summary>
    public TimeSpan? Retention { get; init; }
    public IReadOnlyList<string> Declarations { get; init; } = [];
    public bool FusionCenter { get; init; }
    /// <summary>
    /// Kept in the file only for the reads it still owns (<c>retired: true</c>): they keep its window and statutes,
    /// across restarts too; it has no key and is in no agreement or rule, so it can neither search nor receive, and
    /// events that name it are <c>unknown_agency</c>.
    /// </summary>
    public bool Retired { get; init; }
    public string? KeyRef { get; init; }
    /// <summary>The references of <see cref="Keys"/>, in the same order (as written in the file).</summary>
    public IReadOnlyList<string> KeyRefs { get; init; } = [];
    /// <summary>
    /// Every live query-signing key (several during a rotation: <c>key: [env:NEW, env:OLD]</c>), resolved at load. A
    /// query signed with any of them authenticates; the first is the one to sign new queries with.
    /// </summary>
    public IReadOnlyList<byte[]> Keys { get; init; } = [];
    /// <summary>The first of <see cref="Keys"/> (the current key), or null when the agency has none.</summary>
    public byte[]? Key { get; init; }
    public int Line { get; init; }
}

/// <summary>The <c>search:</c> section of SPEC §3.</summary>
public sealed record SearchSettings
{
    public bool RequireCaseNumber { get; init; } = true;
    public bool RequireReason { get; init; } = true;
    public TimeSpan MaxWindow { get; init; } = TimeSpan.FromDays(90);
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>A validated policy file.</summary>
public sealed record PolicyDocument
{
    public required string Source { get; init; }
    /// <summary><c>sha256:</c> and the hex SHA-256 of the file's bytes.</summary>
    public required string Hash { get; init; }
    public TimeSpan DefaultRetention { get; init; } = TimeSpan.FromDays(30);
    public required IReadOnlyList<AgencyConfig> Agencies { get; init; }
    public SearchSettings Search { get; init; } = new();
    public IReadOnlyList<AgreementConfig> Agreements { get; init; } = [];
    public IReadOnlyList<LocalRuleConfig> Rules { get; init; } = [];
    /// <summary>
    /// Warnings found while reading the file (not the statute analysis: see <see cref="PolicyCheck"/>).
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>The kinds of access an agreement grants (SPEC §3), as a set.</summary>
[Flags]
public enum AccessSet : byte
{
    None = 0,
    Push = 1,
    Search = 2,
    Alert = 4,
}

/// <summary>
/// One entry of <c>agreements:</c>: owners share with recipients, for these accesses and purposes, until it expires.
/// </summary>
public sealed record AgreementConfig
{
    public required string Id { get; init; }
    public required IReadOnlyList<string> Owners { get; init; }
    public required IReadOnlyList<string> Recipients { get; init; }
    public required AccessSet Access { get; init; }
    /// <summary>Bit <c>1 &lt;&lt; (int)purpose</c> for every purpose granted.</summary>
    public required ushort Purposes { get; init; }
    /// <summary>
    /// The first instant (Unix ms) at which the agreement no longer grants anything; null = no expiry.
    /// </summary>
    public long? ExpiresAtMs { get; init; }
    /// <summary>The expiry as written in the file.</summary>
    public string? ExpiresText { get; init; }
    /// <summary>Optional reference to the signed agreement (MOU number, council resolution).</summary>
    public string? Citation { get; init; }
    public int Line { get; init; }
}

/// <summary>
/// One entry of <c>rules:</c>, a local rule. It can only deny: it applies to reads of its owners and denies when
/// every condition it states holds (purpose in <c>deny_purposes</c>, recipient in <c>deny_recipients</c>, access in
/// <c>deny_access</c>); a condition it does not state holds for every request.
/// </summary>
public sealed record LocalRuleConfig
{
    public required string Id { get; init; }
    public required IReadOnlyList<string> Owners { get; init; }
    /// <summary>Purposes denied; 0 = every purpose.</summary>
    public ushort DenyPurposes { get; init; }
    /// <summary>Recipients denied; empty = every recipient.</summary>
    public IReadOnlyList<string> DenyRecipients { get; init; } = [];
    /// <summary>Accesses denied; <see cref="AccessSet.None"/> = every access.</summary>
    public AccessSet DenyAccess { get; init; }
    public required string Citation { get; init; }
    public int Line { get; init; }
}

/// <summary>A policy file that failed validation: names file, line and field.</summary>
public sealed class PolicyException : Exception
{
    public PolicyException(string file, int line, string field, string message)
        : base($"{file}:{line}: {field}: {message}")
    {
        File = file;
        Line = line;
        Field = field;
    }

    public PolicyException() { File = Field = string.Empty; }

    public PolicyException(string message) : base(message) { File = Field = string.Empty; }

    public PolicyException(string message, Exception inner) : base(message, inner) { File = Field = string.Empty; }

    public string File { get; }
    public int Line { get; }
    public string Field { get; }
}
