using System.Buffers;
using System.Globalization;
using System.Text;
using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Tests.Support;
using StreamGuard.Text;
using static StreamGuard.Tests.Support.SampleEvents;

namespace StreamGuard.Tests.Parsing;

/// <summary>
/// The input contract of SPEC §2 and the dead-letter codes of SPEC §6, as the parser enforces them: every member
/// of a valid event, one rejection per code and event type, every prefix, one byte per segment, and a seeded fuzz.
/// </summary>
public sealed class EventParserTests
{
    private const string Duplicate = "duplicate member";

    private readonly EventParser _parser = new(Agencies());

    private static long Ms(int year, int month, int day, int hour, int minute, int second, int millisecond = 0) =>
        new DateTimeOffset(year, month, day, hour, minute, second, millisecond, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private string Text(Utf8Range range) => Encoding.UTF8.GetString(_parser.Text(range));

    private static int AgencyIndex(string id) => Array.IndexOf(AgencyIds, id);

    private static void AssertRejected(ParseResult result, ParseError error, string? field, string input)
    {
        Assert.False(result.IsOk, $"accepted: {input}");
        Assert.True(result.Error == error,
            $"expected {error} ({field}) but got {result.Error} ({result.Field}: {result.Reason}) for: {input}");
        Assert.Equal(field, result.Field);
        Assert.False(string.IsNullOrEmpty(result.Reason));
        Assert.NotEqual("none", ParseErrorCodes.Code(result.Error));
    }

    // ---- valid events ------------------------------------------------------------------------

    [Fact]
    public void ParseReadExtractsEveryMemberAndSkipsUnknownOnes()
    {
        ParseResult result = _parser.ParseRead(Utf8(ReadMembers), out PlateRead read);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal("01JNR3Q8Z4K6W2X9", Text(read.ReadId));
        Assert.Equal("lapd-cam-0421", Encoding.UTF8.GetString(_parser.Cameras.NameOf(read.Camera)));
        Assert.Equal(AgencyIndex("ca-lapd"), read.Owner);
        Assert.Equal("7ABC123", Plate.ToText(read.Plate));
        Assert.Equal("CA", Text(read.PlateState));
        Assert.Equal(0.97, read.Confidence);
        Assert.Equal(Ms(2026, 3, 3, 17, 22, 5, 123), read.ObservedAtMs);
        Assert.Equal(34.05223, read.Lat);
        Assert.Equal(-118.24368, read.Lon);
    }

    [Fact]
    public void ParseReadWithOnlyRequiredMembersLeavesOptionalOnesAbsent()
    {
        byte[] json = Utf8(
        [
            ("observed_at", "\"2026-03-03T17:22:05Z\""), ("plate", "\"ab 1\""), ("agency_id", "\"il-chicago-pd\""),
            ("read_id", "\"r\""),
        ]);

        ParseResult result = _parser.ParseRead(json, out PlateRead read);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal("r", Text(read.ReadId));
        Assert.Equal(-1, read.Camera);
        Assert.Equal(AgencyIndex("il-chicago-pd"), read.Owner);
        Assert.Equal("AB1", Plate.ToText(read.Plate));
        Assert.Equal(Ms(2026, 3, 3, 17, 22, 5), read.ObservedAtMs);
        Assert.True(read.PlateState.IsEmpty);
        Assert.True(double.IsNaN(read.Confidence));
        Assert.True(double.IsNaN(read.Lat));
        Assert.True(double.IsNaN(read.Lon));
    }

    [Fact]
    public void ParseReadTreatsNullOptionalMembersAsAbsent()
    {
        byte[] json = Utf8(With(With(With(With(ReadMembers,
            "camera_id", "null"), "confidence", "null"), "lat", "null"), "plate_state", "null"));

        ParseResult result = _parser.ParseRead(json, out PlateRead read);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal(-1, read.Camera);
        Assert.True(read.PlateState.IsEmpty);
        Assert.True(double.IsNaN(read.Confidence));
        Assert.True(double.IsNaN(read.Lat));
        Assert.Equal(-118.24368, read.Lon);
    }

    [Fact]
    public void ParseReadUnescapesStringValuesAndMemberNames()
    {
        byte[] json = Utf8(With(With(Without(ReadMembers, "read_id"),
            "plate", "\"7abc\\u0031\\u00323\""), "read\\u005fid", "\"a\\/b\\u00e9\\\"c\""));

        ParseResult result = _parser.ParseRead(json, out PlateRead read);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal("a/b\u00e9\"c", Text(read.ReadId));
        Assert.Equal("7ABC123", Plate.ToText(read.Plate));
    }

    [Fact]
    public void ParseReadAcceptsWhitespaceAroundTheObjectAndBetweenTokens()
    {
        string json = " \t\r\n{ \"read_id\" : \"r1\" ,\n\"agency_id\":\"ca-lapd\",\r\n\"plate\":\"7ABC123\" , " +
            "\"observed_at\" :\"2026-03-03T17:22:05Z\" }\r\n\t ";

        Assert.Equal(ParseResult.Ok, _parser.ParseRead(Encoding.UTF8.GetBytes(json), out _));
    }

    [Theory]
    [InlineData("confidence", "0")]
    [InlineData("confidence", "1")]
    [InlineData("confidence", "1.0e0")]
    [InlineData("lat", "90")]
    [InlineData("lat", "-90")]
    [InlineData("lon", "180")]
    [InlineData("lon", "-180.0")]
    [InlineData("plate", "\"AB CD-EF.GH 12\"")]
    [InlineData("read_id", "\"0123456789012345678901234567890123456789012345678901234567890123\"")]
    [InlineData("camera_id", "\"\"")]
    public void ParseReadAcceptsBoundaryValues(string member, string value)
    {
        Assert.Equal(ParseResult.Ok, _parser.ParseRead(Utf8(With(ReadMembers, member, value)), out _));
    }

    [Fact]
    public void ParseReadInternsCameraIdsToStableSmallIntegers()
    {
        var ids = new int[6];
        string[] cameras = ["cam-a", "cam-b", "cam-a", "cam-c", "cam-b", "cam-a"];
        for (int i = 0; i < cameras.Length; i++)
        {
            Assert.True(
                _parser.ParseRead(Utf8(With(ReadMembers, "camera_id", $"\"{cameras[i]}\"")), out PlateRead read).IsOk);
            ids[i] = read.Camera;
        }

        Assert.Equal([0, 1, 0, 2, 1, 0], ids);
        Assert.Equal(3, _parser.Cameras.Count);
    }

    [Fact]
    public void NewCameraBeyondTheInternerCapacityNeverGetsAnIdAndKnownCamerasStillParse()
    {
        // SPEC is silent on a full camera table: rejecting the read (invalid_field camera_id) or accepting it
        // without a camera id are both defensible; an id beyond the capacity, or an exception, is not.
        var parser = new EventParser(Agencies(), new Utf8Interner(capacity: 2));
        Assert.True(parser.ParseRead(Utf8(With(ReadMembers, "camera_id", "\"cam-a\"")), out _).IsOk);
        Assert.True(parser.ParseRead(Utf8(With(ReadMembers, "camera_id", "\"cam-b\"")), out _).IsOk);

        ParseResult beyond = parser.ParseRead(Utf8(With(ReadMembers, "camera_id", "\"cam-c\"")), out PlateRead third);

        Assert.True(beyond.IsOk ? third.Camera == -1 : beyond is { Error: ParseError.InvalidField, Field: "camera_id" },
            $"{beyond} camera {third.Camera}");
        Assert.Equal(2, parser.Cameras.Count);
        Assert.True(parser.ParseRead(Utf8(With(ReadMembers, "camera_id", "\"cam-a\"")), out PlateRead read).IsOk);
        Assert.Equal(0, read.Camera);
    }

    [Fact]
    public void ParseQueryExtractsEveryMemberAndSkipsUnknownOnes()
    {
        ParseResult result = _parser.ParseQuery(Utf8(QueryMembers), out Query q);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal("q-2026-000187", Text(q.QueryId));
        Assert.Equal(AgencyIndex("ca-lasd"), q.Requester);
        Assert.Equal("ca-lasd", Text(q.RequesterText));
        Assert.Equal("d.ortiz", Text(q.User));
        Assert.Equal(Purpose.StolenVehicle, q.Purpose);
        Assert.Equal("stolen_vehicle", Text(q.PurposeText));
        Assert.Equal("LASD-26-004411", Text(q.CaseNumber));
        Assert.Equal("Stolen vehicle report 26-004411 \"grey\" Camry", Text(q.Reason));
        Assert.Equal("7ABC123", Plate.ToText(q.Plate));
        Assert.Equal("7ABC123", Text(q.PlateText));
        Assert.Equal(Ms(2026, 1, 31, 23, 0, 0, 500), q.FromMs);
        Assert.Equal(Ms(2026, 3, 3, 23, 59, 59, 123), q.ToMs);
        Assert.Equal("2026-02-01T00:00:00.5+01:00", Text(q.FromText));
        Assert.Equal("2026-03-03T23:59:59.123456789Z", Text(q.ToText));
        Assert.Equal(Ms(2026, 3, 3, 18, 0, 0), q.IssuedAtMs);
        Assert.Equal("2026-03-03T18:00:00Z", Text(q.IssuedAtText));
        Assert.Equal("c2lnbmF0dXJlLWJ5dGVzLWhlcmU=", Text(q.Signature));
    }

    [Fact]
    public void ParseQueryWithoutWindowUsesTheWidestWindow()
    {
        ParseResult result = _parser.ParseQuery(
            Utf8(Without(Without(Without(Without(Without(QueryMembers, "from"), "to"), "case_number"), "reason"),
                "signature")),
            out Query q);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal(long.MinValue, q.FromMs);
        Assert.Equal(long.MaxValue, q.ToMs);
        Assert.True(q.FromText.IsEmpty);
        Assert.True(q.ToText.IsEmpty);
        Assert.True(q.CaseNumber.IsEmpty);
        Assert.True(q.Reason.IsEmpty);
        Assert.True(q.Signature.IsEmpty);
    }

    [Fact]
    public void ParseQueryKeepsAnUnknownRequesterForTheEngineToDeny()
    {
        ParseResult result = _parser.ParseQuery(Utf8(With(QueryMembers, "requester", "\"us-nobody\"")), out Query q);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal(-1, q.Requester);
        Assert.Equal("us-nobody", Text(q.RequesterText));
    }

    [Theory]
    [InlineData("criminal_investigation", Purpose.CriminalInvestigation)]
    [InlineData("stolen_vehicle", Purpose.StolenVehicle)]
    [InlineData("missing_person", Purpose.MissingPerson)]
    [InlineData("amber_alert", Purpose.AmberAlert)]
    [InlineData("human_trafficking", Purpose.HumanTrafficking)]
    [InlineData("warrant", Purpose.Warrant)]
    [InlineData("immigration_enforcement", Purpose.ImmigrationEnforcement)]
    [InlineData("reproductive_health", Purpose.ReproductiveHealth)]
    [InlineData("gender_affirming_care", Purpose.GenderAffirmingCare)]
    [InlineData("civil_enforcement", Purpose.CivilEnforcement)]
    [InlineData("other", Purpose.Other)]
    public void ParseQueryAcceptsEveryPurposeOfTheClosedSet(string name, Purpose expected)
    {
        Assert.Equal(ParseResult.Ok,
            _parser.ParseQuery(Utf8(With(QueryMembers, "purpose", $"\"{name}\"")), out Query q));
        Assert.Equal(expected, q.Purpose);
        Assert.Equal(ParseResult.Ok,
            _parser.ParseHotlist(Utf8(With(HotlistMembers, "purpose", $"\"{name}\"")), out HotlistEntry h));
        Assert.Equal(expected, h.Purpose);
    }

    [Fact]
    public void ParseHotlistExtractsEveryMemberAndSkipsUnknownOnes()
    {
        ParseResult result = _parser.ParseHotlist(Utf8(HotlistMembers), out HotlistEntry entry);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal("hl-lasd-stolen", Text(entry.HotlistId));
        Assert.Equal(AgencyIndex("ca-lasd"), entry.Owner);
        Assert.Equal("8XYZ999", Plate.ToText(entry.Plate));
        Assert.Equal(Purpose.StolenVehicle, entry.Purpose);
        Assert.Equal("LASD-26-000123", Text(entry.CaseNumber));
        Assert.Equal(Ms(2026, 12, 31, 23, 59, 59), entry.ExpiresAtMs);
    }

    [Fact]
    public void ParseHotlistWithoutExpiryNeverExpires()
    {
        byte[] json = Utf8(Without(Without(HotlistMembers, "expires_at"), "case_number"));
        Assert.Equal(ParseResult.Ok, _parser.ParseHotlist(json, out HotlistEntry entry));
        Assert.Equal(long.MaxValue, entry.ExpiresAtMs);
        Assert.True(entry.CaseNumber.IsEmpty);
    }

    [Fact]
    public void ParseHoldExtractsEveryMemberAndSkipsUnknownOnes()
    {
        ParseResult result = _parser.ParseHold(Utf8(HoldMembers), out Hold hold);

        Assert.Equal(ParseResult.Ok, result);
        Assert.Equal("hold-lapd-0042", Text(hold.HoldId));
        Assert.Equal(AgencyIndex("ca-lapd"), hold.Agency);
        Assert.Equal("7ABC123", Plate.ToText(hold.Plate));
        Assert.Equal(Ms(2026, 1, 1, 0, 0, 0), hold.FromMs);
        Assert.Equal(Ms(2026, 2, 1, 0, 0, 0), hold.ToMs);
        Assert.Equal(HoldKind.Warrant, hold.Kind);
        Assert.Equal("LAPD-26-77", Text(hold.CaseNumber));
        Assert.Equal(Ms(2027, 1, 1, 16, 0, 0, 250), hold.UntilMs);
    }

    [Fact]
    public void ParseHoldWithoutPlateOrWindowCoversEveryPlateAtAnyTime()
    {
        Assert.Equal(ParseResult.Ok,
            _parser.ParseHold(Utf8(Without(Without(Without(HoldMembers, "plate"), "from"), "to")), out Hold hold));
        Assert.Equal(0UL, hold.Plate);
        Assert.Equal(long.MinValue, hold.FromMs);
        Assert.Equal(long.MaxValue, hold.ToMs);
    }

    [Theory]
    [InlineData("investigation", nameof(HoldKind.Investigation))]
    [InlineData("preservation", nameof(HoldKind.Preservation))]
    [InlineData("warrant", nameof(HoldKind.Warrant))]
    public void ParseHoldAcceptsEveryKind(string name, string kind)
    {
        HoldKind expected = Enum.Parse<HoldKind>(kind);
        Assert.Equal(ParseResult.Ok, _parser.ParseHold(Utf8(With(HoldMembers, "kind", $"\"{name}\"")), out Hold hold));
        Assert.Equal(expected, hold.Kind);
    }

    [Fact]
    public void TextOfAnEarlierEventIsNotCorruptedByParsingWithinTheSameEvent()
    {
        // Every string member of one event gets its own scratch range.
        Assert.True(_parser.ParseQuery(Utf8(QueryMembers), out Query q).IsOk);
        string joined = string.Join('|',
            Text(q.QueryId), Text(q.RequesterText), Text(q.User), Text(q.PurposeText), Text(q.Signature));
        Assert.Equal("q-2026-000187|ca-lasd|d.ortiz|stolen_vehicle|c2lnbmF0dXJlLWJ5dGVzLWhlcmU=", joined);
    }

    // ---- malformed_json ----------------------------------------------------------------------

    public static TheoryData<string> MalformedInputs => new()
    {
        "",
        "   ",
        "[]",
        "[{}]",
        "\"read\"",
        "42",
        "null",
        "true",
        "{",
        "}",
        "{\"plate\"",
        "{\"plate\":",
        "{\"plate\":}",
        "{\"plate\":\"7ABC",
        "{\"plate\":\"7ABC\"",
        "{\"plate\":\"7ABC\",",
        "{\"plate\":\"7ABC\",}",
        "{\"x\":[1,2}",
        "{\"x\":{\"y\":1]}",
        "{'plate':'7ABC'}",
        "{plate:\"7ABC\"}",
        "{\"plate\":\"7ABC\" \"x\":1}",
        "{\"x\":01}",
        "{\"x\":1.}",
        "{\"x\":NaN}",
        "{\"x\":\"\t\"}",
        "{\"x\":\"\\q\"}",
        "{\"x\":\"\\u12G4\"}",
        "/*c*/{}",
        "{}//c",
        "{}{}",
        "{} x",
        "{},",
        "{}\u0000",
    };

    [Theory]
    [MemberData(nameof(MalformedInputs))]
    public void MalformedJsonIsRejectedByEveryParser(string json)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            AssertRejected(ParseRunner.Parse(_parser, kind, utf8), ParseError.MalformedJson, null, $"{kind}: {json}");
        }
    }

    public static TheoryData<EventKind, string> TrailingGarbage()
    {
        var data = new TheoryData<EventKind, string>();
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            foreach (string suffix in (string[])["x", "{}", ",", "}", "]", "0", "\"\"", " null", "\n{}", "\u0000"])
            {
                data.Add(kind, suffix);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TrailingGarbage))]
    public void DataAfterTheEventObjectIsMalformed(EventKind kind, string suffix)
    {
        string json = Json(ParseRunner.Members(kind)) + suffix;
        AssertRejected(ParseRunner.Parse(_parser, kind, Encoding.UTF8.GetBytes(json)),
            ParseError.MalformedJson, null, json);
    }

    [Theory]
    [InlineData(EventKind.Read)]
    [InlineData(EventKind.Query)]
    [InlineData(EventKind.Hotlist)]
    [InlineData(EventKind.Hold)]
    public void TruncatedEventIsMalformed(EventKind kind)
    {
        byte[] utf8 = Utf8(ParseRunner.Members(kind));
        AssertRejected(ParseRunner.Parse(_parser, kind, utf8.AsSpan(0, utf8.Length / 2)),
            ParseError.MalformedJson, null, kind.ToString());
        AssertRejected(ParseRunner.Parse(_parser, kind, utf8.AsSpan(0, utf8.Length - 1)),
            ParseError.MalformedJson, null, kind.ToString());
    }

    [Fact]
    public void NestingDeeperThanTheReaderLimitIsMalformedNotACrash()
    {
        string deep = new string('[', 200) + new string(']', 200);
        AssertRejected(_parser.ParseRead(Utf8(With(ReadMembers, "vehicle", deep)), out _),
            ParseError.MalformedJson, null, "depth 200");

        // Within the limit an unknown nested member is simply skipped.
        string shallow = new string('[', 60) + new string(']', 60);
        Assert.Equal(ParseResult.Ok, _parser.ParseRead(Utf8(With(ReadMembers, "vehicle", shallow)), out _));
    }

    // ---- missing_field -----------------------------------------------------------------------

    [Theory]
    [InlineData(EventKind.Read, "read_id")]
    [InlineData(EventKind.Read, "agency_id")]
    [InlineData(EventKind.Read, "plate")]
    [InlineData(EventKind.Read, "observed_at")]
    [InlineData(EventKind.Query, "query_id")]
    [InlineData(EventKind.Query, "requester")]
    [InlineData(EventKind.Query, "user")]
    [InlineData(EventKind.Query, "purpose")]
    [InlineData(EventKind.Query, "plate")]
    [InlineData(EventKind.Query, "issued_at")]
    [InlineData(EventKind.Hotlist, "hotlist_id")]
    [InlineData(EventKind.Hotlist, "owner")]
    [InlineData(EventKind.Hotlist, "plate")]
    [InlineData(EventKind.Hotlist, "purpose")]
    [InlineData(EventKind.Hold, "hold_id")]
    [InlineData(EventKind.Hold, "agency")]
    [InlineData(EventKind.Hold, "kind")]
    [InlineData(EventKind.Hold, "until")]
    public void EventWithoutARequiredMemberIsMissingField(EventKind kind, string member)
    {
        (string Name, string Value)[] members = ParseRunner.Members(kind);
        string absent = Json(Without(members, member));
        string nulled = Json(With(members, member, "null"));

        AssertRejected(ParseRunner.Parse(_parser, kind, Encoding.UTF8.GetBytes(absent)),
            ParseError.MissingField, member, absent);
        AssertRejected(ParseRunner.Parse(_parser, kind, Encoding.UTF8.GetBytes(nulled)),
            ParseError.MissingField, member, nulled);
    }

    [Theory]
    [InlineData(EventKind.Read)]
    [InlineData(EventKind.Query)]
    [InlineData(EventKind.Hotlist)]
    [InlineData(EventKind.Hold)]
    public void EmptyObjectIsMissingTheFirstRequiredMember(EventKind kind)
    {
        ParseResult result = ParseRunner.Parse(_parser, kind, "{}"u8);
        Assert.Equal(ParseError.MissingField, result.Error);
        Assert.NotNull(result.Field);
    }

    // ---- invalid_field -----------------------------------------------------------------------

    [Theory]
    [InlineData("read_id", "42")]
    [InlineData("read_id", "true")]
    [InlineData("read_id", "{}")]
    [InlineData("read_id", "[\"r\"]")]
    [InlineData("read_id", "\"\"")]
    [InlineData("read_id", "\"01234567890123456789012345678901234567890123456789012345678901234\"")]
    [InlineData("camera_id", "7")]
    [InlineData("agency_id", "7")]
    [InlineData("plate", "7123")]
    [InlineData("plate_state", "[]")]
    [InlineData("observed_at", "1772558525123")]
    [InlineData("observed_at", "\"\"")]
    [InlineData("observed_at", "\"2026-03-03T17:22:05\"")]
    [InlineData("observed_at", "\"2026-03-03\"")]
    [InlineData("observed_at", "\"2026-02-29T17:22:05Z\"")]
    [InlineData("observed_at", "\"2026-03-03T24:00:00Z\"")]
    [InlineData("observed_at", "\"2026-03-03T17:22:60Z\"")]
    [InlineData("observed_at", "\"2026-03-03T17:22:05+0800\"")]
    [InlineData("observed_at", "\"03/03/2026 17:22:05\"")]
    [InlineData("confidence", "1.0001")]
    [InlineData("confidence", "-0.01")]
    [InlineData("confidence", "\"0.97\"")]
    [InlineData("confidence", "true")]
    [InlineData("confidence", "1e400")]
    [InlineData("lat", "90.000001")]
    [InlineData("lat", "-90.5")]
    [InlineData("lat", "\"34.05\"")]
    [InlineData("lon", "180.0001")]
    [InlineData("lon", "-181")]
    [InlineData("lon", "-1e999")]
    public void ReadWithAnInvalidMemberIsInvalidField(string member, string value)
    {
        string json = Json(With(ReadMembers, member, value));
        AssertRejected(_parser.ParseRead(Encoding.UTF8.GetBytes(json), out _), ParseError.InvalidField, member, json);
    }

    [Theory]
    [InlineData("query_id", "42", "query_id")]
    [InlineData("query_id", "\"\"", "query_id")]
    [InlineData("query_id",
        "\"q-0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" +
        "012345678901234567890123456\"",
        "query_id")]
    [InlineData("requester", "1", "requester")]
    [InlineData("user", "\"\"", "user")]
    [InlineData("user", "{\"name\":\"d.ortiz\"}", "user")]
    [InlineData("purpose", "\"shopping\"", "purpose")]
    [InlineData("purpose", "\"Stolen_Vehicle\"", "purpose")]
    [InlineData("purpose", "\"stolen_vehicle \"", "purpose")]
    [InlineData("purpose", "\"\"", "purpose")]
    [InlineData("purpose", "3", "purpose")]
    [InlineData("case_number", "26004411", "case_number")]
    [InlineData("reason", "[]", "reason")]
    [InlineData("signature", "false", "signature")]
    [InlineData("plate", "7123", "plate")]
    [InlineData("issued_at", "\"2026-03-03T18:00:00\"", "issued_at")]
    [InlineData("issued_at", "\"2026-03-32T18:00:00Z\"", "issued_at")]
    [InlineData("from", "\"2026-02-30T00:00:00Z\"", "from")]
    [InlineData("to", "\"yesterday\"", "to")]
    [InlineData("from", "\"2026-03-04T00:00:00Z\"", "from")]
    public void QueryWithAnInvalidMemberIsInvalidField(string member, string value, string field)
    {
        string json = Json(With(QueryMembers, member, value));
        AssertRejected(_parser.ParseQuery(Encoding.UTF8.GetBytes(json), out _), ParseError.InvalidField, field, json);
    }

    [Theory]
    [InlineData("hotlist_id", "\"\"", "hotlist_id")]
    [InlineData("hotlist_id", "1", "hotlist_id")]
    [InlineData("owner", "[]", "owner")]
    [InlineData("purpose", "\"shopping\"", "purpose")]
    [InlineData("expires_at", "\"2026-12-31\"", "expires_at")]
    [InlineData("expires_at", "\"2026-12-31T23:59:59+24:00\"", "expires_at")]
    [InlineData("plate", "{}", "plate")]
    public void HotlistEntryWithAnInvalidMemberIsInvalidField(string member, string value, string field)
    {
        string json = Json(With(HotlistMembers, member, value));
        AssertRejected(_parser.ParseHotlist(Encoding.UTF8.GetBytes(json), out _), ParseError.InvalidField, field, json);
    }

    [Fact]
    public void AnUnknownPurposeIsRejectedWithAPersistedDetailThatQuotesNoSpecSection()
    {
        byte[] query = Encoding.UTF8.GetBytes(Json(With(QueryMembers, "purpose", "\"shopping\"")));
        byte[] hotlist = Encoding.UTF8.GetBytes(Json(With(HotlistMembers, "purpose", "\"shopping\"")));
        Assert.Equal("purpose: not a known purpose", _parser.ParseQuery(query, out _).Detail);
        Assert.Equal("purpose: not a known purpose", _parser.ParseHotlist(hotlist, out _).Detail);
    }

    [Theory]
    [InlineData("hold_id", "\"\"", "hold_id")]
    [InlineData("kind", "\"forever\"", "kind")]
    [InlineData("kind", "\"Warrant\"", "kind")]
    [InlineData("kind", "0", "kind")]
    [InlineData("until", "\"2027\"", "until")]
    [InlineData("from", "\"2026-01-01T00:00:00\"", "from")]
    [InlineData("to", "\"2026-02-01T00:00:00.Z\"", "to")]
    [InlineData("from", "\"2026-03-01T00:00:00Z\"", "from")]
    [InlineData("agency", "1", "agency")]
    public void HoldWithAnInvalidMemberIsInvalidField(string member, string value, string field)
    {
        string json = Json(With(HoldMembers, member, value));
        AssertRejected(_parser.ParseHold(Encoding.UTF8.GetBytes(json), out _), ParseError.InvalidField, field, json);
    }

    public static TheoryData<EventKind, string> KnownMembers()
    {
        var data = new TheoryData<EventKind, string>();
        string[][] known =
        [
            ["read_id", "camera_id", "agency_id", "plate", "observed_at", "plate_state", "confidence", "lat", "lon"],
            [
                "query_id", "requester", "user", "purpose", "case_number", "reason", "plate", "from", "to", "issued_at",
                "signature",
            ],
            ["hotlist_id", "owner", "plate", "purpose", "case_number", "expires_at"],
            ["hold_id", "agency", "plate", "from", "to", "kind", "case_number", "until"],
        ];
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            foreach (string member in known[(int)kind]) data.Add(kind, member);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KnownMembers))]
    public void EventWithAKnownMemberTwiceIsInvalidField(EventKind kind, string member)
    {
        (string Name, string Value)[] members = ParseRunner.Members(kind);
        string value = Array.Find(members, m => m.Name == member).Value;
        string json = Json(Duplicated(members, member, value));

        ParseResult result = ParseRunner.Parse(_parser, kind, Encoding.UTF8.GetBytes(json));

        AssertRejected(result, ParseError.InvalidField, member, json);
        Assert.Equal(Duplicate, result.Reason);
    }

    [Fact]
    public void DuplicateUnknownMembersAreIgnored()
    {
        Assert.Equal(ParseResult.Ok, _parser.ParseRead(Utf8(Duplicated(ReadMembers, "vehicle", "1")), out _));
    }

    [Fact]
    public void EventWithAKnownMemberGivenAsNullAndAgainIsInvalidField()
    {
        string json = Json(Duplicated(With(ReadMembers, "plate", "null"), "plate", "\"7ABC123\""));
        AssertRejected(_parser.ParseRead(Encoding.UTF8.GetBytes(json), out _), ParseError.InvalidField, "plate", json);
    }

    // ---- invalid_plate -----------------------------------------------------------------------

    public static TheoryData<EventKind, string> InvalidPlates()
    {
        var data = new TheoryData<EventKind, string>();
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            foreach (string plate in (string[])
            [
                "\"\"", "\"   \"", "\"-.- \"", "\"ABCDEFGHIJK\"", "\"AB CD-EF.GH 123\"", "\"7ABC*123\"", "\"7ABC_123\"",
                "\"7\u00c4BC123\"", "\"7ABC\\t123\"", "\"\\u0000\"",
            ])
            {
                data.Add(kind, plate);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidPlates))]
    public void EventWithAnInvalidPlateIsInvalidPlate(EventKind kind, string plate)
    {
        string json = Json(With(ParseRunner.Members(kind), "plate", plate));
        AssertRejected(ParseRunner.Parse(_parser, kind, Encoding.UTF8.GetBytes(json)),
            ParseError.InvalidPlate, "plate", json);
    }

    // ---- unknown_agency ----------------------------------------------------------------------

    [Theory]
    [InlineData(EventKind.Read, "agency_id", "\"ca-nowhere\"")]
    [InlineData(EventKind.Read, "agency_id", "\"CA-LAPD\"")]
    [InlineData(EventKind.Read, "agency_id", "\"ca-lapd \"")]
    [InlineData(EventKind.Read, "agency_id", "\"\"")]
    [InlineData(EventKind.Hotlist, "owner", "\"ca-nowhere\"")]
    [InlineData(EventKind.Hold, "agency", "\"ca-nowhere\"")]
    public void EventOwnedByAnAgencyOutsideThePolicyIsUnknownAgency(EventKind kind, string member, string value)
    {
        string json = Json(With(ParseRunner.Members(kind), member, value));
        AssertRejected(ParseRunner.Parse(_parser, kind, Encoding.UTF8.GetBytes(json)),
            ParseError.UnknownAgency, member, json);
    }

    // ---- oversized ---------------------------------------------------------------------------

    /// <summary>The event padded with an unknown member to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] PaddedTo(EventKind kind, int size)
    {
        string bare = Json(With(ParseRunner.Members(kind), "pad", "\"\""));
        string pad = new('p', size - Encoding.UTF8.GetByteCount(bare));
        byte[] utf8 = Encoding.UTF8.GetBytes(Json(With(ParseRunner.Members(kind), "pad", $"\"{pad}\"")));
        Assert.Equal(size, utf8.Length);
        return utf8;
    }

    [Theory]
    [InlineData(EventKind.Read)]
    [InlineData(EventKind.Query)]
    [InlineData(EventKind.Hotlist)]
    [InlineData(EventKind.Hold)]
    public void EventOverTheSizeCapIsOversizedAndAtTheCapIsAccepted(EventKind kind)
    {
        var parser = new EventParser(Agencies(), maxEventBytes: 600);

        Assert.Equal(ParseResult.Ok, ParseRunner.Parse(parser, kind, PaddedTo(kind, 600)));
        AssertRejected(ParseRunner.Parse(parser, kind, PaddedTo(kind, 601)), ParseError.Oversized, null, "601 bytes");
    }

    [Fact]
    public void OversizedIsDecidedBeforeUtf8OrJsonAreLookedAt()
    {
        var parser = new EventParser(Agencies(), maxEventBytes: 64);
        byte[] garbage = Enumerable.Repeat((byte)0xFF, 65).ToArray();

        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            AssertRejected(ParseRunner.Parse(parser, kind, garbage), ParseError.Oversized, null, kind.ToString());
        }
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            AssertRejected(ParseRunner.Render(parser, kind, BytePerSegmentSequence.Create(garbage)).Result,
                ParseError.Oversized, null, $"{kind} sequence");
        }
    }

    [Fact]
    public void OversizedMultiSegmentEventIsRejectedWithTheSameResultAsOneSpan()
    {
        var parser = new EventParser(Agencies(), maxEventBytes: 600);
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            byte[] atCap = PaddedTo(kind, 600), overCap = PaddedTo(kind, 601);
            Assert.Equal(ParseRunner.Render(parser, kind, atCap),
                ParseRunner.Render(parser, kind, BytePerSegmentSequence.Create(atCap)));
            Assert.Equal(ParseRunner.Render(parser, kind, overCap),
                ParseRunner.Render(parser, kind, BytePerSegmentSequence.Create(overCap)));
        }
    }

    // ---- invalid_utf8 ------------------------------------------------------------------------

    public static TheoryData<EventKind, string, string> InvalidUtf8()
    {
        // Hex of the bad bytes, and where they go: in a parsed string value, an unknown member's value, a member name.
        string[] sequences =
        [
            "C0AF",     // overlong '/'
            "C180",     // overlong
            "E080AF",   // overlong three-byte
            "F08080AF", // overlong four-byte
            "EDA080",   // lone high surrogate U+D800
            "EDBFBF",   // lone low surrogate U+DFFF
            "80",       // lone continuation byte
            "C3",       // truncated two-byte sequence
            "E282",     // truncated three-byte sequence
            "F4908080", // above U+10FFFF
            "F5808080", // invalid lead byte
            "FE",
            "FF",
        ];
        var data = new TheoryData<EventKind, string, string>();
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            foreach (string hex in sequences)
            {
                foreach (string where in (string[])["value", "unknown", "name"]) data.Add(kind, hex, where);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public void EventWithInvalidUtf8AnywhereIsInvalidUtf8(EventKind kind, string hex, string where)
    {
        (string Name, string Value)[] members = ParseRunner.Members(kind);
        string json = where switch
        {
            "value" => Json(With(members, "plate", "\"7AB@@C123\"")),
            "unknown" => Json(With(members, "note", "\"a@@b\"")),
            _ => Json(With(members, "n@@te", "1")),
        };
        byte[] utf8 = Inject(json, "@@", Convert.FromHexString(hex));

        AssertRejected(ParseRunner.Parse(_parser, kind, utf8), ParseError.InvalidUtf8, null, Printable(utf8));
    }

    [Fact]
    public void ValidMultiByteUtf8IsAcceptedInUnknownAndFreeTextMembers()
    {
        byte[] utf8 = Utf8(With(With(QueryMembers,
            "reason", "\"Caf\u00e9 \u2603 \U0001F697 \\ud83d\\ude97\""), "note", "\"\u00e9\""));
        Assert.Equal(ParseResult.Ok, _parser.ParseQuery(utf8, out Query q));
        Assert.Equal("Caf\u00e9 \u2603 \U0001F697 \U0001F697", Text(q.Reason));
    }

    // ---- escapes that decode to invalid text -------------------------------------------------

    [Theory]
    [InlineData(EventKind.Read, "read_id", "\"\\ud800\"")]
    [InlineData(EventKind.Read, "plate", "\"7ABC\\udc00\"")]
    [InlineData(EventKind.Query, "reason", "\"\\ud83d x\"")]
    [InlineData(EventKind.Query, "user", "\"\\ud83d\\u0041\"")]
    [InlineData(EventKind.Hotlist, "case_number", "\"\\udfff\"")]
    [InlineData(EventKind.Hold, "case_number", "\"\\ud800\"")]
    public void EscapedLoneSurrogateInAStringMemberIsRejectedNotThrown(EventKind kind, string member, string value)
    {
        string json = Json(With(ParseRunner.Members(kind), member, value));

        ParseResult result = ParseRunner.Parse(_parser, kind, Encoding.UTF8.GetBytes(json));

        Assert.False(result.IsOk, json);
        Assert.True(result.Error is ParseError.InvalidField or ParseError.InvalidUtf8 or ParseError.MalformedJson,
            result.ToString());
    }

    [Fact]
    public void EscapedLoneSurrogateInAMemberNameIsRejectedNotThrown()
    {
        string json = Json(With(ReadMembers, "\\udc00-tag", "1"));

        ParseResult result = _parser.ParseRead(Encoding.UTF8.GetBytes(json), out _);

        Assert.False(result.IsOk, json);
    }

    [Fact]
    public void EscapedLoneSurrogateInAnUnknownMemberValueIsSkippedLikeAnyOtherValue()
    {
        // Unknown values are never decoded, so there is nothing to reject.
        Assert.Equal(ParseResult.Ok, _parser.ParseRead(Utf8(With(ReadMembers, "note", "\"\\ud800\"")), out _));
    }

    [Fact]
    public void ReadIdLengthIsCountedInCharacters()
    {
        string readId = new('\u00e9', 40); // 40 characters, 80 UTF-8 bytes
        Assert.Equal(ParseResult.Ok, _parser.ParseRead(Utf8(With(ReadMembers, "read_id", $"\"{readId}\"")), out _));
    }

    // ---- every prefix ------------------------------------------------------------------------

    [Theory]
    [InlineData(EventKind.Read)]
    [InlineData(EventKind.Query)]
    [InlineData(EventKind.Hotlist)]
    [InlineData(EventKind.Hold)]
    public void EveryProperPrefixOfAValidEventIsRejectedWithoutThrowing(EventKind kind)
    {
        byte[] utf8 = Utf8(ParseRunner.Members(kind));
        Assert.Equal(ParseResult.Ok, ParseRunner.Parse(_parser, kind, utf8));

        for (int length = 0; length < utf8.Length; length++)
        {
            ReadOnlySpan<byte> prefix = utf8.AsSpan(0, length);
            ParseResult result = ParseRunner.Parse(_parser, kind, prefix);

            // A prefix can only be cut JSON, or a multi-byte character cut in two.
            Assert.True(result.Error is ParseError.MalformedJson or ParseError.InvalidUtf8,
                $"prefix of {length} bytes gave {result} for: {Printable(prefix)}");
        }
    }

    [Theory]
    [InlineData(EventKind.Read)]
    [InlineData(EventKind.Query)]
    [InlineData(EventKind.Hotlist)]
    [InlineData(EventKind.Hold)]
    public void EveryPrefixGivesTheSameResultFromOneBytePerSegmentAsFromOneSpan(EventKind kind)
    {
        byte[] utf8 = Utf8(ParseRunner.Members(kind));
        for (int length = 0; length <= utf8.Length; length++)
        {
            ReadOnlySequence<byte> split = BytePerSegmentSequence.Create(utf8.AsSpan(0, length));
            Assert.Equal(ParseRunner.Render(_parser, kind, utf8.AsSpan(0, length)),
                ParseRunner.Render(_parser, kind, split));
        }
    }

    // ---- sequence overloads ------------------------------------------------------------------

    /// <summary>Valid events and one of each rejection, for every event type.</summary>
    public static TheoryData<EventKind, string> SequenceCorpus()
    {
        var data = new TheoryData<EventKind, string>();
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            (string Name, string Value)[] members = ParseRunner.Members(kind);
            byte[] valid = Utf8(members);
            data.Add(kind, Hex(valid));
            data.Add(kind,
                Hex(Encoding.UTF8.GetBytes(Json(members).Replace("\":\"", "\" : \"", StringComparison.Ordinal))));
            data.Add(kind, Hex(Utf8(Without(members, "plate"))));
            data.Add(kind, Hex(Utf8(With(members, "plate", "\"7ABC*123\""))));
            data.Add(kind, Hex(Utf8(With(members, "plate", "\"7a\\u0062c 123\""))));
            data.Add(kind, Hex(Utf8(Duplicated(members, "plate", "\"7ABC123\""))));
            data.Add(kind, Hex(Inject(Json(With(members, "plate", "\"7AB@@C123\"")), "@@", 0xED, 0xA0, 0x80)));
            data.Add(kind, Hex([.. valid, (byte)'x']));
            data.Add(kind, Hex(valid.AsSpan(0, valid.Length - 1)));
            data.Add(kind, Hex("[]"u8));
        }
        data.Add(EventKind.Read, Hex(Utf8(With(ReadMembers, "agency_id", "\"ca-nowhere\""))));
        data.Add(EventKind.Read, Hex(Utf8(With(ReadMembers, "confidence", "2"))));
        data.Add(EventKind.Read, Hex(Utf8(With(ReadMembers, "camera_id", "\"cam-\\u00e9\\/x\""))));
        data.Add(EventKind.Query, Hex(Utf8(With(QueryMembers, "purpose", "\"shopping\""))));
        data.Add(EventKind.Query, Hex(Utf8(With(QueryMembers, "from", "\"2026-03-04T00:00:00Z\""))));
        data.Add(EventKind.Hotlist, Hex(Utf8(With(HotlistMembers, "owner", "\"ca-nowhere\""))));
        data.Add(EventKind.Hold, Hex(Utf8(With(HoldMembers, "kind", "\"forever\""))));
        return data;
    }

    [Theory]
    [MemberData(nameof(SequenceCorpus))]
    public void SequenceOverloadGivesExactlyTheSameResultAsTheSpanOverload(EventKind kind, string hex)
    {
        byte[] utf8 = Convert.FromHexString(hex);
        var expected = ParseRunner.Render(_parser, kind, utf8);

        Assert.Equal(expected, ParseRunner.Render(_parser, kind, BytePerSegmentSequence.Create(utf8)));
        Assert.Equal(expected, ParseRunner.Render(_parser, kind, new ReadOnlySequence<byte>(utf8)));
        Assert.Equal(expected,
            ParseRunner.Render(_parser, kind, BytePerSegmentSequence.Chunked(utf8, [utf8.Length / 3, 1, 7])));
    }

    [Fact]
    public void EmptyMultiSegmentSequenceIsMalformedLikeAnEmptySpan()
    {
        ReadOnlySequence<byte> empty = BytePerSegmentSequence.EmptySegments(3);
        Assert.False(empty.IsSingleSegment);

        AssertRejected(_parser.ParseRead(empty, out _), ParseError.MalformedJson, null, "empty read");
        AssertRejected(_parser.ParseQuery(empty, out _), ParseError.MalformedJson, null, "empty query");
        AssertRejected(_parser.ParseHotlist(empty, out _), ParseError.MalformedJson, null, "empty hotlist");
        AssertRejected(_parser.ParseHold(empty, out _), ParseError.MalformedJson, null, "empty hold");
        AssertRejected(_parser.ParseRead(ReadOnlySequence<byte>.Empty, out _), ParseError.MalformedJson, null, "empty");
    }

    // ---- seeded fuzz -------------------------------------------------------------------------

    private static readonly byte[] s_interesting =
        "{}[]\":,\\ -.0123456789eEtrufalsn"u8.ToArray()
            .Concat(new byte[] { 0x00, 0x09, 0x0A, 0x0D, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xFF })
            .ToArray();

    private static readonly byte[][] s_tokens =
    [
        "null"u8.ToArray(), "true"u8.ToArray(), "{}"u8.ToArray(), "[]"u8.ToArray(), "\"\""u8.ToArray(),
        "1e308"u8.ToArray(), "-0"u8.ToArray(), "\\u0000"u8.ToArray(), "\\\""u8.ToArray(),
        ",\"plate\":\"X\""u8.ToArray(), ",\"read_id\":\"r\""u8.ToArray(), "\"2026-02-29T00:00:00Z\""u8.ToArray(),
    ];

    /// <summary>
    /// A valid event with 1-4 random mutations: bit flips, byte replacement, deletion, insertion, duplication,
    /// truncation.
    /// </summary>
    private static byte[] Mutate(Random random, byte[] valid)
    {
        var bytes = new List<byte>(valid);
        int mutations = random.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(8))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = s_interesting[random.Next(s_interesting.Length)];
                    break;
                case 2 when bytes.Count > 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, random.Next(1, Math.Min(16, bytes.Count - at) + 1));
                    break;
                case 4:
                    bytes.Insert(at, s_interesting[random.Next(s_interesting.Length)]);
                    break;
                case 5:
                    bytes.InsertRange(at, s_tokens[random.Next(s_tokens.Length)]);
                    break;
                case 6 when bytes.Count > 0:
                    int length = random.Next(1, Math.Min(32, bytes.Count - at) + 1);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                default:
                    if (bytes.Count > 0) bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }
        return [.. bytes];
    }

    /// <summary>What every accepted event must satisfy, whatever bytes produced it.</summary>
    private static string? InvariantViolation(EventParser parser, EventKind kind, ReadOnlySpan<byte> utf8)
    {
        switch (kind)
        {
            case EventKind.Read:
                parser.ParseRead(utf8, out PlateRead r);
                if (r.ReadId.Length is < 1 or > 64) return "read_id length";
                if ((uint)r.Owner >= (uint)parser.Agencies.Count) return "owner";
                if (Plate.Length(r.Plate) is < 1 or > Plate.MaxLength) return "plate";
                if (!(double.IsNaN(r.Confidence) || r.Confidence is >= 0 and <= 1)) return "confidence";
                if (!(double.IsNaN(r.Lat) || r.Lat is >= -90 and <= 90)) return "lat";
                if (!(double.IsNaN(r.Lon) || r.Lon is >= -180 and <= 180)) return "lon";
                return null;
            case EventKind.Query:
                parser.ParseQuery(utf8, out Query q);
                if (q.QueryId.IsEmpty || q.User.IsEmpty) return "query_id/user";
                if (Plate.Length(q.Plate) is < 1 or > Plate.MaxLength) return "plate";
                if (q.FromMs > q.ToMs) return "window";
                if (!Purposes.TryParse(parser.Text(q.PurposeText), out Purpose p) || p != q.Purpose) return "purpose";
                return null;
            case EventKind.Hotlist:
                parser.ParseHotlist(utf8, out HotlistEntry h);
                return (uint)h.Owner < (uint)parser.Agencies.Count && Plate.Length(h.Plate) >= 1 ? null : "owner/plate";
            default:
                parser.ParseHold(utf8, out Hold d);
                return (uint)d.Agency < (uint)parser.Agencies.Count && d.FromMs <= d.ToMs ? null : "agency/window";
        }
    }

    [Fact]
    public void TwoHundredThousandRandomMutationsNeverThrowAndAlwaysGiveADefinedCode()
    {
        const int Iterations = 200_000;
        var random = new Random(20260303);
        var parser = new EventParser(Agencies());
        byte[][] valid = [Utf8(ReadMembers), Utf8(QueryMembers), Utf8(HotlistMembers), Utf8(HoldMembers)];
        var counts = new int[(int)ParseError.InvalidUtf8 + 1];
        var failures = new List<string>();

        for (int i = 0; i < Iterations && failures.Count < 10; i++)
        {
            // Reads and queries are the hot topics: weight them 3:3:1:1.
            int pick = random.Next(8);
            var kind = pick < 3 ? EventKind.Read
                : pick < 6 ? EventKind.Query
                : pick == 6 ? EventKind.Hotlist
                : EventKind.Hold;
            byte[] input = Mutate(random, valid[(int)kind]);
            try
            {
                ParseResult result = ParseRunner.Parse(parser, kind, input);
                if (!Enum.IsDefined(result.Error))
                {
                    failures.Add($"#{i} undefined code {(int)result.Error}: {Printable(input)}");
                }
                else if (!result.IsOk && string.IsNullOrEmpty(result.Reason))
                {
                    failures.Add($"#{i} {result.Error} without a reason: {Printable(input)}");
                }
                else if (result.IsOk && InvariantViolation(parser, kind, input) is string broken)
                {
                    failures.Add($"#{i} accepted with bad {broken}: {Printable(input)}");
                }
                counts[(int)result.Error]++;

                if (i % 50 == 0)
                {
                    var span = ParseRunner.Render(parser, kind, input);
                    var split = ParseRunner.Render(parser, kind, BytePerSegmentSequence.Create(input));
                    if (span != split) failures.Add($"#{i} span {span} but sequence {split}: {Printable(input)}");
                }
            }
#pragma warning disable CA1031 // the point is to catch anything the parser lets escape
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"#{i} {kind} threw {e.GetType().Name}: {e.Message} for hex {Hex(input)}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        // The mutations must actually reach the interesting codes, or the test proves little.
        foreach (ParseError code in (ParseError[])
        [
            ParseError.None, ParseError.MalformedJson, ParseError.MissingField, ParseError.InvalidField,
            ParseError.InvalidPlate, ParseError.UnknownAgency, ParseError.InvalidUtf8,
        ])
        {
            Assert.True(counts[(int)code] > 50, $"only {counts[(int)code]} results with {code}");
        }
    }

    // ---- RFC 3339 ----------------------------------------------------------------------------

    [Theory]
    [InlineData("2026-03-03T17:22:05.123Z", "2026-03-03T17:22:05.123Z")]
    [InlineData("2026-03-03T09:22:05.123-08:00", "2026-03-03T17:22:05.123Z")]
    [InlineData("2026-03-03T23:22:05.123+06:00", "2026-03-03T17:22:05.123Z")]
    [InlineData("2026-03-03T17:22:05-00:00", "2026-03-03T17:22:05.000Z")]
    [InlineData("2026-03-03t17:22:05z", "2026-03-03T17:22:05.000Z")]
    [InlineData("2026-03-03 17:22:05Z", "2026-03-03T17:22:05.000Z")]
    [InlineData("2026-03-03T17:22:05.1Z", "2026-03-03T17:22:05.100Z")]
    [InlineData("2026-03-03T17:22:05.12Z", "2026-03-03T17:22:05.120Z")]
    [InlineData("2026-03-03T17:22:05.123999999Z", "2026-03-03T17:22:05.123Z")]
    [InlineData("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000Z")]
    [InlineData("2025-12-31T23:30:00.5-01:00", "2026-01-01T00:30:00.500Z")]
    [InlineData("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z")]
    [InlineData("2000-02-29T00:00:00+23:59", "2000-02-28T00:01:00.000Z")]
    [InlineData("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z")]
    [InlineData("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z")]
    [InlineData("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z")]
    [InlineData("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z")]
    public void Rfc3339ParsesToUnixMillisecondsAndFormatsBackAsUtc(string text, string utc)
    {
        Assert.True(Rfc3339.TryParse(Encoding.ASCII.GetBytes(text), out long ms), text);

        Assert.Equal(DateTimeOffset.Parse(utc, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), ms);
        Assert.Equal(utc, Rfc3339.ToText(ms));
    }

    [Fact]
    public void Rfc3339FormatThenParseRoundTripsTenThousandRandomInstants()
    {
        var random = new Random(3339);
        long min = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
        long max = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();
        Span<byte> buffer = stackalloc byte[Rfc3339.FormattedLength];
        for (int i = 0; i < 10_000; i++)
        {
            // Half across the whole range, half around now where real events are.
            long ms = i % 2 == 0
                ? random.NextInt64(min, max)
                : random.NextInt64(Ms(1960, 1, 1, 0, 0, 0), Ms(2100, 1, 1, 0, 0, 0));
            Assert.Equal(Rfc3339.FormattedLength, Rfc3339.Format(ms, buffer));
            Assert.Equal(
                DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime
                    .ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                Encoding.ASCII.GetString(buffer));
            Assert.True(Rfc3339.TryParse(buffer, out long parsed));
            Assert.Equal(ms, parsed);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("2026-03-03")]
    [InlineData("2026-03-03T17:22:05")]
    [InlineData("2026-03-03T17:22:05.123")]
    [InlineData("2026-03-03T17:22Z")]
    [InlineData("2026-02-29T00:00:00Z")]
    [InlineData("1900-02-29T00:00:00Z")]
    [InlineData("2026-04-31T00:00:00Z")]
    [InlineData("2026-13-01T00:00:00Z")]
    [InlineData("2026-00-10T00:00:00Z")]
    [InlineData("2026-03-00T00:00:00Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("2026-03-03T24:00:00Z")]
    [InlineData("2026-03-03T23:60:00Z")]
    [InlineData("2026-03-03T23:59:60Z")]
    [InlineData("2026-03-03T17:22:05.Z")]
    [InlineData("2026-03-03T17:22:05+08")]
    [InlineData("2026-03-03T17:22:05+0800")]
    [InlineData("2026-03-03T17:22:05+24:00")]
    [InlineData("2026-03-03T17:22:05+08:60")]
    [InlineData("2026-03-03T17:22:05+08:00Z")]
    [InlineData("2026-03-03T17:22:05ZZ")]
    [InlineData("2026-03-03T17:22:05Z ")]
    [InlineData(" 2026-03-03T17:22:05Z")]
    [InlineData("2026-3-3T17:22:05Z")]
    [InlineData("2026-03-03X17:22:05Z")]
    [InlineData("2026/03/03T17:22:05Z")]
    [InlineData("+2026-03-03T17:22:05Z")]
    [InlineData("2026-03-03T17:22:05 UTC")]
    [InlineData("2026-03-03T17:22:05\u0660Z")]
    public void Rfc3339RejectsAnythingButAFullTimestampWithAZone(string text)
    {
        Assert.False(Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out _), text);
    }

    [Fact]
    public void Rfc3339WithADayCacheAgreesWithoutOne()
    {
        // The cache skips re-parsing a date whose ten bytes equal the last one's: every timestamp, valid or not, must
        // parse exactly as without it — same day, other days, a bad time after a good date, a bad date never cached.
        var random = new Random(1003);
        var cache = default(Rfc3339.DayCache);
        string[] days = ["2026-03-03", "2026-03-04", "2024-02-29", "2026-02-29", "2026-3-03x", "0000-01-01"];
        string[] times =
        [
            "T17:22:05Z", "T17:22:05.123+05:30", "t00:00:00z", "T24:00:00Z", "T23:59:60Z", "T12:00:00", "T12:00:00.Z",
            " 01:02:03-08:00",
        ];
        for (int i = 0; i < 20_000; i++)
        {
            string text = days[random.Next(i < 10_000 ? 2 : days.Length)] + times[random.Next(times.Length)];
            byte[] bytes = Encoding.ASCII.GetBytes(text);
            bool expected = Rfc3339.TryParse(bytes, out long expectedMs);
            Assert.True(expected == Rfc3339.TryParse(bytes, ref cache, out long ms) && ms == expectedMs, text);
        }
    }

    // ---- plates ------------------------------------------------------------------------------

    [Theory]
    [InlineData("7abc-12 3", "7ABC123")]
    [InlineData("7ABC123", "7ABC123")]
    [InlineData("a.b-c d", "ABCD")]
    [InlineData("  z  ", "Z")]
    [InlineData("0", "0")]
    [InlineData("0000000000", "0000000000")]
    [InlineData("ZZZZZ-ZZZZZ", "ZZZZZZZZZZ")]
    public void PlateIsNormalisedToUpperCaseLettersAndDigits(string plate, string normalised)
    {
        Assert.True(Plate.TryPack(Encoding.UTF8.GetBytes(plate), out ulong packed));
        Assert.Equal(normalised, Plate.ToText(packed));
        Assert.Equal(normalised.Length, Plate.Length(packed));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" -.")]
    [InlineData("ABCDEFGHIJK")]
    [InlineData("7ABC*123")]
    [InlineData("7ABC\t123")]
    [InlineData("7\u00c4BC")]
    public void PlateThatIsEmptyTooLongOrHasAnotherCharacterIsInvalid(string plate)
    {
        Assert.False(Plate.TryPack(Encoding.UTF8.GetBytes(plate), out ulong packed));
        Assert.Equal(0UL, packed);
    }

    [Fact]
    public void PlatePackUnpackRoundTripsTenThousandRandomPlatesAndKeepsTheirOrder()
    {
        const string Symbols = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        var random = new Random(7123);
        Span<byte> buffer = stackalloc byte[Plate.MaxLength];
        string previous = "0";
        Assert.True(Plate.TryPack("0"u8, out ulong previousPacked));
        for (int i = 0; i < 10_000; i++)
        {
            var chars = new char[random.Next(1, Plate.MaxLength + 1)];
            for (int c = 0; c < chars.Length; c++) chars[c] = Symbols[random.Next(Symbols.Length)];
            string plate = new(chars);

            Assert.True(Plate.TryPack(Encoding.ASCII.GetBytes(plate), out ulong packed));
            int written = Plate.Unpack(packed, buffer);
            Assert.Equal(plate, Encoding.ASCII.GetString(buffer[..written]));
            Assert.Equal(plate.Length, Plate.Length(packed));
            // Packed plates order like their text, so they can be sorted and compared as integers.
            Assert.Equal(Math.Sign(string.CompareOrdinal(plate, previous)), packed.CompareTo(previousPacked));
            previous = plate;
            previousPacked = packed;
        }
    }

    [Theory]
    [InlineData("9999-12-31T23:30:00-05:00")]
    [InlineData("0001-01-01T00:00:00+01:00")]
    public void TimestampsOutsideYearsOneTo9999InUtcAreRejected(string text)
    {
        Assert.False(Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out _));
    }

    [Theory]
    [InlineData("9999-12-31T23:59:59.999Z")]
    [InlineData("0001-01-01T00:00:00Z")]
    public void TheExtremeInstantsRoundTrip(string text)
    {
        Assert.True(Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out long ms));
        Assert.Equal(text.Replace("00Z", "00.000Z", StringComparison.Ordinal), Rfc3339.ToText(ms));
    }
}
