using System.Text;
using StreamGuard.Cli.Commands;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>Replay's output files: written by a writer thread from reused chunks, exactly the lines given.</summary>
public sealed class FileOutputSinkTests : IDisposable
{
    private static readonly string[] s_files =
        ["shared.ndjson", "alerts.ndjson", "results.ndjson", "purges.ndjson", "audit.ndjson", "dlq.ndjson"];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-sink-" + Guid.NewGuid().ToString("N"));

    public FileOutputSinkTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Theory]
    [InlineData(16, 7)]     // lines longer than a chunk, every chunk in use: the writer holds the engine back
    [InlineData(4096, 7)]
    [InlineData(1 << 20, 16)]
    public void EveryFileHoldsExactlyItsLinesInOrderWhateverTheChunkSize(int chunkBytes, int chunkCount)
    {
        var expected = s_files.ToDictionary(f => f, _ => new StringBuilder());
        var random = new Random(7);
        using (var sink = new FileOutputSink(_dir, chunkBytes, chunkCount))
        {
            for (int i = 0; i < 5000; i++)
            {
                string value = "{\"n\":" + i + ",\"pad\":\"" + new string((char)('a' + i % 26), random.Next(0, 60)) +
                    "\"}";
                byte[] bytes = Encoding.UTF8.GetBytes(value);
                switch (random.Next(6))
                {
                    case 0:
                        sink.Shared("wa-kcso"u8, "r1"u8, "0123abcd"u8, bytes);
                        expected["shared.ndjson"].Append("{\"recipient\":\"wa-kcso\",\"decision_id\":\"0123abcd\"," +
                            "\"read\":" + value + "}\n");
                        break;
                    case 1: sink.Alert("o"u8, "h"u8, bytes); expected["alerts.ndjson"].Append(value + "\n"); break;
                    case 2: sink.Result("o"u8, "q"u8, bytes); expected["results.ndjson"].Append(value + "\n"); break;
                    case 3: sink.Purge("o"u8, "r"u8, bytes); expected["purges.ndjson"].Append(value + "\n"); break;
                    case 4:
                        // An audit block: several lines joined by '\n', no trailing newline.
                        sink.Audit(0, Encoding.UTF8.GetBytes(value + "\n" + value));
                        expected["audit.ndjson"].Append(value + "\n" + value + "\n");
                        break;
                    default: sink.DeadLetter(bytes); expected["dlq.ndjson"].Append(value + "\n"); break;
                }
            }
            sink.Complete();
        }
        foreach (string f in s_files)
        {
            Assert.Equal(expected[f].ToString(), File.ReadAllText(Path.Combine(_dir, f)));
        }
    }

    [Fact]
    public void ADeliveryLineIsWhatTheRecordWriterWritesWhateverItsIdsHold()
    {
        // Deliveries are copied straight into the chunk when no byte needs escaping; every other id goes through
        // the writer. Either way the line must be the writer's: one id per ASCII byte, then UTF-8 beyond ASCII.
        var ids = Enumerable.Range(0, 128).Select(b => new[] { (byte)'a', (byte)b, (byte)'z' }).ToList();
        ids.Add(Encoding.UTF8.GetBytes("wa-kcso"));
        ids.Add(Encoding.UTF8.GetBytes("agence-\u00e9t\u00e9\u2028<&>'+`"));
        ids.Add(Encoding.UTF8.GetBytes("\"quoted\\slash\""));
        byte[] read = Encoding.UTF8.GetBytes("{\"read_id\":\"r\\\"1\",\"plate\":\"ABC\"}");
        var expected = new StringBuilder();
        using (var sink = new FileOutputSink(_dir, 64, 7))
        {
            foreach (byte[] recipient in ids)
            {
                foreach (byte[] decision in new[] { Encoding.UTF8.GetBytes("0123abcd"), recipient })
                {
                    sink.Shared(recipient, "r1"u8, decision, read);
                    var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                    using (var w = new System.Text.Json.Utf8JsonWriter(buffer, StreamGuard.Text.RecordJson.Options))
                    {
                        w.WriteStartObject();
                        w.WriteString("recipient"u8, recipient);
                        w.WriteString("decision_id"u8, decision);
                        w.WritePropertyName("read"u8);
                        w.WriteRawValue(read, skipInputValidation: true);
                        w.WriteEndObject();
                    }
                    expected.Append(Encoding.UTF8.GetString(buffer.WrittenSpan)).Append('\n');
                }
            }
            sink.Complete();
        }
        Assert.Equal(expected.ToString(), File.ReadAllText(Path.Combine(_dir, "shared.ndjson")));
    }

    [Fact]
    public void AnEarlierOutputIsReplacedAndALinkedFileTruncated()
    {
        string target = Path.Combine(_dir, "elsewhere.ndjson");
        File.WriteAllText(target, new string('t', 10_000));
        File.CreateSymbolicLink(Path.Combine(_dir, "dlq.ndjson"), target);
        foreach (string f in s_files.Where(f => f != "dlq.ndjson"))
        {
            File.WriteAllText(Path.Combine(_dir, f), new string('o', 10_000) + "\n");
        }
        using (var sink = new FileOutputSink(_dir))
        {
            sink.Purge("o"u8, "r1"u8, "{\"read_id\":\"r1\"}"u8);
            sink.DeadLetter("{\"error\":\"x\"}"u8);
            sink.Complete();
        }
        Assert.Equal("{\"read_id\":\"r1\"}\n", File.ReadAllText(Path.Combine(_dir, "purges.ndjson")));
        Assert.Equal(0, new FileInfo(Path.Combine(_dir, "audit.ndjson")).Length);
        Assert.NotNull(new FileInfo(Path.Combine(_dir, "dlq.ndjson")).LinkTarget);
        Assert.Equal("{\"error\":\"x\"}\n", File.ReadAllText(target));
    }

    [Fact]
    public void CopyingALineAllocatesNothingOnceTheChunksCirculate()
    {
        byte[] read = Encoding.UTF8.GetBytes("{\"read_id\":\"r1\",\"agency_id\":\"wa-spd\",\"plate\":\"1EA4433\"," +
            "\"observed_at\":\"2021-10-07T23:30:51Z\",\"lat\":47.8128394,\"lon\":-122.2948006}");
        byte[] audit = new byte[600];
        Array.Fill(audit, (byte)'x');
        using var sink = new FileOutputSink(_dir, 1 << 16, 7);
        // 2,000 lines ≈ 1.4 MB per batch: every chunk is handed over, written and taken back many times.
        long Batch() => SteadyAllocation.Of(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                sink.Shared("wa-kcso"u8, "r1"u8, "65009ee99597cf13c27cee4838b152c5"u8, read);
                sink.Audit(0, audit);
            }
        });
        int batches = SteadyAllocation.WarmUp(Batch, target: 0L);
        Assert.Equal(0, Batch());
        sink.Complete();
        Assert.Equal((batches + 1) * 1000L * (audit.Length + 1),
            new FileInfo(Path.Combine(_dir, "audit.ndjson")).Length);
    }

    [Fact]
    public void AFullDiskStopsTheEngineThreadWithTheFileNamed()
    {
        if (!File.Exists("/dev/full")) Assert.Fail("this test needs Linux's /dev/full (every write: ENOSPC)");
        File.CreateSymbolicLink(Path.Combine(_dir, "audit.ndjson"), "/dev/full");
        using var sink = new FileOutputSink(_dir, 64, 7);
        byte[] line = new byte[40];
        Array.Fill(line, (byte)'a');
        // At most every chunk is filled before the engine thread must take one the writer has not given back.
        var e = Assert.Throws<OutputWriteException>(() =>
        {
            for (int i = 0; i < 1000; i++) sink.Audit(0, line);
        });
        Assert.Equal(Path.Combine(_dir, "audit.ndjson"), e.Path);
        Assert.Contains("audit.ndjson", e.Message, StringComparison.Ordinal);
        Assert.Contains("No space left on device", e.Message, StringComparison.Ordinal);
        Assert.Throws<OutputWriteException>(sink.Complete);
    }

    [Fact]
    public void AFullDiskFoundOnlyAtTheEndStillFailsComplete()
    {
        if (!File.Exists("/dev/full")) Assert.Fail("this test needs Linux's /dev/full (every write: ENOSPC)");
        File.CreateSymbolicLink(Path.Combine(_dir, "purges.ndjson"), "/dev/full");
        using var sink = new FileOutputSink(_dir);
        sink.Purge("o"u8, "r1"u8, "{\"read_id\":\"r1\"}"u8); // within the first chunk: written only by Complete
        var e = Assert.Throws<OutputWriteException>(sink.Complete);
        Assert.Equal(Path.Combine(_dir, "purges.ndjson"), e.Path);
    }
}
