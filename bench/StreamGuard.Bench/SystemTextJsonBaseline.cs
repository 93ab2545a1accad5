using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamGuard.Bench;

// The baseline: what a straightforward service would write. System.Text.Json deserialises each event into a POCO
// (source-generated metadata, so no reflection at run time), then the same checks as EventParser run on strings:
// required members, lengths, ranges, plate normalised to a new string, purpose and agency looked up by string,
// camera interned in a Dictionary. Timestamps are DateTimeOffset members parsed by System.Text.Json itself (its
// ISO 8601 parser, faster than DateTimeOffset.Parse). The POCOs carry only the members EventParser extracts; the
// rest (vehicle, image_uri) is skipped by the serializer. Both choices favour the baseline.

public sealed class ReadDto
{
    [JsonPropertyName("read_id")] public string? ReadId { get; set; }
    [JsonPropertyName("camera_id")] public string? CameraId { get; set; }
    [JsonPropertyName("agency_id")] public string? AgencyId { get; set; }
    [JsonPropertyName("plate")] public string? Plate { get; set; }
    [JsonPropertyName("plate_state")] public string? PlateState { get; set; }
    [JsonPropertyName("confidence")] public double? Confidence { get; set; }
    [JsonPropertyName("observed_at")] public DateTimeOffset? ObservedAt { get; set; }
    [JsonPropertyName("lat")] public double? Lat { get; set; }
    [JsonPropertyName("lon")] public double? Lon { get; set; }
}

public sealed class QueryDto
{
    [JsonPropertyName("query_id")] public string? QueryId { get; set; }
    [JsonPropertyName("requester")] public string? Requester { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }
    [JsonPropertyName("purpose")] public string? Purpose { get; set; }
    [JsonPropertyName("case_number")] public string? CaseNumber { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("plate")] public string? Plate { get; set; }
    [JsonPropertyName("from")] public DateTimeOffset? From { get; set; }
    [JsonPropertyName("to")] public DateTimeOffset? To { get; set; }
    [JsonPropertyName("issued_at")] public DateTimeOffset? IssuedAt { get; set; }
    [JsonPropertyName("signature")] public string? Signature { get; set; }
}

[JsonSerializable(typeof(ReadDto))]
[JsonSerializable(typeof(QueryDto))]
public sealed partial class BaselineJsonContext : JsonSerializerContext;

/// <summary>
/// Validation equivalent to EventParser's, over the POCOs. Returns a value that depends on every member checked.
/// </summary>
public sealed class SystemTextJsonBaseline
{
    private static readonly HashSet<string> s_purposes =
    [
        "criminal_investigation", "stolen_vehicle", "missing_person", "amber_alert", "human_trafficking", "warrant",
        "immigration_enforcement", "reproductive_health", "gender_affirming_care", "civil_enforcement", "other",
    ];

    private readonly Dictionary<string, int> _agencies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _cameras = new(StringComparer.Ordinal);

    public SystemTextJsonBaseline(IEnumerable<string> agencyIds)
    {
        foreach (string id in agencyIds) _agencies.Add(id, _agencies.Count);
    }

    /// <summary>The owner of the last read accepted (what a policy decision starts from).</summary>
    public string? LastOwner { get; private set; }

    public long ParseRead(byte[] utf8)
    {
        ReadDto? r;
        try
        {
            r = JsonSerializer.Deserialize(utf8, BaselineJsonContext.Default.ReadDto);
        }
        catch (JsonException)
        {
            return -1;
        }
        if (r is null || r.ReadId is null || r.AgencyId is null || r.Plate is null || r.ObservedAt is null) return -2;
        if (r.ReadId.Length is 0 or > 64) return -3;
        string? plate = NormalisePlate(r.Plate);
        if (plate is null) return -4;
        if (r.Confidence is double c && !(c >= 0 && c <= 1)) return -3;
        if (r.Lat is double lat && !(lat >= -90 && lat <= 90)) return -3;
        if (r.Lon is double lon && !(lon >= -180 && lon <= 180)) return -3;
        if (!_agencies.TryGetValue(r.AgencyId, out int owner)) return -5;
        LastOwner = r.AgencyId;
        int camera = -1;
        if (!string.IsNullOrEmpty(r.CameraId) && !_cameras.TryGetValue(r.CameraId, out camera))
        {
            camera = _cameras.Count;
            _cameras.Add(r.CameraId, camera);
        }
        return r.ObservedAt.Value.ToUnixTimeMilliseconds() + owner + camera + plate.Length;
    }

    public long ParseQuery(byte[] utf8)
    {
        QueryDto? q;
        try
        {
            q = JsonSerializer.Deserialize(utf8, BaselineJsonContext.Default.QueryDto);
        }
        catch (JsonException)
        {
            return -1;
        }
        if (q is null || q.QueryId is null || q.Requester is null || q.User is null || q.Purpose is null
            || q.Plate is null || q.IssuedAt is null)
        {
            return -2;
        }
        if (q.QueryId.Length is 0 or > 128 || q.User.Length == 0 || !s_purposes.Contains(q.Purpose)) return -3;
        string? plate = NormalisePlate(q.Plate);
        if (plate is null) return -4;
        long from = q.From?.ToUnixTimeMilliseconds() ?? long.MinValue;
        long to = q.To?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        if (from > to) return -3;
        int requester = _agencies.TryGetValue(q.Requester, out int id) ? id : -1;
        return q.IssuedAt.Value.ToUnixTimeMilliseconds() + requester + plate.Length + (q.Signature?.Length ?? 0);
    }

    /// <summary>
    /// SPEC §2 normalisation to a new string: upper-case letters and digits, separators dropped, 1-10 left.
    /// </summary>
    private static string? NormalisePlate(string plate)
    {
        Span<char> buffer = stackalloc char[10];
        int n = 0;
        foreach (char ch in plate)
        {
            if (ch is ' ' or '-' or '.') continue;
            if (!char.IsAsciiLetterOrDigit(ch) || n == buffer.Length) return null;
            buffer[n++] = char.ToUpperInvariant(ch);
        }
        return n == 0 ? null : new string(buffer[..n]);
    }
}
