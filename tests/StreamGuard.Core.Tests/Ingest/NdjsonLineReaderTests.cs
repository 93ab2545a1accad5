using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using StreamGuard.Ingest;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Ingest;

/// <summary>How the bytes reach the reader: all at once, split into segments, or trickling in.</summary>
public enum Feed
{
    /// <summary>One segment holding all the input.</summary>
    Whole,

    /// <summary>All the input at once, one byte per segment.</summary>
    BytePerSegment,

    /// <summary>A stream read through one-byte buffers: each read adds one byte in a new segment.</summary>
    StreamOneByteBuffers,

    /// <summary>A <see cref="Pipe"/> written one byte per flush while the reader runs concurrently.</summary>
    ConcurrentPipe,
}

public sealed class NdjsonLineReaderTests
{
    private static readonly string s_read =
        "{\"read_id\":\"01JNR3Q8Z4K6W2X9\",\"camera_id\":\"lapd-cam-0421\",\"agency_id\":\"ca-lapd\"," +
        "\"plate\":\"7ABC123\",\"observed_at\":\"2026-03-03T17:22:05.123Z\"}";

    private static readonly string s_query =
        "{\"query_id\":\"q-1\",\"requester\":\"ca-lasd\",\"user\":\"d.ortiz\",\"purpose\":\"stolen_vehicle\"," +
        "\"plate\":\"7ABC123\",\"issued_at\":\"2026-03-03T18:00:00Z\"}";

    public static TheoryData<Feed> Feeds =>
        new() { Feed.Whole, Feed.BytePerSegment, Feed.StreamOneByteBuffers, Feed.ConcurrentPipe };

    private sealed record LineRead(long Number, LineStatus Status, string Text);

