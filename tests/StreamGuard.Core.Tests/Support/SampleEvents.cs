using System.Text;
using StreamGuard.Parsing;

namespace StreamGuard.Tests.Support;

/// <summary>
/// Valid events of SPEC §2 as ordered member lists, and helpers to derive invalid variants from them.
/// </summary>
internal static class SampleEvents
{
    public static readonly string[] AgencyIds = ["ca-lapd", "ca-lasd", "us-ice-ero", "il-chicago-pd"];

    public static AgencyDirectory Agencies() => new(AgencyIds);

    /// <summary>
    /// A plate read like SPEC §2, with a plate to normalise, an offset timestamp and nested unknown members.
    /// </summary>
    public static readonly (string Name, string Value)[] ReadMembers =
    [
        ("read_id", "\"01JNR3Q8Z4K6W2X9\""),
        ("camera_id", "\"lapd-cam-0421\""),
        ("agency_id", "\"ca-lapd\""),
        ("plate", "\"7abc-12 3\""),
        ("plate_state", "\"CA\""),
        ("confidence", "0.97"),
        ("observed_at", "\"2026-03-03T09:22:05.123-08:00\""),
        ("lat", "34.05223"),
        ("lon", "-118.24368"),
        ("vehicle", "{\"make\":\"TOYOTA\",\"model\":\"CAMRY\",\"color\":\"SILVER\",\"type\":\"SEDAN\"," +
            "\"marks\":[[1,2.5e3],{\"dent\":true},null,\"rear \\u00e9 \u00e9\"]}"),
        ("image_uri", "\"https://evidence.example/ca-lapd/01JNR3Q8Z4K6W2X9.jpg\""),
    ];

    /// <summary>A query like SPEC §2, with fractional seconds and offsets in its window.</summary>
    public static readonly (string Name, string Value)[] QueryMembers =
    [
        ("query_id", "\"q-2026-000187\""),
        ("requester", "\"ca-lasd\""),
        ("user", "\"d.ortiz\""),
        ("purpose", "\"stolen_vehicle\""),
        ("case_number", "\"LASD-26-004411\""),
        ("reason", "\"Stolen vehicle report 26-004411 \\\"grey\\\" Camry\""),
        ("plate", "\"7ABC123\""),
        ("from", "\"2026-02-01T00:00:00.5+01:00\""),
        ("to", "\"2026-03-03T23:59:59.123456789Z\""),
        ("issued_at", "\"2026-03-03T18:00:00Z\""),
        ("client", "{\"app\":\"lasd-search\",\"version\":[2,1,0],\"flags\":{}}"),
        ("signature", "\"c2lnbmF0dXJlLWJ5dGVzLWhlcmU=\""),
    ];

    public static readonly (string Name, string Value)[] HotlistMembers =
    [
        ("hotlist_id", "\"hl-lasd-stolen\""),
        ("owner", "\"ca-lasd\""),
        ("plate", "\"8xyz 999\""),
        ("purpose", "\"stolen_vehicle\""),
        ("case_number", "\"LASD-26-000123\""),
        ("expires_at", "\"2026-12-31T23:59:59+00:00\""),
        ("meta", "{\"source\":[\"ncic\",{\"batch\":7}]}"),
    ];

    public static readonly (string Name, string Value)[] HoldMembers =
    [
        ("hold_id", "\"hold-lapd-0042\""),
        ("agency", "\"ca-lapd\""),
        ("plate", "\"7ABC.123\""),
        ("from", "\"2026-01-01T00:00:00Z\""),
        ("to", "\"2026-02-01T00:00:00Z\""),
        ("kind", "\"warrant\""),
        ("case_number", "\"LAPD-26-77\""),
        ("until", "\"2027-01-01T08:00:00.250-08:00\""),
        ("notes", "[\"sealed\",{\"by\":\"court\"}]"),
    ];

    public static string Json(IEnumerable<(string Name, string Value)> members)
    {
        var sb = new StringBuilder("{");
        foreach ((string name, string value) in members)
        {
            if (sb.Length > 1) sb.Append(',');
            sb.Append('"').Append(name).Append("\":").Append(value);
        }
        return sb.Append('}').ToString();
    }

    public static byte[] Utf8(IEnumerable<(string Name, string Value)> members) =>
        Encoding.UTF8.GetBytes(Json(members));

    /// <summary>
    /// The members with <paramref name="name"/> given <paramref name="value"/> (appended when absent).
    /// </summary>
    public static (string Name, string Value)[] With((string Name, string Value)[] members, string name, string value)
    {
        bool found = false;
        var result = new List<(string, string)>(members.Length + 1);
        foreach ((string n, string v) in members)
        {
            if (n == name) { result.Add((n, value)); found = true; }
            else result.Add((n, v));
        }
        if (!found) result.Add((name, value));
        return [.. result];
    }

    public static (string Name, string Value)[] Without((string Name, string Value)[] members, string name) =>
        Array.FindAll(members, m => m.Name != name);

    /// <summary>
    /// The members with <paramref name="name"/> appearing a second time, with <paramref name="value"/>.
    /// </summary>
    public static (string Name, string Value)[] Duplicated(
        (string Name, string Value)[] members, string name, string value) =>
        [.. members, (name, value)];

    /// <summary>
    /// UTF-8 of <paramref name="json"/> with the ASCII <paramref name="marker"/> replaced by raw bytes.
    /// </summary>
    public static byte[] Inject(string json, string marker, params byte[] bytes)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);
        byte[] m = Encoding.ASCII.GetBytes(marker);
        int at = utf8.AsSpan().IndexOf(m);
        if (at < 0) throw new ArgumentException($"marker '{marker}' not found", nameof(marker));
        return [.. utf8.AsSpan(0, at), .. bytes, .. utf8.AsSpan(at + m.Length)];
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    /// <summary>The input as text for a failure message: printable ASCII kept, anything else as \xNN.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            if (b is >= 0x20 and < 0x7F) sb.Append((char)b);
            else sb.Append("\\x").Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
