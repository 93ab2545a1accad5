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
    public string? KeyRef { get; init; }
    /// <summary>Query-signing key material, resolved from <see cref="KeyRef"/> at load.</summary>
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
    /// <summary>Sections present in the file that this build does not evaluate yet (reported as warnings).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
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