    private static async Task<List<LineRead>> ReadAll(byte[] input, Feed feed, int maxLineBytes = 4096)
    {
        Task writing = Task.CompletedTask;
        PipeReader pipeReader;
        switch (feed)
        {
            case Feed.Whole:
                pipeReader = PipeReader.Create(new ReadOnlySequence<byte>(input));
                break;
            case Feed.BytePerSegment:
                pipeReader = PipeReader.Create(BytePerSegmentSequence.Create(input));
                break;
            case Feed.StreamOneByteBuffers:
                pipeReader = PipeReader.Create(new MemoryStream(input),
                    new StreamPipeReaderOptions(pool: new TinyMemoryPool(1), bufferSize: 1, minimumReadSize: 1));
                break;
            default:
                var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 1, useSynchronizationContext: false));
                pipeReader = pipe.Reader;
                writing = Task.Run(async () =>
                {
                    foreach (byte b in input)
                    {
                        pipe.Writer.GetSpan(1)[0] = b;
                        pipe.Writer.Advance(1);
                        await pipe.Writer.FlushAsync();
                    }
                    await pipe.Writer.CompleteAsync();
                });
                break;
        }

        var reader = new NdjsonLineReader(pipeReader, maxLineBytes);
        var lines = new List<LineRead>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await reader.ReadAsync(timeout.Token))
        {
            lines.Add(new LineRead(reader.LineNumber, reader.Status, SampleEvents.Printable(reader.Line.Span)));
            Assert.True(lines.Count <= input.Length + 1, "more lines than bytes: the reader is not making progress");
        }
        Assert.False(await reader.ReadAsync(timeout.Token), "a completed reader must stay completed");
        await writing;
        await pipeReader.CompleteAsync();
        return lines;
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task RecordsSplitAcrossSegmentsAreReassembledExactly(Feed feed)
    {
        List<LineRead> lines = await ReadAll(Bytes($"{s_read}\n{s_query}\n{s_read}\n"), feed);

        Assert.Equal([new(1, LineStatus.Ok, s_read), new(2, LineStatus.Ok, s_query), new(3, LineStatus.Ok, s_read)],
            lines);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task CrLfAndLfBothEndALineAndOnlyTheCrBeforeTheLfIsRemoved(Feed feed)
    {
        List<LineRead> lines = await ReadAll(Bytes("a\r\nb\nc\rd\r\ne\r\r\n"), feed);

        Assert.Equal(
        [
            new(1, LineStatus.Ok, "a"), new(2, LineStatus.Ok, "b"), new(3, LineStatus.Ok, "c\\x0Dd"),
            new(4, LineStatus.Ok, "e\\x0D"),
        ], lines);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task BlankLinesAreSkippedButCounted(Feed feed)
    {
        List<LineRead> lines = await ReadAll(Bytes("\n\na\n \t \n\r\nb\n\n"), feed);

        Assert.Equal([new(3, LineStatus.Ok, "a"), new(6, LineStatus.Ok, "b")], lines);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task FinalLineWithoutNewlineIsRead(Feed feed)
    {
        Assert.Equal([new(1, LineStatus.Ok, "a"), new(2, LineStatus.Ok, s_query)],
            await ReadAll(Bytes($"a\n{s_query}"), feed));
        Assert.Equal([new(1, LineStatus.Ok, "a"), new(2, LineStatus.Ok, "last")],
            await ReadAll(Bytes("a\nlast\r"), feed));
        Assert.Equal([new(1, LineStatus.Ok, "a")], await ReadAll(Bytes("a\n \t"), feed));
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task EmptyOrBlankInputHasNoLines(Feed feed)
    {
        Assert.Empty(await ReadAll([], feed));
        Assert.Empty(await ReadAll(Bytes("\n\r\n  \n"), feed));
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task InvalidUtf8IsPassedThroughAsBytes(Feed feed)
    {
        byte[] bad = [(byte)'{', 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0xFF, 0x00, 0x0D, (byte)'}'];
        byte[] input = [.. bad, (byte)'\n', .. Bytes(s_read), (byte)'\n'];

        List<LineRead> lines = await ReadAll(input, feed);

        Assert.Equal([new(1, LineStatus.Ok, SampleEvents.Printable(bad)), new(2, LineStatus.Ok, s_read)], lines);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task LineOverTheCapIsReportedOversizedAndTheNextLineIsReadIntact(Feed feed)
    {
        const int Cap = 32;
        string atCap = new('k', Cap), overByOne = new('o', Cap + 1), huge = new('x', 1000);
        string input = $"ok-1\n{huge}\nok-3\r\n{overByOne}\n{atCap}\n{huge}\r\n\nok-8\n";

        List<LineRead> lines = await ReadAll(Bytes(input), feed, Cap);

        Assert.Equal(
        [
            new(1, LineStatus.Ok, "ok-1"),
            new(2, LineStatus.Oversized, huge[..Cap]),
            new(3, LineStatus.Ok, "ok-3"),
            new(4, LineStatus.Oversized, overByOne[..Cap]),
            new(5, LineStatus.Ok, atCap),
            new(6, LineStatus.Oversized, huge[..Cap]),
            new(8, LineStatus.Ok, "ok-8"),
        ], lines);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task OversizedFinalLineWithoutNewlineIsReportedOversized(Feed feed)
    {
        List<LineRead> lines = await ReadAll(Bytes($"ok\n{new string('x', 100)}"), feed, 16);

        Assert.Equal([new(1, LineStatus.Ok, "ok"), new(2, LineStatus.Oversized, new string('x', 16))], lines);
    }

    [Theory]
    [MemberData(nameof(Feeds))]
    public async Task LineOfExactlyTheCapEndedByCrLfIsNotOversizedHoweverItArrives(Feed feed)
    {
        const int Cap = 32;
        string atCap = new('k', Cap);

        List<LineRead> lines = await ReadAll(Bytes($"{atCap}\r\nnext\r\n"), feed, Cap);

        Assert.Equal([new(1, LineStatus.Ok, atCap), new(2, LineStatus.Ok, "next")], lines);
    }

    [Fact]
    public async Task LineIsCopiedSoItStaysValidAfterThePipeMovesOn()
    {
        var reader =
            new NdjsonLineReader(PipeReader.Create(BytePerSegmentSequence.Create(Bytes("first\nsecond\n"))), 64);

        Assert.True(await reader.ReadAsync());
        ReadOnlyMemory<byte> first = reader.Line;
        Assert.Equal("first", Encoding.UTF8.GetString(first.Span));
        Assert.True(await reader.ReadAsync());
        Assert.Equal("second", Encoding.UTF8.GetString(reader.Line.Span));
    }

    // ---- TryReadLine -------------------------------------------------------------------------

    public static TheoryData<bool> SegmentModes => new() { false, true };

    [Theory]
    [MemberData(nameof(SegmentModes))]
    public void TryReadLineLeavesTheBufferUnchangedOnAnIncompleteLineAtEveryPrefix(bool bytePerSegment)
    {
        byte[] data = Bytes("first line\r\nsecond\n");
        int firstLf = Array.IndexOf(data, (byte)'\n');
        for (int length = 0; length <= data.Length; length++)
        {
            ReadOnlySequence<byte> original = bytePerSegment
                ? BytePerSegmentSequence.Create(data.AsSpan(0, length))
                : new ReadOnlySequence<byte>(data, 0, length);
            ReadOnlySequence<byte> buffer = original;

            bool found = NdjsonLineReader.TryReadLine(ref buffer, out ReadOnlySequence<byte> line);

            if (length <= firstLf)
            {
                Assert.False(found, $"prefix {length}");
                Assert.Equal(original.Start, buffer.Start);
                Assert.Equal(original.End, buffer.End);
                Assert.Equal(original.Length, buffer.Length);
                Assert.True(line.IsEmpty);
            }
            else
            {
                Assert.True(found, $"prefix {length}");
                Assert.Equal("first line", Encoding.UTF8.GetString(line.ToArray()));
                Assert.Equal(Encoding.UTF8.GetString(data, firstLf + 1, length - firstLf - 1),
                    Encoding.UTF8.GetString(buffer.ToArray()));
                Assert.Equal(original.End, buffer.End);
            }
        }
    }

    [Theory]
    [MemberData(nameof(SegmentModes))]
    public void TryReadLineTakesOneLineAtATimeAndKeepsTheIncompleteTail(bool bytePerSegment)
    {
        byte[] data = Bytes("a\nb\r\n\r\n\nc\rd\ntail");
        ReadOnlySequence<byte> buffer =
            bytePerSegment ? BytePerSegmentSequence.Create(data) : new ReadOnlySequence<byte>(data);
        var lines = new List<string>();

        while (NdjsonLineReader.TryReadLine(ref buffer, out ReadOnlySequence<byte> line))
        {
            lines.Add(SampleEvents.Printable(line.ToArray()));
        }

        Assert.Equal(["a", "b", "", "", "c\\x0Dd"], lines);
        Assert.Equal("tail", Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
