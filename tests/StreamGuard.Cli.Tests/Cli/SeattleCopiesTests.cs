using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>gen --seattle FILE --copies N</c> on a small export written here (the published one is not in a clone): N
/// copies of the week, copy k 8×k days later with its own read ids, written copy after copy.
/// </summary>
[Collection("Console")]
public sealed class SeattleCopiesTests : IDisposable
{
    private const string Export =
        "zipcode|dt|location|address|device|plate_hash|lon|lat|median_incomeE\n" +
        "98036|10/07/2021 - 16:30:51|Plain car|I-5 N|SPD2020621MDC|1ea44336207b9a32fbd46ced905e9bdc3dc7045e|" +
        "-122.2948006|47.8128394|85407\n" +
        "98101|10/01/2021 - 00:02:08|Patrol|Pike St|M207709|4289f9d8a609a0e4bd1e11d6ed3ae05767557263|NA|NA|1\n" +
        "98101|garbage|Patrol|Pike St|M207709|1ea4|NA|NA|1\n" +
        "98101|10/08/2021 - 23:50:50|Patrol|Pike St|M207709|1ea44336207b9a32fbd46ced905e9bdc3dc7045e|NA|NA|1\n";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-seattle-" + Guid.NewGuid().ToString("N"));

    public SeattleCopiesTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string WriteExport()
    {
        string path = Path.Combine(_dir, "export.csv.gz");
        using var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(Export));
        return path;
    }

    private static List<JsonElement> Reads(string dir) =>
        File.ReadAllLines(Path.Combine(dir, "reads.ndjson")).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void CopiesFollowOneAnotherEightDaysApartWithTheirOwnReadIds()
    {
        string export = WriteExport();
        string one = Path.Combine(_dir, "one"), three = Path.Combine(_dir, "three");
        var single = CliRunner.Run("gen", "--seattle", export, "--out", one);
        var copies = CliRunner.Run("gen", "--seattle", export, "--copies", "3", "--out", three);
        Assert.Equal(0, single.Code);
        Assert.Equal(0, copies.Code);
        Assert.Contains("wrote 9 reads (3 copies of the week)", copies.Out, StringComparison.Ordinal);
        Assert.Contains("3 unreadable rows skipped", copies.Out, StringComparison.Ordinal); // the bad row, per copy

        List<JsonElement> week = Reads(one), all = Reads(three);
        Assert.Equal(3, week.Count);
        Assert.Equal(9, all.Count);
        // Copy 0 is the week itself, byte for byte; copy k is the same rows in the same order, 8×k days later.
        Assert.Equal(File.ReadAllLines(Path.Combine(one, "reads.ndjson")),
            File.ReadAllLines(Path.Combine(three, "reads.ndjson")).Take(3));
        for (int k = 1; k < 3; k++)
        {
            for (int i = 0; i < week.Count; i++)
            {
                JsonElement original = week[i], copy = all[k * week.Count + i];
                Assert.Equal(original.GetProperty("read_id").GetString() + $"-c{k}",
                    copy.GetProperty("read_id").GetString());
                Assert.Equal(Observed(original).AddDays(8 * k), Observed(copy));
                foreach (string same in (string[])["plate", "camera_id", "agency_id", "plate_state"])
                {
                    Assert.Equal(original.GetProperty(same).GetString(), copy.GetProperty(same).GetString());
                }
            }
        }
        Assert.Equal(all.Count, all.Select(r => r.GetProperty("read_id").GetString()).Distinct().Count());
        // Time order of copies: every read of a copy is later than every read of the copy before.
        for (int k = 1; k < 3; k++)
        {
            Assert.True(all.Skip(k * 3).Take(3).Min(Observed) > all.Skip((k - 1) * 3).Take(3).Max(Observed));
        }
    }

    [Fact]
    public void CopiesWithoutTheSeattleExportIsAUsageError()
    {
        var r = CliRunner.Run("gen", "--copies", "3", "--out", Path.Combine(_dir, "synthetic"));
        Assert.Equal(2, r.Code);
        Assert.Contains("--copies applies to --seattle only", r.Err, StringComparison.Ordinal);
    }

    private static DateTimeOffset Observed(JsonElement read) =>
        DateTimeOffset.Parse(read.GetProperty("observed_at").GetString()!, CultureInfo.InvariantCulture);
}
