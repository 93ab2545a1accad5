using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Audit;
using StreamGuard.Cli.CommandLine;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The audit log as <c>audit why</c>, <c>audit report</c> and <c>audit export</c> read it: its lines from a file or a
/// topic, verified as <c>audit verify</c> verifies them before any decision is read, and their string members.
/// </summary>
internal static class AuditRecords
{
    /// <summary>
    /// The log named by the arguments as the bytes written, its chains verified. A file is read twice, never held in
    /// memory (a log grows for years): once to verify it, then for its decisions, up to the line the first reading
    /// ended at, by runs each given only once it hashes as it did (<see cref="AuditSource.Text"/>), so what is
    /// explained, exported or reported is what was verified, even while the file grows. A topic is read once into
    /// memory. Null, with the reason on standard error, when a topic cannot be read to its end.
    /// </summary>
    public static AuditSource? Load(CommandArgs args)
    {
        string? file = args.Get(AuditCommand.Audit);
        string? topic = args.Get(AuditCommand.Topic);
        if ((file is null) == (topic is null))
        {
            throw new UsageException("give the audit log as --audit FILE or --topic T --bootstrap B");
        }
        if (topic is not null)
        {
            string bootstrap = args.Require(AuditCommand.Bootstrap);
            var lines = new List<byte[]>();
            var sources = new List<string>();
            string source = topic;
            try
            {
                foreach (string line in AuditCommand.TopicRecords(bootstrap, topic, s => source = s))
                {
                    lines.Add(Encoding.UTF8.GetBytes(line));
                    sources.Add(source);
                }
            }
            catch (Exception e) when (e is TimeoutException or KafkaException)
            {
                Console.Error.WriteLine($"{topic}: could not read the whole topic: {e.Message}");
                return null;
            }
            return new AuditSource(() => lines, topic, sources);
        }
        if (!File.Exists(file)) throw new UsageException($"{file}: no such file");
        return new AuditSource(() => FileLines(file!), file!, null);

        static IEnumerable<byte[]> FileLines(string path)
        {
            using FileStream stream = File.OpenRead(path);
            foreach (byte[] line in AuditVerifier.Lines(stream)) yield return line;
        }
    }

    /// <summary>
    /// Text from the log made safe for a terminal: each character a terminal acts on or that reorders the text around
    /// it (C0 controls, DEL, C1 controls, U+2028/U+2029, the bidirectional embeddings and overrides U+202A–U+202E
    /// and isolates U+2066–U+2069) as its JSON escape, \u001b. A log's strings are the searchers' and producers'
    /// text: printed raw, a user name could clear the investigator's screen or rewrite the lines above it.
    /// </summary>
    public static string Printable(string text)
    {
        if (!text.Any(Acts)) return text;
        var s = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (Acts(c)) s.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else s.Append(c);
        }
        return s.ToString();

        static bool Acts(char c) => c < 0x20 || c is >= '\u007f' and <= '\u009f' or '\u2028' or '\u2029'
            or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';
    }

    public static JsonElement? Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Str(JsonElement r, string name) =>
        r.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
}

/// <summary>
/// An audit log's lines as the bytes written, where each came from (a file's line, or a topic's
/// partition/offset), and the verdict of <see cref="AuditVerifier"/> on them: the verdict <c>audit verify</c> gives.
/// </summary>
internal sealed class AuditSource
{
    private readonly string _name;
    // Per line, the topic/partition/offset of the message that held it; null for a file (its line numbers).
    private readonly List<string>? _sources;

    private readonly Func<IEnumerable<byte[]>> _open;
    // The lines the verification read (all of the log's at that time), in runs of about ChunkBytes, each with the
    // SHA-256 of its bytes: the second reading gives a run's lines only once they hashed the same, so nothing is
    // explained, exported or reported from bytes that were not verified, and a run is all it holds in memory.
    private readonly List<(long Lines, byte[] Digest)> _chunks = [];

    /// <summary>The bytes of lines after which a run is closed and hashed.</summary>
    internal const int ChunkBytes = 1 << 20;

