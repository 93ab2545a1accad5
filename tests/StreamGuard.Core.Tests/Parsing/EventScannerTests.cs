using System.Text;
using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Parsing.Scan;
using StreamGuard.Fuzzing;
using static StreamGuard.Tests.Support.SampleEvents;

namespace StreamGuard.Tests.Parsing;

/// <summary>
/// The parser's one-pass scanner against its Utf8JsonReader path: the scanner must take the common shapes (compact,
/// pretty-printed, strings across its 64-byte words, unknown members of every type) and, on every input, give the
/// result and the values the reader path gives. What it declines (escapes, nulls, exponents, repeats, control
/// characters in strings, long events) must go to the reader path and keep its exact rejection.
/// </summary>
public sealed class EventScannerTests
{
    private readonly EventParser _parser = new(Agencies());
    private readonly EventParser _reference = new(Agencies()) { ScannerEnabled = false };

    private const string PlainRead =
        "{\"read_id\":\"01JNR3Q8Z4K6W2X9\",\"camera_id\":\"lapd-cam-0421\",\"agency_id\":\"ca-lapd\"," +
        "\"plate\":\"7abc-12 3\",\"plate_state\":\"CA\",\"confidence\":0.97," +
        "\"observed_at\":\"2026-03-03T09:22:05.123-08:00\",\"lat\":34.05223,\"lon\":-118.24368," +
        "\"vehicle\":{\"make\":\"TOYOTA\",\"model\":\"CAMRY\",\"marks\":[[1,2.5e3,-0.0,0],{\"dent\":true," +
        "\"rust\":false},null,[]],\"none\":{}}," +
        "\"image_uri\":\"https://evidence.example/ca-lapd/01JNR3Q8Z4K6W2X9.jpg\"}";

    private const string PlainQuery =
        "{\"query_id\":\"q-2026-000187\",\"requester\":\"ca-lasd\",\"user\":\"d.ortiz\"," +
        "\"purpose\":\"stolen_vehicle\",\"case_number\":\"LASD-26-004411\"," +
        "\"reason\":\"Stolen vehicle report 26-004411\",\"plate\":\"7ABC123\"," +
        "\"from\":\"2026-02-01T00:00:00.5+01:00\",\"to\":\"2026-03-03T23:59:59Z\"," +
        "\"issued_at\":\"2026-03-03T18:00:00Z\",\"signature\":\"c2lnbmF0dXJl\"}";

    private const string PlainHotlist =
        "{\"hotlist_id\":\"hl-lasd-stolen\",\"owner\":\"ca-lasd\",\"plate\":\"8xyz 999\"," +
        "\"purpose\":\"stolen_vehicle\",\"case_number\":\"LASD-26-000123\"," +
        "\"expires_at\":\"2026-12-31T23:59:59+00:00\",\"meta\":{\"source\":[\"ncic\",{\"batch\":7}]}}";

    private const string PlainHold =
        "{\"hold_id\":\"hold-lapd-0042\",\"agency\":\"ca-lapd\",\"plate\":\"7ABC.123\"," +
        "\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-02-01T00:00:00Z\",\"kind\":\"warrant\"," +
        "\"case_number\":\"LAPD-26-77\",\"until\":\"2027-01-01T08:00:00.250-08:00\"}";

