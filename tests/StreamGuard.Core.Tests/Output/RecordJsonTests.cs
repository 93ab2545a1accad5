using System.Buffers;
using System.Text;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;
using StreamGuard.Text;

namespace StreamGuard.Tests.Output;

/// <summary>
/// Records copied without the JSON writer must be byte for byte what the writer writes:
/// <see cref="RecordJson.IsPlain"/> must say yes exactly for what the writer leaves as it is.
/// </summary>
public sealed class RecordJsonTests : IDisposable
{
    private readonly TestPolicy _policy = new();

    public void Dispose() => _policy.Dispose();

    private static string Written(ReadOnlySpan<byte> value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, RecordJson.Options)) w.WriteStringValue(value);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void PlainIsExactlyWhatTheWriterLeavesAsItIsForEveryAsciiByte()
    {
        for (int b = 0; b < 128; b++)
        {
            byte[] value = [(byte)'a', (byte)b, (byte)'z'];
            bool unchanged = Written(value) == "\"a" + (char)b + "z\"";
            Assert.True(unchanged == RecordJson.IsPlain(value), $"byte 0x{b:X2}: writer leaves it {unchanged}");
        }
        Assert.False(RecordJson.IsPlain("é"u8)); // beyond ASCII: left to the writer
    }

    [Fact]
    public void APurgeNoticeIsTheWritersRecordWhateverItsReadIdHolds()
    {
        var sink = new MemorySink();
        var outputs = new OutputRecords(sink);
        var ids = Enumerable.Range(1, 127).Select(b => new[] { (byte)'r', (byte)b }).ToList();
        ids.Add(Encoding.UTF8.GetBytes("r-\u00e9\u2028"));
        foreach (byte[] id in ids) outputs.Purge("ca-lasd"u8, id, "ca-lapd"u8, 1_700_000_000_123, "CA.RETENTION"u8);
        Assert.Equal(ids.Count, sink.Purges.Count);
        for (int i = 0; i < ids.Count; i++)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer, RecordJson.Options))
            {
                w.WriteStartObject();
                w.WriteString("read_id"u8, ids[i]);
                w.WriteString("agency_id"u8, "ca-lapd"u8);
                w.WriteString("recipient"u8, "ca-lasd"u8);
                w.WriteString("expired_at"u8, "2023-11-14T22:13:20.123Z"u8);
                w.WriteString("rule"u8, "CA.RETENTION"u8);
                w.WriteEndObject();
            }
            Assert.Equal(Encoding.UTF8.GetString(buffer.WrittenSpan), sink.Purges[i]);
        }
    }

    [Fact]
    public void AnEngineRefusesAnEventCapLargerThanTheStoreKeeps()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StreamGuardEngine(_policy.Compiled,
            new MemorySink(), TestPolicy.AuditKey, new EngineOptions { MaxEventBytes = 64 << 20 }));
        Assert.Contains("MaxEventBytes", e.Message, StringComparison.Ordinal);
        _ = new StreamGuardEngine(_policy.Compiled, new MemorySink(), TestPolicy.AuditKey,
            new EngineOptions { MaxEventBytes = 16 << 20 });
    }
}
