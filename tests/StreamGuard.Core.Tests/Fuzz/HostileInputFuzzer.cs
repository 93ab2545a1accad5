using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using StreamGuard.Ingest;
using StreamGuard.Parsing;
using StreamGuard.Policy;
using StreamGuard.Text;

namespace StreamGuard.Fuzzing;

/// <summary>
/// A seeded mutation fuzzer over every input StreamGuard parses: the four event parsers (reads, queries, hotlists,
/// holds), the NDJSON line reader, the top-level member lookup replay and the partitioner use, and the YAML policy
/// loader. Each case is a valid seed with random mutations, some of them hostile on purpose (deep nesting, huge
/// numbers, NUL bytes, overlong and surrogate UTF-8, duplicate members, oversized input, YAML alias bombs).
/// </summary>
/// <remarks>
/// Every case must end in a classified outcome — accepted, or rejected with a defined dead-letter code and a reason
/// (events), a line status (NDJSON), a <see cref="PolicyException"/> naming file, line and field (policy) — within
/// <see cref="SlowCaseLimit"/>. Anything else (an exception escaping, an undefined code, an empty reason, an accepted
/// event breaking an invariant, a slow case) is a failure, kept with the case's hex. The same seed gives the same
/// cases: the test suite runs a slice, <c>bench fuzz</c> runs millions (scripts/fuzz.sh).
/// </remarks>
internal sealed class HostileInputFuzzer
{
    /// <summary>A case slower than this is reported as a hang.</summary>
    public static readonly TimeSpan SlowCaseLimit = TimeSpan.FromSeconds(1);

    public static readonly string[] AgencyIds = ["ca-lapd", "ca-lasd", "us-ice-ero", "wa-spd"];

    private const int MaxEventBytes = 4096;

    private static readonly byte[][] s_events =
    [
        ("{\"read_id\":\"01JNR3Q8Z4K6W2X9\",\"camera_id\":\"lapd-cam-0421\","u8 +
            "\"agency_id\":\"ca-lapd\",\"plate\":\"7abc-12 3\",\"plate_state\":\"CA\","u8 +
            "\"confidence\":0.97,\"observed_at\":\"2026-03-03T09:22:05.123-08:00\",\"lat\":34.05223,"u8 +
            "\"lon\":-118.24368,\"extra\":{\"a\":[1,2,{\"b\":null}]}}"u8).ToArray(),
        ("{\"query_id\":\"q-1\",\"requester\":\"ca-lasd\",\"user\":\"d.ortiz\","u8 +
            "\"purpose\":\"stolen_vehicle\",\"case_number\":\"LASD-26-1\","u8 +
            "\"reason\":\"stolen vehicle report\",\"plate\":\"7ABC123\","u8 +
            "\"from\":\"2026-03-01T00:00:00Z\",\"to\":\"2026-03-03T23:59:59.123Z\","u8 +
            "\"issued_at\":\"2026-03-03T18:00:00Z\",\"signature\":\"c2lnbmF0dXJlLWJ5dGVzLWhlcmU=\"}"u8).ToArray(),
        ("{\"hotlist_id\":\"hl-lasd-stolen\",\"owner\":\"ca-lasd\",\"plate\":\"8xyz 999\","u8 +
            "\"purpose\":\"stolen_vehicle\",\"case_number\":\"LASD-26-000123\","u8 +
            "\"expires_at\":\"2026-12-31T23:59:59+00:00\",\"meta\":{\"source\":[\"ncic\",{\"batch\":7}]}}"u8).ToArray(),
        ("{\"hold_id\":\"hold-lapd-0042\",\"agency\":\"ca-lapd\",\"plate\":\"7ABC123\","u8 +
            "\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-03-01T00:00:00Z\",\"kind\":\"warrant\","u8 +
            "\"case_number\":\"LAPD-26-9\",\"until\":\"2027-01-01T00:00:00Z\"}"u8).ToArray(),
    ];

    private static readonly byte[] s_interesting =
        "{}[]\":,\\ -.+0123456789eEtrufalsn"u8.ToArray()
            .Concat(new byte[]
            {
                0x00, 0x09, 0x0A, 0x0D, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF,
            })
            .ToArray();

