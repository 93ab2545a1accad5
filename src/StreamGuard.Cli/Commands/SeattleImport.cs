using System.Globalization;
using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// Converts the Seattle Police Department's published ALPR export (pipe-delimited, plates already hashed; see
/// shared/data/README.md) into SPEC §2 plate reads owned by <c>wa-spd</c>: a real arrival pattern for demos and
/// benchmarks. The plate is the hash's first 7 characters upper-cased (repeat vehicles stay repeats); local
/// Seattle time (PDT, UTC−7 in the published week) becomes UTC. Copy k of the week (<c>gen --copies</c>) is the
/// same rows <see cref="CopySpacing"/> × k later, with read ids made unique by a <c>-c&lt;k&gt;</c> suffix.
/// </summary>
internal static class SeattleImport
{
    private static readonly TimeSpan s_pdt = TimeSpan.FromHours(-7);

    /// <summary>
    /// How much later each copy is than the one before: longer than the published week (1 October 00:02 to 8 October
    /// 23:50, local time), so copies never overlap and a file of copies written in order stays in time order of
    /// copies.
    /// </summary>
    public static readonly TimeSpan CopySpacing = TimeSpan.FromDays(8);

    /// <summary>
    /// Converts every data row as copy <paramref name="copy"/> of the export (0: the rows as published, ids
    /// unsuffixed); returns (rows written, rows skipped as unreadable).
    /// </summary>
    public static (long Written, long Skipped) Convert(TextReader csv, Stream output, string owner = "wa-spd",
        int copy = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(copy);
        // The shift is in UTC: every copy keeps the published rows' UTC−7 conversion, daylight saving aside.
        TimeSpan shift = CopySpacing * copy;
        string suffix = copy == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"-c{copy}");
        using var writer = new Utf8JsonWriter(output,
            new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        string? header = csv.ReadLine();
        if (header is null
            || !header.StartsWith("zipcode|dt|location|address|device|plate_hash|lon|lat", StringComparison.Ordinal))
        {
            throw new UsageException("not the Seattle ALPR export: expected a header starting " +
                "zipcode|dt|location|address|device|plate_hash|lon|lat");
        }
        long written = 0, skipped = 0, row = 0;
        while (csv.ReadLine() is { } line)
        {
            row++;
            string[] f = line.Split('|');
            if (f.Length < 8 || f[5].Length < 7 ||
                !DateTime.TryParseExact(f[1], "MM/dd/yyyy - HH:mm:ss", CultureInfo.InvariantCulture,
                    DateTimeStyles.None, out DateTime local))
            {
                skipped++;
                continue;
            }
            var observed = new DateTimeOffset(local, s_pdt).ToUniversalTime() + shift;
            writer.Reset(output);
            writer.WriteStartObject();
            writer.WriteString("read_id", string.Create(CultureInfo.InvariantCulture, $"spd-2021-{row:D6}{suffix}"));
            writer.WriteString("camera_id", $"{owner}-{f[4]}");
            writer.WriteString("agency_id", owner);
            writer.WriteString("plate", f[5][..7].ToUpperInvariant());
            writer.WriteString("plate_state", "WA");
            writer.WriteString("observed_at",
                observed.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            // A quarter of the rows have no position ("NA"): lat/lon are optional in SPEC §2.
            if (double.TryParse(f[6], NumberStyles.Float, CultureInfo.InvariantCulture, out double lon) &&
                double.TryParse(f[7], NumberStyles.Float, CultureInfo.InvariantCulture, out double lat))
            {
                writer.WriteNumber("lat", lat);
                writer.WriteNumber("lon", lon);
            }
            writer.WriteEndObject();
            writer.Flush();
            output.WriteByte((byte)'\n');
            written++;
        }
        return (written, skipped);
    }

    public static TextReader Open(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"{path}: no such file");
        Stream s = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) s = new GZipStream(s, CompressionMode.Decompress);
        return new StreamReader(s);
    }
}
