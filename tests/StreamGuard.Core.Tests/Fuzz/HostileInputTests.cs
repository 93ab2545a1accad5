using System.Text;
using StreamGuard.Fuzzing;
using StreamGuard.Parsing;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;
using Xunit.Abstractions;

namespace StreamGuard.Tests.Fuzz;

/// <summary>
/// Hostile input: a seeded slice of the fuzzer that <c>bench fuzz</c> runs by the million (scripts/fuzz.sh), and the
/// named attacks one by one — oversized events, deep nesting, huge numbers, NUL bytes, overlong UTF-8 and duplicate
/// members, with the one duplicate rule of docs/spec-notes.md checked for every member of every event type.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    private static string RepoFile(params string[] parts)
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "StreamGuard.sln"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine([dir ?? throw new InvalidOperationException("repository root not found"), .. parts]);
    }

    [Fact]
    public void ASeededSliceOfTheFuzzerLeavesNothingUnclassified()
    {
        string policy = RepoFile("samples", "policy.yaml");
        var fuzzer = new HostileInputFuzzer(6, File.ReadAllBytes(policy), Path.GetDirectoryName(policy)!);
        fuzzer.Run(events: 100_000, ndjsonStreams: 2_000, policies: 1_000);
        output.WriteLine($"{fuzzer.Cases.Values.Sum():N0} cases, {fuzzer.TotalFailures} unclassified, " +
            $"slowest {fuzzer.Slowest.TotalMilliseconds:N1} ms\n{fuzzer.Summary()}");
        Assert.True(fuzzer.TotalFailures == 0, string.Join('\n', fuzzer.Failures));
        // The slice must reach what it claims to test: acceptance, every rejection kind, the duplicate rule, each
        // target.
        foreach (string target in (string[])["read", "query", "hotlist", "hold"])
        {
            Dictionary<string, long> o = fuzzer.Outcomes[target];
            foreach (string code in (string[])
            [
                "accepted", "malformed_json", "invalid_field", "invalid_utf8", "oversized",
                "invalid_field (duplicate member)",
            ])
            {
                Assert.True(o.GetValueOrDefault(code) > 10, $"{target}: only {o.GetValueOrDefault(code)} cases {code}");
            }
        }
        // Every event case was also parsed with the scanner off and compared: that only means something if the
        // scanner ran.
        Assert.True(fuzzer.ScannedCases > 1_000, $"the parser's scanner took only {fuzzer.ScannedCases} event cases");
        Assert.True(fuzzer.Outcomes["policy"].GetValueOrDefault("accepted") > 10);
        Assert.True(fuzzer.Outcomes["policy"].Count > 5, "the policy mutations reach few distinct rejections");
        Assert.True(fuzzer.Outcomes["ndjson"].GetValueOrDefault("with oversized lines") > 10);
    }

    private static readonly EventParser s_parser = new(SampleEvents.Agencies());

    private static ParseResult Parse(EventKind kind, string json) =>
        ParseRunner.Parse(s_parser, kind, Encoding.UTF8.GetBytes(json));

    private static string ReadWith(string member) =>
        SampleEvents.Json(SampleEvents.ReadMembers).Insert(1, member + ",");

    /// <summary>The members SPEC §2 defines (the samples add unknown ones, which the parser skips).</summary>
    private static readonly HashSet<string> s_known =
    [
        "read_id", "camera_id", "agency_id", "plate", "observed_at", "plate_state", "confidence", "lat", "lon",
        "query_id", "requester", "user", "purpose", "case_number", "reason", "from", "to", "issued_at", "signature",
        "hotlist_id", "owner", "expires_at", "hold_id", "agency", "kind", "until",
    ];

    public static TheoryData<string, string> EveryMember()
    {
        var data = new TheoryData<string, string>();
        foreach (var (kind, members) in (IEnumerable<(EventKind, (string Name, string Value)[])>)
        [
            (EventKind.Read, SampleEvents.ReadMembers), (EventKind.Query, SampleEvents.QueryMembers),
            (EventKind.Hotlist, SampleEvents.HotlistMembers), (EventKind.Hold, SampleEvents.HoldMembers),
        ])
        {
            foreach (var (name, _) in members.Where(m => s_known.Contains(m.Name))) data.Add(kind.ToString(), name);
        }
        return data;
    }

    /// <summary>The one rule (docs/spec-notes.md): a member StreamGuard reads, given twice — same value or not, null
    /// or not, first or last, under an escaped spelling of its name — makes the event invalid_field "duplicate
    /// member": neither copy is silently preferred (a downstream parser keeping the last one could not decide
    /// differently).</summary>
    [Theory]
    [MemberData(nameof(EveryMember))]
    public void AMemberGivenTwiceIsADuplicateWhateverItIs(string kindName, string name)
    {
        var kind = Enum.Parse<EventKind>(kindName);
        (string Name, string Value)[] members = kind switch
        {
            EventKind.Read => SampleEvents.ReadMembers, EventKind.Query => SampleEvents.QueryMembers,
            EventKind.Hotlist => SampleEvents.HotlistMembers, _ => SampleEvents.HoldMembers,
        };
        string value = members.First(m => m.Name == name).Value;
        foreach (string second in (string[])[value, "null", "\"other\"", "{}"])
        {
            foreach (bool secondFirst in (bool[])[false, true])
            {
                var twice = members.ToList();
                int at = twice.FindIndex(m => m.Name == name);
                twice.Insert(secondFirst ? at : twice.Count, (name, second));
                ParseResult r = Parse(kind, SampleEvents.Json(twice));
                // Always invalid_field on that member; the detail is the first problem in document order: a first copy
                // of the wrong type is reported as such, otherwise the repeat is.
                bool badFirst = secondFirst && second != "null" && second != value;
                Assert.True(r.Error == ParseError.InvalidField && r.Field == name
                    && (badFirst || r.Reason == "duplicate member"),
                    $"{kind} {name} twice (again as {second}{(secondFirst ? ", first" : "")}): {r.Error} {r.Detail}");
            }
        }
    }

    [Theory]
    [InlineData("\"extra\":1,\"extra\":2")] // an unknown member twice
    [InlineData("\"extra\":null,\"extra\":{}")]
    [InlineData("\"extra\":{\"a\":1,\"a\":2}")] // repeated names inside an unknown value
    public void UnknownMembersAreSkippedUnreadRepeatedOrNot(string members)
    {
        // The rule covers the members StreamGuard reads: nothing it decides on can come from an unknown member.
        Assert.True(Parse(EventKind.Read, ReadWith(members)).IsOk);
    }

    [Theory]
    [InlineData("\"pl\\u0061te\":\"X1\"")] // the same name, escaped: the same member
    public void AnEscapedSpellingOfAMemberNameIsTheSameMember(string member)
    {
        ParseResult r = Parse(EventKind.Read, ReadWith(member));
        Assert.Equal(ParseError.InvalidField, r.Error);
        Assert.Equal("duplicate member", r.Reason);
    }

    [Fact]
    public void NamesDifferingInCaseAreDifferentMembers() =>
        // JSON names are case-sensitive: an unknown member
        Assert.True(Parse(EventKind.Read, ReadWith("\"PLATE\":\"X1\"")).IsOk);

    [Theory]
    [InlineData(10, true)]
    [InlineData(60, true)]
    [InlineData(64, false)] // System.Text.Json's reader stops at depth 64: malformed_json, never a stack overflow
    [InlineData(5000, false)]
    public void DeepNestingIsSkippedOrRejectedAsMalformed(int depth, bool accepted)
    {
        string nested = new string('[', depth) + new string(']', depth);
        ParseResult r = Parse(EventKind.Read, ReadWith($"\"extra\":{nested}"));
        if (accepted) Assert.True(r.IsOk, r.Detail);
        else Assert.Equal(ParseError.MalformedJson, r.Error);
    }

    [Theory]
    [InlineData("confidence", "1e999999", ParseError.InvalidField)]
    [InlineData("confidence", "-1e-999999", ParseError.None)] // underflows to -0: in range
    [InlineData("lat", "123456789012345678901234567890", ParseError.InvalidField)]
    [InlineData("lon", "1E400", ParseError.InvalidField)]
    [InlineData("confidence", "NaN", ParseError.MalformedJson)]
    [InlineData("confidence", "Infinity", ParseError.MalformedJson)]
    [InlineData("confidence", "01", ParseError.MalformedJson)]
    public void HugeAndNonJsonNumbersAreRejected(string member, string number, ParseError expected)
    {
        var members = SampleEvents.ReadMembers.Select(m => m.Name == member ? (m.Name, number) : m);
        Assert.Equal(expected, Parse(EventKind.Read, SampleEvents.Json(members)).Error);
    }

    [Theory]
    // a raw NUL inside a string: JSON forbids control characters
    [InlineData("read_id", "\"a\u0000b\"", ParseError.MalformedJson)]
    // an escaped one in a plate: not a plate character
    [InlineData("plate", "\"7ABC\\u0000\"", ParseError.InvalidPlate)]
    // an escaped one in free text: valid JSON, kept escaped in every output
    [InlineData("camera_id", "\"cam\\u0000\"", ParseError.None)]
    public void NulBytes(string member, string value, ParseError expected)
    {
        var members = SampleEvents.ReadMembers.Select(m => m.Name == member ? (m.Name, value) : m);
        Assert.Equal(expected, Parse(EventKind.Read, SampleEvents.Json(members)).Error);
        Assert.Equal(ParseError.MalformedJson,
            Parse(EventKind.Read, "\0" + SampleEvents.Json(SampleEvents.ReadMembers)).Error);
    }

    [Theory]
    [InlineData(new byte[] { 0xC0, 0xAF })]             // '/' in two bytes
    [InlineData(new byte[] { 0xE0, 0x80, 0xAF })]       // in three
    [InlineData(new byte[] { 0xF0, 0x80, 0x80, 0xAF })] // in four
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]       // a UTF-16 surrogate
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // beyond U+10FFFF
    public void OverlongAndInvalidUtf8IsRejectedAsInvalidUtf8(byte[] bad)
    {
        foreach (string member in (string[])["read_id", "camera_id", "plate"])
        {
            string text = SampleEvents.Json(SampleEvents.ReadMembers);
            byte[] json = Encoding.UTF8.GetBytes(text);
            int at = Encoding.UTF8.GetBytes(
                text[..(text.IndexOf($"\"{member}\":\"", StringComparison.Ordinal) + member.Length + 4)]).Length;
            byte[] input = [.. json.AsSpan(0, at), .. bad, .. json.AsSpan(at)];
            ParseResult r = ParseRunner.Parse(s_parser, EventKind.Read, input);
            Assert.True(r.Error == ParseError.InvalidUtf8, $"{member}: {r.Error} {r.Detail}");
        }
    }

    [Fact]
    public void AnOversizedEventIsRejectedBeforeParsing()
    {
        var parser = new EventParser(SampleEvents.Agencies(), maxEventBytes: 1024);
        string padded = ReadWith($"\"pad\":\"{new string('x', 1024)}\"");
        Assert.Equal(ParseError.Oversized,
            ParseRunner.Parse(parser, EventKind.Read, Encoding.UTF8.GetBytes(padded)).Error);
        Assert.Equal(ParseError.Oversized,
            ParseRunner.Parse(parser, EventKind.Query, Encoding.UTF8.GetBytes(new string('[', 2000))).Error);
    }

    [Fact]
    public void APolicyWithADuplicateKeyOrAnAliasBombIsRefusedWithFileAndLine()
    {
        string dir = Path.GetDirectoryName(RepoFile("samples", "policy.yaml"))!;
        var duplicate =
            PolicyLoaderError("version: 1\nversion: 1\nagencies:\n  - {id: ca-lapd, state: CA, level: local}\n", dir);
        Assert.Contains("fuzz.yaml:", duplicate, StringComparison.Ordinal);
        var bomb = new StringBuilder("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 9; i++)
        {
            bomb.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, " +
                $"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }
        Assert.Contains("fuzz.yaml:", PolicyLoaderError(bomb.ToString(), dir), StringComparison.Ordinal);
    }

    private static string PolicyLoaderError(string yaml, string dir)
    {
        var e = Assert.Throws<PolicyException>(() => PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "fuzz.yaml", dir));
        return e.Message;
    }
}