    /// <summary>Hostile fragments inserted whole: each names one attack of issue 6.</summary>
    private static readonly byte[][] s_hostile =
    [
        // NUL bytes, raw and escaped
        "\0"u8.ToArray(), "\\u0000"u8.ToArray(), "\"\0\""u8.ToArray(),
        // overlong UTF-8
        [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF], [0xC1, 0xBF],
        // surrogates, beyond U+10FFFF
        [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], "\\ud800"u8.ToArray(), "\\udc00\\ud800"u8.ToArray(),
        // a byte order mark
        [0xEF, 0xBB, 0xBF],
        "1e999999"u8.ToArray(), "-1e-999999"u8.ToArray(), Encoding.ASCII.GetBytes(new string('9', 400)),
        "0.000000000000000000000000000001"u8.ToArray(),
        // huge and non-JSON numbers
        "18446744073709551616"u8.ToArray(), "NaN"u8.ToArray(), "Infinity"u8.ToArray(),
        // duplicate members
        "\"plate\":\"X1\","u8.ToArray(), "\"read_id\":\"dup\","u8.ToArray(), "\"query_id\":null,"u8.ToArray(),
        "\"signature\":\"AA==\","u8.ToArray(),
        // near-duplicates: case, escaped name
        "\"PLATE\":\"X\","u8.ToArray(), "\"pl\\u0061te\":\"X\","u8.ToArray(),
    ];

    private readonly Random _random;
    private readonly EventParser _parser;
    private readonly EventParser _reference; // Utf8JsonReader only: the scanner must agree with it on every input
    private readonly AgencyDirectory _agencies;
    private readonly byte[] _policySeed;
    private readonly string _policyDirectory;
    private readonly byte[] _deep;

    /// <param name="seed">Same seed, same cases.</param>
    /// <param name="policySeed">A valid policy (YAML) to mutate.</param>
    /// <param name="policyDirectory">Where its <c>file:</c> keys resolve.</param>
    public HostileInputFuzzer(int seed, byte[] policySeed, string policyDirectory)
    {
        _random = new Random(seed);
        _agencies = new AgencyDirectory(AgencyIds);
        _parser = new EventParser(_agencies, maxEventBytes: MaxEventBytes);
        _reference = new EventParser(_agencies, maxEventBytes: MaxEventBytes) { ScannerEnabled = false };
        _policySeed = policySeed;
        _policyDirectory = policyDirectory;
        _deep = Encoding.ASCII.GetBytes(new string('[', 3000) + new string(']', 3000));
    }

    /// <summary>Event cases the parser's one-pass scanner took (the rest went to its Utf8JsonReader path).</summary>
    public long ScannedCases { get; private set; }

    /// <summary>Cases run per target.</summary>
    public Dictionary<string, long> Cases { get; } = [];

    /// <summary>Outcomes per target: "accepted", a dead-letter code, a line status, a policy error's field.</summary>
    public Dictionary<string, Dictionary<string, long>> Outcomes { get; } = [];

    /// <summary>
    /// Unclassified outcomes (at most 20 kept): exceptions, undefined codes, broken invariants, slow cases.
    /// </summary>
    public List<string> Failures { get; } = [];

    public long TotalFailures { get; private set; }

    public TimeSpan Slowest { get; private set; }

    /// <summary>Runs <paramref name="events"/> event cases (split over reads, queries, hotlists, holds and the member
    /// lookup), <paramref name="ndjsonStreams"/> NDJSON streams and <paramref name="policies"/> policy files.</summary>
    public void Run(long events, long ndjsonStreams, long policies, Action<string>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        for (long i = 0; i < events; i++)
        {
            int target = (int)(i % 5);
            byte[] input = Mutate(s_events[target == 4 ? _random.Next(4) : target], maxLength: 2 * MaxEventBytes);
            Timed(target == 4 ? "member-lookup" : s_targetNames[target], input, () => Event(target, input));
            if (progress is not null && i % 1_000_000 == 999_999)
            {
                progress($"{i + 1:N0} event cases, {clock.Elapsed.TotalSeconds:N0} s, {TotalFailures} failures");
            }
        }
        for (long i = 0; i < ndjsonStreams; i++)
        {
            byte[] stream = NdjsonStream();
            Timed("ndjson", stream, () => Ndjson(stream));
        }
        for (long i = 0; i < policies; i++)
        {
            byte[] yaml = i % 500 == 0 ? AliasBomb() : MutatePolicy();
            Timed("policy", yaml, () => Policy(yaml));
        }
    }

    private void Timed(string target, byte[] input, Func<string?> run)
    {
        Cases[target] = Cases.GetValueOrDefault(target) + 1;
        long start = Stopwatch.GetTimestamp();
        string? outcome;
        try
        {
            outcome = run();
        }
#pragma warning disable CA1031 // the point is to catch whatever escapes
        catch (Exception e)
#pragma warning restore CA1031
        {
            outcome = null;
            string where = string.Join(" < ", (e.StackTrace ?? "").Split('\n', StringSplitOptions.TrimEntries).Take(3));
            Fail(target, $"threw {e.GetType().Name}: {e.Message} at {where}", input);
        }
        TimeSpan took = Stopwatch.GetElapsedTime(start);
        if (took > Slowest) Slowest = took;
        if (took > SlowCaseLimit) Fail(target, $"took {took.TotalMilliseconds:N0} ms", input);
        if (outcome is null) return;
        if (!Outcomes.TryGetValue(target, out Dictionary<string, long>? counts)) Outcomes[target] = counts = [];
        counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
    }