    /// <param name="open">The log's lines from its start, as often as asked.</param>
    /// <param name="name">The file's path or the topic's name.</param>
    /// <param name="sources">Per line, the topic/partition/offset of its message; null for a file.</param>
    public AuditSource(Func<IEnumerable<byte[]>> open, string name, List<string>? sources)
    {
        _open = open;
        _name = name;
        _sources = sources;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long lines = 0, bytes = 0;
        using IEnumerator<byte[]> all = open().GetEnumerator();
        // The verifier stops at a break; the rest is still read, as the decisions may be (why explains past one).
        Check = AuditVerifier.Verify(Counted(all));
        while (all.MoveNext()) Count(all.Current);
        if (lines > 0) _chunks.Add((lines, hash.GetHashAndReset()));

        IEnumerable<byte[]> Counted(IEnumerator<byte[]> e)
        {
            while (e.MoveNext())
            {
                Count(e.Current);
                yield return e.Current;
            }
        }

        void Count(byte[] line)
        {
            hash.AppendData(line);
            hash.AppendData("\n"u8);
            lines++;
            bytes += line.Length + 1;
            if (bytes < ChunkBytes) return;
            _chunks.Add((lines, hash.GetHashAndReset()));
            lines = bytes = 0;
        }
    }

    public AuditVerifier.Result Check { get; }

    /// <summary>
    /// The lines as text for reading their members (integrity is judged on the bytes, by <see cref="Check"/>): the
    /// lines verified, read again, a run at a time, each given only once it hashed as it did when verified. At a run
    /// that does not (the file was changed in between) they end, and <see cref="Unreadable"/> says so.
    /// </summary>
    public IEnumerable<string> Text
    {
        get
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using IEnumerator<byte[]> all = _open().GetEnumerator();
            var run = new List<byte[]>();
            foreach ((long count, byte[] digest) in _chunks)
            {
                run.Clear();
                while (run.Count < count && all.MoveNext())
                {
                    hash.AppendData(all.Current);
                    hash.AppendData("\n"u8);
                    run.Add(all.Current);
                }
                if (run.Count < count || !hash.GetHashAndReset().AsSpan().SequenceEqual(digest))
                {
                    Changed = AuditRecords.Printable($"{_name}: changed while it was read (not the bytes " +
                        "verified): read it again");
                    yield break;
                }
                foreach (byte[] line in run) yield return Encoding.UTF8.GetString(line);
            }
        }
    }

    /// <summary>Set when <see cref="Text"/> found the log changed since it was verified.</summary>
    public string? Changed { get; private set; }

    /// <summary>
    /// Where line <paramref name="line"/> (1-based) is, as <c>audit verify</c> names it: FILE:LINE, or the
    /// topic/partition/offset of its message (the last message read past the end, the topic when it held none).
    /// </summary>
    public string Where(long line) => _sources is null ? $"{_name}:{line}"
        : _sources.Count == 0 ? _name
        : _sources[(int)Math.Clamp(line - 1, 0, _sources.Count - 1)];

    /// <summary>The same place for a human reading one decision: "line N" of a file, a topic's message.</summary>
    public string Position(long line) => _sources is null ? $"line {line}" : Where(line);

    /// <summary>
    /// The log's decisions (<see cref="AuditExport.Decisions"/>). At a line no decision can be read from they end,
    /// and <see cref="Unreadable"/> names it.
    /// </summary>
    public IEnumerable<string> Decisions()
    {
        using IEnumerator<string> decisions = AuditExport.Decisions(Text).GetEnumerator();
        while (true)
        {
            try
            {
                if (!decisions.MoveNext()) break;
            }
            catch (AuditFormatException e)
            {
                Unreadable = AuditRecords.Printable($"{Where(e.Line)}: {e.Message}");
                break;
            }
            yield return decisions.Current;
        }
        Unreadable ??= Changed;
    }

    /// <summary>
    /// Where <see cref="Decisions"/> stopped at a line it could not read, and why, or that the log changed since it
    /// was verified; else null.
    /// </summary>
    public string? Unreadable { get; private set; }

    /// <summary>The first break, as <c>audit verify</c> reports it on standard error; null when every chain holds.
    /// </summary>
    public string? Broken =>
        Check.Error is null ? null : AuditRecords.Printable($"{Where(Check.Line)}: {Check.Error}");
}
