using StreamGuard.Engine;
using StreamGuard.Policy;
using StreamGuard.Security;

namespace StreamGuard.Tests.Support;

/// <summary>A small policy written to a temporary folder, with signing keys as files.</summary>
internal sealed class TestPolicy : IDisposable
{
    public const string Yaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: ca-lapd, state: CA, level: local, retention: 730d, key: file:keys/ca-lapd.key}
          - {id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}
          - {id: wa-spd, state: WA, level: local, retention: 21d, key: file:keys/wa-spd.key}
          - {id: us-ice-ero, level: federal, key: file:keys/us-ice-ero.key}
          - {id: ca-nokey, state: CA, level: local}
        search:
          require_case_number: true
          require_reason: true
          max_window: 90d
          max_clock_skew: 5m
        """;

    public TestPolicy(string yaml = Yaml)
    {
        Directory = Path.Combine(Path.GetTempPath(), "sg-test-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "keys"));
        foreach (string id in (string[])["ca-lapd", "ca-lasd", "wa-spd", "us-ice-ero"])
        {
            File.WriteAllText(Path.Combine(Directory, "keys", id + ".key"), "test-key-" + id);
        }
        PolicyPath = Path.Combine(Directory, "policy.yaml");
        File.WriteAllText(PolicyPath, yaml);
        Document = PolicyLoader.LoadFile(PolicyPath);
        Compiled = new CompiledPolicy(Document);
    }

    public string Directory { get; }
    public string PolicyPath { get; }
    public PolicyDocument Document { get; }
    public CompiledPolicy Compiled { get; }

    /// <summary>Every purpose of SPEC §2, as a YAML flow list.</summary>
    public const string AllPurposes = "[criminal_investigation, stolen_vehicle, missing_person, amber_alert, " +
        "human_trafficking, warrant, immigration_enforcement, reproductive_health, gender_affirming_care, " +
        "civil_enforcement, other]";

    public static byte[] AuditKey => "test-audit-key"u8.ToArray();

    public static byte[] KeyOf(string agency) => System.Text.Encoding.UTF8.GetBytes("test-key-" + agency);

    public static string Read(string readId, string agency, string plate, DateTimeOffset observed) =>
        $$"""{"read_id":"{{readId}}","camera_id":"{{agency}}""" +
        $$"""-cam-1","agency_id":"{{agency}}","plate":"{{plate}}","plate_state":"CA","confidence":0.9""" +
        $$""","observed_at":"{{observed.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}}","lat":34.05,"lon":-118.24}""";

    /// <summary>A signed query; <paramref name="signWith"/> overrides the key (forgery tests).</summary>
    public static string Query(string queryId, string requester, string plate, DateTimeOffset issued,
        string purpose = "stolen_vehicle", string? caseNumber = "CASE-1", string? reason = "stolen vehicle report",
        DateTimeOffset? from = null, DateTimeOffset? to = null, byte[]? signWith = null)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        string issuedText = issued.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", invariant);
        string? fromText = from?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", invariant);
        string? toText = to?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", invariant);
        string signature = QuerySignature.Sign(signWith ?? KeyOf(requester), queryId, requester, "d.ortiz", purpose,
            caseNumber, plate, fromText, toText, issuedText);
        var members = new List<string>
        {
            $"\"query_id\":\"{queryId}\"", $"\"requester\":\"{requester}\"", "\"user\":\"d.ortiz\"",
            $"\"purpose\":\"{purpose}\"",
        };
        if (caseNumber is not null) members.Add($"\"case_number\":\"{caseNumber}\"");
        if (reason is not null) members.Add($"\"reason\":\"{reason}\"");
        members.Add($"\"plate\":\"{plate}\"");
        if (fromText is not null) members.Add($"\"from\":\"{fromText}\"");
        if (toText is not null) members.Add($"\"to\":\"{toText}\"");
        members.Add($"\"issued_at\":\"{issuedText}\"");
        members.Add($"\"signature\":\"{signature}\"");
        return "{" + string.Join(',', members) + "}";
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}