    private void Fail(string target, string what, byte[] input)
    {
        TotalFailures++;
        if (Failures.Count < 20)
        {
            Failures.Add($"{target} {what}; hex {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 600)))}");
        }
    }

    /// <summary>The outcome of one event case, or null after recording a failure.</summary>
    private string? Event(int target, byte[] input)
    {
        if (target == 4)
        {
            // Replay's merge key and the partitioner's plate fallback: a top-level string member, or nothing.
            bool found = JsonMembers.TryGetString(input, "plate"u8, out ReadOnlySpan<byte> plate);
            if (!found) return "absent";
            return plate.Length <= input.Length
                ? "found"
                : Broken("member-lookup", "value longer than the input", input);
        }
        ParseResult result = target switch
        {
            0 => _parser.ParseRead(input, out _),
            1 => _parser.ParseQuery(input, out _),
            2 => _parser.ParseHotlist(input, out _),
            _ => _parser.ParseHold(input, out _),
        };
        string name = s_targetNames[target];
        if (_parser.LastScanned) ScannedCases++;
        if (Disagreement(target, input) is string differs)
        {
            return Broken(name, $"scanner and Utf8JsonReader disagree: {differs}", input);
        }
        if (!Enum.IsDefined(result.Error)) return Broken(name, $"undefined code {(int)result.Error}", input);
        if (result.IsOk)
        {
            return Invariant(target, input) is string broken
                ? Broken(name, $"accepted with bad {broken}", input)
                : "accepted";
        }
        if (string.IsNullOrEmpty(result.Reason)) return Broken(name, $"{result.Error} without a reason", input);
        // The dead-letter code, and "duplicate member" apart: the rule the fuzz checks is one code for every repeat.
        return ParseErrorCodes.Code(result.Error) + (result.Reason == "duplicate member" ? " (duplicate member)" : "");
    }

    /// <summary>
    /// The parser's one-pass scanner against its Utf8JsonReader path on the same bytes: the same result and the same
    /// values (every field, string members by their text), or what differs.
    /// </summary>
    private string? Disagreement(int target, byte[] input)
    {
        (ParseResult a, string va) = Describe(_parser, target, input);
        (ParseResult b, string vb) = Describe(_reference, target, input);
        if (a != b) return $"{a} against {b}";
        return va == vb ? null : $"{va} against {vb}";
    }

    /// <summary>
    /// The result and every value of one parse (0 read, 1 query, 2 hotlist, 3 hold), string members by their text.
    /// </summary>
    public static (ParseResult Result, string Values) Describe(EventParser p, int target, byte[] input)
    {
        string T(Events.Utf8Range r) => Convert.ToHexString(p.Text(r));
        switch (target)
        {
            case 0:
            {
                ParseResult result = p.ParseRead(input, out Events.PlateRead r);
                string camera = r.Camera >= 0 ? Convert.ToHexString(p.Cameras.NameOf(r.Camera)) : "-";
                return (result, $"{T(r.ReadId)}|{camera}|{r.Owner}|{r.Plate}|{r.ObservedAtMs}|{T(r.PlateState)}|" +
                    $"{BitConverter.DoubleToInt64Bits(r.Confidence)}|{BitConverter.DoubleToInt64Bits(r.Lat)}|" +
                    $"{BitConverter.DoubleToInt64Bits(r.Lon)}");
            }
            case 1:
            {
                ParseResult result = p.ParseQuery(input, out Events.Query q);
                return (result, $"{T(q.QueryId)}|{q.Requester}|{T(q.RequesterText)}|{T(q.User)}|{q.Purpose}|" +
                    $"{T(q.PurposeText)}|{T(q.CaseNumber)}|{T(q.Reason)}|{q.Plate}|{T(q.PlateText)}|{q.FromMs}|" +
                    $"{q.ToMs}|{T(q.FromText)}|{T(q.ToText)}|{q.IssuedAtMs}|{T(q.IssuedAtText)}|{T(q.Signature)}");
            }
            case 2:
            {
                ParseResult result = p.ParseHotlist(input, out Events.HotlistEntry h);
                return (result, $"{T(h.HotlistId)}|{h.Owner}|{h.Plate}|{h.Purpose}|{T(h.CaseNumber)}|{h.ExpiresAtMs}");
            }
            default:
            {
                ParseResult result = p.ParseHold(input, out Events.Hold h);
                return (result,
                    $"{T(h.HoldId)}|{h.Agency}|{h.Plate}|{h.FromMs}|{h.ToMs}|{h.Kind}|{T(h.CaseNumber)}|{h.UntilMs}");
            }
        }
    }

