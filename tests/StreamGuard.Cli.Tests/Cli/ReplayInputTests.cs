using System.IO.Pipelines;
using System.Text;
using StreamGuard.Cli.Commands;
using StreamGuard.Ingest;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// Replay's inputs are read on a thread of their own, in batches: the engine's thread must see exactly the lines,
/// numbers and statuses the line reader gives, and every line read before a failure.
/// </summary>
public sealed class ReplayInputTests
{
    private const int Max = 4096;

    private static List<(long Number, LineStatus Status, string Line, long Time)> Drain(ReplayInput input)
    {
        var lines = new List<(long, LineStatus, string, long)>();
        while (input.HasHead)
        {
            lines.Add((input.LineNumber, input.Status, Encoding.UTF8.GetString(input.Line), input.HeadTime));
            input.Advance(CancellationToken.None);
        }
        return lines;
    }

    private static async Task<List<(long, LineStatus, string)>> ByTheLineReader(byte[] bytes)
    {
        var reader = new NdjsonLineReader(PipeReader.Create(new MemoryStream(bytes)), Max);
        var lines = new List<(long, LineStatus, string)>();
        while (await reader.ReadAsync())
        {
            lines.Add((reader.LineNumber, reader.Status, Encoding.UTF8.GetString(reader.Line.Span)));
        }
        return lines;
    }

    [Fact]
    public async Task EveryLineComesAsTheLineReaderGivesItAcrossBatches()
    {
        var text = new StringBuilder();
        var random = new Random(11);
        for (int i = 0; i < 20_000; i++)
        {
            switch (random.Next(20))
            {
                case 0: text.Append("   \r\n"); break;                                     // blank: skipped
                case 1: text.Append('{').Append('x', Max + random.Next(1, 3000)).Append("}\n"); break; // oversized
                case 2: text.Append("{\"n\":").Append(i).Append("}\r\n"); break;          // CRLF
                default:
                    text.Append("{\"observed_at\":\"2026-03-03T17:00:").Append((i % 60).ToString("D2"))
                        .Append("Z\",\"n\":").Append(i).Append(",\"pad\":\"").Append('p', random.Next(0, 300))
                        .Append("\"}\n");
                    break;
            }
        }
        text.Append("{\"last\":true}"); // no final newline
        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());

        List<(long, LineStatus, string)> expected = await ByTheLineReader(bytes);
        using ReplayInput input = ReplayInput.Open(new MemoryStream(bytes), "reads.ndjson", isReads: true, Max,
            timed: true, CancellationToken.None);
        var got = Drain(input);
        Assert.True(expected.Count > 18_000);
        Assert.Equal(expected, got.Select(l => (l.Number, l.Status, l.Line)).ToList());
        // Timed: every line with a readable observed_at has it as its merge key; the others sort first.
        Assert.All(got, l => Assert.Equal(l.Line.StartsWith("{\"observed_at\"", StringComparison.Ordinal),
            l.Time != long.MinValue));
    }

    [Fact]
    public void AnUntimedInputReadsOnlyItsFirstLinesMergeKey()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(
            "{\"observed_at\":\"2026-03-03T17:00:00Z\"}\n{\"observed_at\":\"2026-03-03T17:00:01Z\"}\n");
        using ReplayInput input = ReplayInput.Open(new MemoryStream(bytes), "reads.ndjson", isReads: true, Max,
            timed: false, CancellationToken.None);
        var got = Drain(input);
        Assert.NotEqual(long.MinValue, got[0].Time); // where the replay clock may start
        Assert.Equal(long.MinValue, got[1].Time);
    }

    [Fact]
    public void ALineLongerThanABatchStillComesWhole()
    {
        string big = "{\"pad\":\"" + new string('b', (3 << 20) - 12) + "\"}";
        byte[] bytes = Encoding.UTF8.GetBytes("{\"a\":1}\n" + big + "\n{\"c\":3}\n");
        using ReplayInput input = ReplayInput.Open(new MemoryStream(bytes), "reads.ndjson", isReads: true, 4 << 20,
            timed: false, CancellationToken.None);
        Assert.Equal(["{\"a\":1}", big, "{\"c\":3}"], Drain(input).Select(l => l.Line).ToList());
    }

    [Fact]
    public void EveryLineReadBeforeAnIoFailureReachesTheEngineThenTheFailure()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 100; i++) text.Append("{\"n\":").Append(i).Append("}\n");
        var stream = new FailingStream(Encoding.UTF8.GetBytes(text.ToString()));
        using ReplayInput input = ReplayInput.Open(stream, "reads.ndjson", isReads: true, Max, timed: false,
            CancellationToken.None);
        int seen = 0;
        IOException e = Assert.Throws<IOException>(() =>
        {
            while (input.HasHead)
            {
                seen++;
                input.Advance(CancellationToken.None);
            }
        });
        Assert.Equal(100, seen);
        Assert.Contains("disk gone", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Gives its bytes, then fails every read.</summary>
    private sealed class FailingStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => Fail(base.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Fail(base.Read(buffer));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            ValueTask.FromResult(Fail(base.Read(buffer.Span)));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            Task.FromResult(Fail(base.Read(buffer, offset, count)));

        private static int Fail(int read) => read > 0 ? read : throw new IOException("disk gone");
    }
}