    private static readonly string[] s_plain = [PlainRead, PlainQuery, PlainHotlist, PlainHold];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PlainEventsAreScannedAndAccepted(int kind)
    {
        byte[] input = Encoding.UTF8.GetBytes(s_plain[kind]);
        (ParseResult result, string values) = Parse(_parser, kind, input);
        Assert.True(result.IsOk, result.Detail);
        Assert.True(_parser.LastScanned, "a compact event without escapes must not need Utf8JsonReader");
        Assert.Equal(Parse(_reference, kind, input), (result, values));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PrettyPrintedEventsAreScanned(int kind)
    {
        // Whitespace of every kind between tokens; none inside strings.
        string pretty = s_plain[kind].Replace(",\"", ",\r\n\t \"").Replace("\":", "\" :\t").Replace("{", "{\n  ")
            .Replace("}", "\n}") + "\r\n";
        byte[] input = Encoding.UTF8.GetBytes(pretty);
        (ParseResult result, string values) = Parse(_parser, kind, input);
        Assert.True(result.IsOk, result.Detail);
        Assert.True(_parser.LastScanned);
        Assert.Equal(Parse(_reference, kind, input), (result, values));
    }

    [Fact]
    public void StringsAcrossEveryWordBoundaryAreFoundWhole()
    {
        // An unknown member of growing length shifts every later string across the 64-byte words of the quote bitmap.
        for (int pad = 0; pad < 130; pad++)
        {
            string read = PlainRead.Replace("{\"read_id\"", "{\"pad\":\"" + new string('x', pad) + "\",\"read_id\"");
            byte[] input = Encoding.UTF8.GetBytes(read);
            (ParseResult result, string values) = Parse(_parser, 0, input);
            Assert.True(result.IsOk, $"pad {pad}: {result.Detail}");
            Assert.True(_parser.LastScanned, $"pad {pad}");
            Assert.Equal(Parse(_reference, 0, input), (result, values));
            Assert.Equal("01JNR3Q8Z4K6W2X9", Encoding.UTF8.GetString(_parser.Text(ReadOf(_parser, input).ReadId)));
        }
    }

    [Fact]
    public void ANameOneByteOffTheLearntLayoutIsNotTakenForIt()
    {
        // The scanner predicts each member name from the last event of the kind by comparing the bytes "name": as two
        // words. A name that differs in any one byte, at any place, must be looked up instead (and agree with the
        // reader).
        for (int kind = 0; kind < 4; kind++)
        {
            string plain = s_plain[kind];
            byte[] plainBytes = Encoding.UTF8.GetBytes(plain);
            var names = System.Text.RegularExpressions.Regex.Matches(plain, "\"([a-z_]+)\":");
            foreach (System.Text.RegularExpressions.Match name in names)
            {
                for (int k = 0; k < name.Groups[1].Length; k++)
                {
                    AssertAgrees(kind, plainBytes); // learnt
                    byte[] input = (byte[])plainBytes.Clone();
                    input[name.Groups[1].Index + k] = (byte)'X';
                    AssertAgrees(kind, input);
                    Assert.True(_parser.LastScanned, $"{name.Value} byte {k}");
                }
            }
            // Whitespace before a colon, a reordered event, then the learnt layout again.
            AssertAgrees(kind, plainBytes);
            AssertAgrees(kind, Encoding.UTF8.GetBytes(plain.Replace("\":", "\" :", StringComparison.Ordinal)));
            Assert.True(_parser.LastScanned);
            AssertAgrees(kind, plainBytes);
            Assert.True(_parser.LastScanned);
        }
    }

    [Fact]
    public void DecimalsOfEveryDigitSplitReadAlikeInTheMiddleAndAtTheEnd()
    {
        // Every split of integer and fraction digits (past the 15-digit limit too), signs and leading zeros, in the
        // middle of an event and as its last value, must give the reader's result and value (and be scanned when
        // plain).
        const string head =
            """{"read_id":"r1","agency_id":"ca-lapd","plate":"7ABC123","observed_at":"2026-03-03T17:22:05Z",""";
        var random = new Random(815);
        for (int whole = 1; whole <= 17; whole++)
        {
            for (int fraction = 0; fraction <= 17; fraction++)
            {
                for (int sample = 0; sample < 4; sample++)
                {
                    var number = new StringBuilder(sample % 2 == 0 ? "" : "-");
                    number.Append((char)('1' + random.Next(9)));
                    for (int k = 1; k < whole; k++) number.Append((char)('0' + random.Next(10)));
                    if (fraction > 0) number.Append('.');
                    for (int k = 0; k < fraction; k++) number.Append((char)('0' + random.Next(10)));
                    string n = sample == 3 ? "0" + number.ToString()[1..] : number.ToString(); // "0" and "05…"
                    bool plain = whole + fraction <= 15 && !n.StartsWith('0'); // a leading zero is not JSON
                    foreach (string read in (string[])[
                        $$"""{{head}}"lat":{{n}},"image_uri":"x"}""",
                        $$"""{{head}}"lon":{{n}}}""",
                        $$"""{{head}}"confidence":{{n}} }"""])
                    {
                        byte[] input = Encoding.UTF8.GetBytes(read);
                        AssertAgrees(0, input);
                        Assert.True(_parser.LastScanned == plain, $"{n}: scanned {_parser.LastScanned}");
                    }
                }
            }
        }
    }

    [Fact]
    public void UnknownObjectsOfCompactStringsAreSkippedAndEveryOtherShapeAgrees()
    {
        // The walk skips an unknown object of compact string members from quote to quote; every other shape must
        // fall to the general skip (or the reader) with the same result, wherever the object stands across the
        // 64-byte words.
        string[] scanned =
        [
            """{"make":"TOYOTA"}""", """{"make":"TOYOTA","model":"CAMRY","color":"SILVER","type":"SEDAN"}""",
            """{"":""}""",
            """{"a":"","b":"x"}""", """{ "make":"TOYOTA"}""", """{"make": "TOYOTA"}""", """{"make":"TOYOTA" }""",
            """{"make" :"TOYOTA"}""", """{"make":"TOYOTA" ,"model":"CAMRY"}""",
            """{"make":"TOYOTA", "model":"CAMRY"}""",
            """{"make":"TOYOTA","year":2019}""", """{"make":"TOYOTA","n":{"a":"b"}}""",
            """{"n":{"a":"b"},"make":"TOYOTA"}""",
            """{"make":"TOYOTA","m":["a"]}""", """{"make":"TOYOTA","t":true}""", """{}""",
        ];
        string[] broken =
        [
            """{"make":"TOYOTA",}""", """{"make""TOYOTA"}""", """{"make","TOYOTA"}""", """{"make":"TOYOTA":"x"}""",
            """{"make":"TOYOTA"]""", """{"make":"TOYOTA"}}""", """{"make":"TOYOTA""model":"CAMRY"}""",
            """{"make":"TOYOTA",,"model":"CAMRY"}""",
            """{"make":"TOYOTA";"model":"CAMRY"}""", """{"make":}""", """{"make"}""", """{:"TOYOTA"}""",
            """{"make":"TOYOTA",""",
        ];
        for (int pad = 0; pad < 70; pad++)
        {
            foreach ((string[] values, bool ok) in ((string[], bool)[])[(scanned, true), (broken, false)])
            {
                foreach (string vehicle in values)
                {
                    foreach (bool last in (bool[])[false, true])
                    {
                        string read = "{\"pad\":\"" + new string('x', pad) +
                            "\",\"read_id\":\"r1\",\"agency_id\":\"ca-lapd\",\"plate\":\"7ABC123\"," +
                            "\"observed_at\":\"2026-03-03T17:22:05Z\"" +
                            (last
                                ? ",\"vehicle\":" + vehicle + "}"
                                : ",\"vehicle\":" + vehicle + ",\"image_uri\":\"https://e.example/x.jpg\"}");
                        byte[] input = Encoding.UTF8.GetBytes(read);
                        AssertAgrees(0, input);
                        (ParseResult result, _) = Parse(_parser, 0, input);
                        Assert.True(result.IsOk == ok, $"pad {pad}, {vehicle}: {result.Reason}");
                        Assert.True(_parser.LastScanned == ok, $"pad {pad}, {vehicle}: scanned {_parser.LastScanned}");
                    }
                }
            }
        }
    }

    [Fact]
    public void TheLastPartialWordIsClassifiedAtEveryLength()
    {
        // The last partial word of the quote bitmap is read as the 64 bytes that end the event (overlapping the word
        // before) or, under 64 bytes, from a padded copy: at every length, a tab or a backslash in the last member's
        // string must be seen (the reader decides), and whitespace after the closing brace must not stop the scanner.
        for (int pad = 0; pad < 140; pad++)
        {
            string read = "{\"pad\":\"" + new string('x', pad) +
                "\",\"read_id\":\"r1\",\"agency_id\":\"ca-lapd\",\"plate\":\"7ABC123\"," +
                "\"observed_at\":\"2026-03-03T17:22:05Z\",\"image_uri\":\"https://e.example/x.jpg\"}";
            byte[] plain = Encoding.UTF8.GetBytes(read);
            (ParseResult ok, _) = Parse(_parser, 0, plain);
            Assert.True(ok.IsOk && _parser.LastScanned, $"pad {pad}");
            foreach (string trailer in (string[])[" ", "\n", " \t\r\n"])
            {
                byte[] spaced = Encoding.UTF8.GetBytes(read + trailer);
                AssertAgrees(0, spaced);
                Assert.True(_parser.LastScanned, $"pad {pad}, trailing whitespace");
            }
            int uri = read.LastIndexOf("https", StringComparison.Ordinal);
            for (int at = uri; at < read.Length - 2; at++)
            {
                foreach (byte special in (byte[])[(byte)'\t', (byte)'\\', 0x01])
                {
                    byte[] input = (byte[])plain.Clone();
                    input[at] = special;
                    AssertAgrees(0, input);
                    Assert.False(_parser.LastScanned, $"pad {pad}, byte {special} at {at} of {input.Length}");
                }
            }
        }
    }

    [Theory]
    // an escape in a known member
    [InlineData("\"read_id\":\"01JNR3Q8Z4K6W2X9\"", "\"read_id\":\"01JNR3Q8Z4K6\\u0057\"", true)]
    // an escape in an unknown member
    [InlineData("\"make\":\"TOYOTA\"", "\"make\":\"TOYOTA \\\"GR\\\"\"", true)]
    // a null known member
    [InlineData("\"plate_state\":\"CA\"", "\"plate_state\":null", true)]
    // an exponent
    [InlineData("\"confidence\":0.97", "\"confidence\":9.7e-1", true)]
    // more than 15 digits
    [InlineData("\"lat\":34.05223", "\"lat\":34.052230000000000001", true)]
    // a leading zero
    [InlineData("\"lat\":34.05223", "\"lat\":034.05223", false)]
    // no fraction digits
    [InlineData("\"lat\":34.05223", "\"lat\":34.", false)]
    // a tab inside a string
    [InlineData("\"camera_id\":\"lapd-cam-0421\"", "\"camera_id\":\"lapd-cam\t0421\"", false)]
    // a control character inside a string
    [InlineData("\"camera_id\":\"lapd-cam-0421\"", "\"camera_id\":\"lapd-cam\u00010421\"", false)]
    // a repeated member
    [InlineData("\"plate_state\":\"CA\"", "\"plate_state\":\"CA\",\"plate_state\":\"NV\"", false)]
    // a string for a number
    [InlineData("\"confidence\":0.97", "\"confidence\":\"0.97\"", false)]
    // a number for a string
    [InlineData("\"read_id\":\"01JNR3Q8Z4K6W2X9\"", "\"read_id\":01", false)]
    // a broken literal
    [InlineData("\"rust\":false", "\"rust\":fals", false)]
    // a broken object
    [InlineData("\"none\":{}", "\"none\":{,}", false)]
    // a broken array
    [InlineData("[]]", "[,]]", false)]
    // a missing colon
    [InlineData("\"image_uri\":", "\"image_uri\" ", false)]
    public void WhatTheScannerDeclinesTheReaderDecides(string find, string replace, bool accepted)
    {
        Assert.Contains(find, PlainRead, StringComparison.Ordinal);
        byte[] input = Encoding.UTF8.GetBytes(PlainRead.Replace(find, replace, StringComparison.Ordinal));
        (ParseResult result, string values) = Parse(_parser, 0, input);
        Assert.False(_parser.LastScanned, "the scanner must decline this input");
        Assert.Equal(accepted, result.IsOk);
        Assert.Equal(Parse(_reference, 0, input), (result, values));
    }

    [Theory]
    [InlineData("", "malformed_json")]
    [InlineData("{", "malformed_json")]
    [InlineData("{}", "missing_field")]
    [InlineData("{} {}", "malformed_json")]
    [InlineData("[]", "malformed_json")]
    [InlineData(" {\"read_id\":\"r\"", "malformed_json")]
    [InlineData("{\"read_id\":\"r}", "malformed_json")]
    public void TruncatedAndEmptyInputKeepItsCode(string json, string code)
    {
        byte[] input = Encoding.UTF8.GetBytes(json);
        (ParseResult result, string values) = Parse(_parser, 0, input);
        Assert.Equal(code, ParseErrorCodes.Code(result.Error));
        Assert.Equal(Parse(_reference, 0, input), (result, values));
    }

    [Fact]
    public void EveryPrefixAndEveryByteFlipAgreesWithTheReader()
    {
        var random = new Random(9);
        const string Bytes = "{}[]\":, \t\n\r0123456789.-+eEtrufalsn\\\u0001\u001F\u007F\u0080\u00C3\u00FFx";
        for (int kind = 0; kind < 4; kind++)
        {
            byte[] plain = Encoding.UTF8.GetBytes(s_plain[kind]);
            for (int n = 0; n <= plain.Length; n++) AssertAgrees(kind, plain[..n]);
            for (int i = 0; i < 5_000; i++)
            {
                byte[] input = (byte[])plain.Clone();
                int at = random.Next(input.Length);
                input[at] = (byte)Bytes[random.Next(Bytes.Length)];
                AssertAgrees(kind, input);
            }
        }
    }

    [Fact]
    public void RandomValidEventsAreScannedAndAgree()
    {
        // Known members in random order, unknown members of every JSON type between them, random whitespace.
        var random = new Random(26);
        string[] unknown =
        [
            "1", "-0.5", "2.5E+3", "true", "false", "null", "\"plain text\"", "[]", "{}", "[1,[2,[3]],{\"a\":null}]",
            "{\"x\":{\"y\":[true,\"z\"]}}",
        ];
        (string Name, string Value)[][] members =
        [
            [
                ("read_id", "\"r-1\""), ("camera_id", "\"cam-9\""), ("agency_id", "\"ca-lasd\""),
                ("plate", "\"ab 12\""), ("observed_at", "\"2026-03-03T09:22:05Z\""), ("confidence", "1"),
                ("lat", "-90"), ("lon", "179.99999"),
            ],
            [
                ("query_id", "\"q\""), ("requester", "\"us-ice-ero\""), ("user", "\"u\""), ("purpose", "\"warrant\""),
                ("plate", "\"Z9\""), ("issued_at", "\"2026-03-03T18:00:00+05:30\""), ("reason", "\"\""),
            ],
            [("hotlist_id", "\"h\""), ("owner", "\"ca-lapd\""), ("plate", "\"X\""), ("purpose", "\"amber_alert\"")],
            [
                ("hold_id", "\"d\""), ("agency", "\"ca-lapd\""), ("kind", "\"preservation\""),
                ("until", "\"2030-01-01T00:00:00Z\""),
            ],
        ];
        for (int i = 0; i < 4_000; i++)
        {
            int kind = i % 4;
            var parts = members[kind].OrderBy(_ => random.Next()).Select(m => (m.Name, m.Value)).ToList();
            for (int u = random.Next(4); u > 0; u--)
            {
                parts.Insert(random.Next(parts.Count + 1), ("x" + u, unknown[random.Next(unknown.Length)]));
            }
            var sb = new StringBuilder();
            sb.Append(Space(random)).Append('{');
            for (int p = 0; p < parts.Count; p++)
            {
                if (p > 0) sb.Append(Space(random)).Append(',');
                sb.Append(Space(random)).Append('"').Append(parts[p].Name).Append('"')
                    .Append(Space(random)).Append(':').Append(Space(random)).Append(parts[p].Value);
            }
            sb.Append(Space(random)).Append('}').Append(Space(random));
            byte[] input = Encoding.UTF8.GetBytes(sb.ToString());
            (ParseResult result, _) = Parse(_parser, kind, input);
            Assert.True(result.IsOk, $"{result.Detail}: {sb}");
            Assert.True(_parser.LastScanned, sb.ToString());
            AssertAgrees(kind, input);
        }
    }

    [Fact]
    public void NonAsciiTextIsScannedAndInvalidUtf8KeepsItsCode()
    {
        const string nonAscii = "Véhicule volé — 盗難車 🚗";
        byte[] input =
            Encoding.UTF8.GetBytes(PlainQuery.Replace("Stolen vehicle report", nonAscii, StringComparison.Ordinal));
        (ParseResult result, string values) = Parse(_parser, 1, input);
        Assert.True(result.IsOk, result.Detail);
        Assert.True(_parser.LastScanned, "valid UTF-8 beyond ASCII is checked whole, then scanned");
        Assert.Equal(Parse(_reference, 1, input), (result, values));

        byte[] bad = Inject(PlainQuery, "Stolen", 0xC3, 0x28); // a lead byte without its continuation
        (result, values) = Parse(_parser, 1, bad);
        Assert.Equal("invalid_utf8", ParseErrorCodes.Code(result.Error));
        Assert.Equal(Parse(_reference, 1, bad), (result, values));
    }

    [Theory]
    [InlineData(15, true)]
    [InlineData(16, true)]
    [InlineData(17, false)]
    [InlineData(70, false)]
    public void NestingIsScannedToItsDepthLimit(int depth, bool scanned)
    {
        string nested = new string('[', depth) + "-0" + new string(']', depth);
        byte[] input = Encoding.UTF8.GetBytes(
            PlainRead.Replace("\"image_uri\":", "\"deep\":" + nested + ",\"image_uri\":", StringComparison.Ordinal));
        (ParseResult result, string values) = Parse(_parser, 0, input);
        Assert.Equal(scanned, _parser.LastScanned);
        Assert.Equal(depth < 64, result.IsOk); // Utf8JsonReader's own limit is 64 levels
        Assert.Equal(Parse(_reference, 0, input), (result, values));
    }

    [Theory]
    [InlineData(EventScanner.MaxBytes - 1, true)]
    [InlineData(EventScanner.MaxBytes, true)]
    [InlineData(EventScanner.MaxBytes + 1, false)]
    public void TheScannerTakesEventsUpToItsSize(int size, bool scanned)
    {
        string padded = PlainRead.Replace("{\"read_id\"", "{\"pad\":\"\",\"read_id\"", StringComparison.Ordinal);
        padded = padded.Replace("\"pad\":\"\"", "\"pad\":\"" + new string('p', size - padded.Length) + "\"",
            StringComparison.Ordinal);
        byte[] input = Encoding.UTF8.GetBytes(padded);
        Assert.Equal(size, input.Length);
        (ParseResult result, string values) = Parse(_parser, 0, input);
        Assert.True(result.IsOk, result.Detail);
        Assert.Equal(scanned, _parser.LastScanned);
        Assert.Equal(Parse(_reference, 0, input), (result, values));
    }

    [Fact]
    public void NegativeZeroAndTheLongestPlainDecimalsReadAlike()
    {
        foreach (string lat in
            (string[])["-0", "-0.0", "0", "12.3456789012345", "-1.23456789012345", "12.34567890123456"])
        {
            byte[] input = Encoding.UTF8.GetBytes(
                PlainRead.Replace("\"lat\":34.05223", "\"lat\":" + lat, StringComparison.Ordinal));
            (ParseResult result, string values) = Parse(_parser, 0, input);
            Assert.True(result.IsOk, result.Detail);
            Assert.Equal(
                lat.Replace("-", "", StringComparison.Ordinal).Replace(".", "", StringComparison.Ordinal).Length <= 15,
                _parser.LastScanned);
            // values compare the doubles' bits: -0 stays -0
            Assert.Equal(Parse(_reference, 0, input), (result, values));
        }
    }

    [Fact]
    public void MemberNamesAlikeInLengthAndEndsAreStillFound()
    {
        // No multiplier separates names with the same length, first and last byte: the table falls back to comparing.
        var names = new MemberNames(["axb", "ayb", "plate"]);
        Assert.Equal(0, names.Find("axb"u8));
        Assert.Equal(1, names.Find("ayb"u8));
        Assert.Equal(2, names.Find("plate"u8));
        Assert.Equal(-1, names.Find("azb"u8));
        Assert.Equal(-1, names.Find(""u8));
    }

    [Fact]
    public void LongEventsGoToTheReader()
    {
        string notes = "\"notes\":\"" + new string('n', EventScanner.MaxBytes) + "\",";
        string read = PlainRead.Replace("\"vehicle\"", notes + "\"vehicle\"");
        byte[] input = Encoding.UTF8.GetBytes(read);
        (ParseResult result, _) = Parse(_parser, 0, input);
        Assert.True(result.IsOk, result.Detail);
        Assert.False(_parser.LastScanned);
        AssertAgrees(0, input);
    }

    private static string Space(Random random) => random.Next(3) switch
    {
        0 => "",
        1 => " ",
        _ => new[] { "\t", "\n", "\r\n", "  " }[random.Next(4)],
    };

    private void AssertAgrees(int kind, byte[] input) =>
        Assert.True(Parse(_parser, kind, input) == Parse(_reference, kind, input),
            $"scanner and reader differ on: {Printable(input)}");

    private static PlateRead ReadOf(EventParser parser, byte[] input)
    {
        parser.ParseRead(input, out PlateRead read);
        return read;
    }

    private static (ParseResult, string) Parse(EventParser p, int kind, byte[] input) =>
        HostileInputFuzzer.Describe(p, kind, input);
}