    private static readonly string[] s_targetNames = ["read", "query", "hotlist", "hold"];

    private string? Broken(string target, string what, byte[] input)
    {
        Fail(target, what, input);
        return null;
    }

    private string? Invariant(int target, byte[] input)
    {
        switch (target)
        {
            case 0:
                _parser.ParseRead(input, out Events.PlateRead r);
                if (r.ReadId.Length is < 1 or > 64) return "read_id length";
                if ((uint)r.Owner >= (uint)_agencies.Count) return "owner";
                if (Plate.Length(r.Plate) is < 1 or > Plate.MaxLength) return "plate";
                if (!(double.IsNaN(r.Confidence) || r.Confidence is >= 0 and <= 1)) return "confidence";
                if (!(double.IsNaN(r.Lat) || r.Lat is >= -90 and <= 90)
                    || !(double.IsNaN(r.Lon) || r.Lon is >= -180 and <= 180)) return "position";
                return ValidUtf8(_parser.Text(r.ReadId)) ? null : "read_id not UTF-8";
            case 1:
                _parser.ParseQuery(input, out Events.Query q);
                if (q.QueryId.IsEmpty || q.User.IsEmpty) return "query_id/user";
                if (Plate.Length(q.Plate) is < 1 or > Plate.MaxLength) return "plate";
                return q.FromMs > q.ToMs ? "window" : null;
            case 2:
                _parser.ParseHotlist(input, out Events.HotlistEntry h);
                return (uint)h.Owner < (uint)_agencies.Count && Plate.Length(h.Plate) >= 1 ? null : "owner/plate";
            default:
                _parser.ParseHold(input, out Events.Hold d);
                return (uint)d.Agency < (uint)_agencies.Count && d.FromMs <= d.ToMs ? null : "agency/window";
        }
    }

    private static bool ValidUtf8(ReadOnlySpan<byte> text) => System.Text.Unicode.Utf8.IsValid(text);

    /// <summary>
    /// Several events (valid, mutated, oversized, blank) joined by LF or CRLF, read back through a pipe in random
    /// chunks.
    /// </summary>
    private byte[] NdjsonStream()
    {
        var stream = new List<byte>();
        int lines = _random.Next(1, 12);
        for (int i = 0; i < lines; i++)
        {
            int pick = _random.Next(10);
            if (pick == 0) // oversized
            {
                stream.AddRange(Enumerable.Repeat((byte)'x', MaxEventBytes + _random.Next(1, 3 * MaxEventBytes)));
            }
            else if (pick == 1) { } // blank line
            else
            {
                stream.AddRange(pick < 5
                    ? s_events[_random.Next(4)]
                    : Mutate(s_events[_random.Next(4)], 2 * MaxEventBytes));
            }
            if (i < lines - 1 || _random.Next(2) == 0)
            {
                stream.AddRange(_random.Next(3) == 0 ? "\r\n"u8.ToArray() : "\n"u8.ToArray());
            }
        }
        return [.. stream];
    }

    private string? Ndjson(byte[] stream)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        int at = 0;
        while (at < stream.Length)
        {
            int chunk = Math.Min(stream.Length - at, _random.Next(1, 700));
            pipe.Writer.Write(stream.AsSpan(at, chunk));
            at += chunk;
        }
        pipe.Writer.Complete();
        var reader = new NdjsonLineReader(pipe.Reader, MaxEventBytes);
        int ok = 0, oversized = 0;
        while (reader.ReadAsync().AsTask().GetAwaiter().GetResult())
        {
            if (reader.Line.Length > MaxEventBytes) return Broken("ndjson", "a line longer than the cap", stream);
            if (reader.Status == LineStatus.Ok)
            {
                if (reader.Line.Span.IndexOf((byte)'\n') >= 0)
                {
                    return Broken("ndjson", "a line holding a newline", stream);
                }
                ok++;
            }
            else oversized++;
        }
        int expected = stream.AsSpan().Count((byte)'\n') + (stream.Length > 0 && stream[^1] != '\n' ? 1 : 0);
        if (ok + oversized > expected) return Broken("ndjson", $"{ok + oversized} lines from {expected}", stream);
        return oversized > 0 ? "with oversized lines" : "lines";
    }

    private byte[] MutatePolicy()
    {
        byte[] yaml = _policySeed;
        int rounds = _random.Next(1, 4);
        for (int i = 0; i < rounds; i++)
        {
            // Line-level: YAML is line-structured, so repeat, drop or swap whole lines too (duplicate keys, lost
            // indentation).
            if (_random.Next(3) == 0)
            {
                var lines = Encoding.UTF8.GetString(yaml).Split('\n').ToList();
                int a = _random.Next(lines.Count), b = _random.Next(lines.Count);
                switch (_random.Next(3))
                {
                    case 0: lines.Insert(a, lines[b]); break;
                    case 1: lines.RemoveAt(a); break;
                    default: (lines[a], lines[b]) = (lines[b], lines[a]); break;
                }
                yaml = Encoding.UTF8.GetBytes(string.Join('\n', lines));
            }
            else yaml = Mutate(yaml, maxLength: 1 << 20);
        }
        return yaml;
    }

    /// <summary>Nested aliases that expand to 10^9 nodes if anything walks them as a tree.</summary>
    private static byte[] AliasBomb()
    {
        var text = new StringBuilder("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 9; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, " +
                $"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }
        text.Append("agencies: *a8\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static readonly HashSet<string> s_sections =
        ["yaml", "document", "file", "version", "default_retention", "agencies", "agreements", "rules", "search"];

    private string? Policy(byte[] yaml)
    {
        try
        {
            PolicyDocument document = PolicyLoader.Load(yaml, "fuzz.yaml", _policyDirectory);
            _ = new Engine.CompiledPolicy(document);
            return "accepted";
        }
        catch (PolicyException e)
        {
            if (e.Line < 0 || string.IsNullOrEmpty(e.Field) || string.IsNullOrEmpty(e.Message))
            {
                return Broken("policy", $"unclassified PolicyException: {e.Message}", yaml);
            }
            string section = e.Field.Split('.', '[')[0];
            return "rejected: " + (s_sections.Contains(section) ? section : "other");
        }
    }

    /// <summary>
    /// A seed with 1-4 mutations: bit flips, bytes replaced, removed, inserted, a span repeated, truncation, hostile
    /// fragments.
    /// </summary>
    private byte[] Mutate(byte[] seed, int maxLength)
    {
        var bytes = new List<byte>(seed);
        int mutations = _random.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            int at = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
            switch (_random.Next(12))
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(1 << _random.Next(8)); break;
                case 1 when bytes.Count > 0: bytes[at] = s_interesting[_random.Next(s_interesting.Length)]; break;
                case 2 when bytes.Count > 0: bytes[at] = (byte)_random.Next(256); break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, _random.Next(1, Math.Min(16, bytes.Count - at) + 1));
                    break;
                case 4: bytes.Insert(at, s_interesting[_random.Next(s_interesting.Length)]); break;
                case 5 or 6: bytes.InsertRange(at, s_hostile[_random.Next(s_hostile.Length)]); break;
                case 7 when bytes.Count > 0:
                    int length = _random.Next(1, Math.Min(64, bytes.Count - at) + 1);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                case 8 when _random.Next(8) == 0: // deep nesting
                    bytes.InsertRange(at, _deep.AsSpan(0, 2 * _random.Next(1, 1500)).ToArray());
                    break;
                case 9 when _random.Next(16) == 0: // oversized
                    bytes.InsertRange(at, Enumerable.Repeat((byte)' ', maxLength / 2 + _random.Next(maxLength)));
                    break;
                case 10 when _random.Next(4) == 0 && bytes.Count > 2:
                    // A member repeated: the first `"name":value,` found from here, copied just after itself.
                    int quote = bytes.IndexOf((byte)'"', at);
                    int comma = quote < 0 ? -1 : bytes.IndexOf((byte)',', quote);
                    if (comma > quote && quote >= 0)
                    {
                        bytes.InsertRange(comma + 1, bytes.GetRange(quote, comma - quote + 1));
                    }
                    break;
                default:
                    if (bytes.Count > 0 && _random.Next(3) == 0) bytes.RemoveRange(at, bytes.Count - at); // truncation
                    break;
            }
        }
        if (bytes.Count > maxLength) bytes.RemoveRange(maxLength, bytes.Count - maxLength);
        return [.. bytes];
    }

    /// <summary>One line per target: cases and outcomes.</summary>
    public string Summary() => string.Join('\n', Cases.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
        $"{c.Key}: {c.Value:N0} cases — " + string.Join(", ", Outcomes.GetValueOrDefault(c.Key, [])
            .OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value:N0}"))));
}
