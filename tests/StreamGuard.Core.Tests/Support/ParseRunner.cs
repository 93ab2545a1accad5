using System.Buffers;
using System.Globalization;
using System.Text;
using StreamGuard.Events;
using StreamGuard.Parsing;
using StreamGuard.Text;

namespace StreamGuard.Tests.Support;

/// <summary>
/// Runs a parser on one event type and renders what it produced, so two runs can be compared exactly.
/// </summary>
internal static class ParseRunner
{
    public static (string Name, string Value)[] Members(EventKind kind) => kind switch
    {
        EventKind.Read => SampleEvents.ReadMembers,
        EventKind.Query => SampleEvents.QueryMembers,
        EventKind.Hotlist => SampleEvents.HotlistMembers,
        _ => SampleEvents.HoldMembers,
    };

    public static ParseResult Parse(EventParser parser, EventKind kind, ReadOnlySpan<byte> utf8) => kind switch
    {
        EventKind.Read => parser.ParseRead(utf8, out _),
        EventKind.Query => parser.ParseQuery(utf8, out _),
        EventKind.Hotlist => parser.ParseHotlist(utf8, out _),
        _ => parser.ParseHold(utf8, out _),
    };

    /// <summary>The result and, when it is Ok, every member of the event (texts resolved), as one string.</summary>
    public static (ParseResult Result, string Event) Render(EventParser parser, EventKind kind, ReadOnlySpan<byte> utf8)
    {
        switch (kind)
        {
            case EventKind.Read:
            {
                ParseResult r = parser.ParseRead(utf8, out PlateRead read);
                return (r, r.IsOk ? Render(parser, read) : string.Empty);
            }
            case EventKind.Query:
            {
                ParseResult r = parser.ParseQuery(utf8, out Query query);
                return (r, r.IsOk ? Render(parser, query) : string.Empty);
            }
            case EventKind.Hotlist:
            {
                ParseResult r = parser.ParseHotlist(utf8, out HotlistEntry entry);
                return (r, r.IsOk ? Render(parser, entry) : string.Empty);
            }
            default:
            {
                ParseResult r = parser.ParseHold(utf8, out Hold hold);
                return (r, r.IsOk ? Render(parser, hold) : string.Empty);
            }
        }
    }

    /// <summary>
    /// Same as <see cref="Render(EventParser, EventKind, ReadOnlySpan{byte})"/> through the sequence overloads.
    /// </summary>
    public static (ParseResult Result, string Event) Render(
        EventParser parser, EventKind kind, in ReadOnlySequence<byte> utf8)
    {
        switch (kind)
        {
            case EventKind.Read:
            {
                ParseResult r = parser.ParseRead(utf8, out PlateRead read);
                return (r, r.IsOk ? Render(parser, read) : string.Empty);
            }
            case EventKind.Query:
            {
                ParseResult r = parser.ParseQuery(utf8, out Query query);
                return (r, r.IsOk ? Render(parser, query) : string.Empty);
            }
            case EventKind.Hotlist:
            {
                ParseResult r = parser.ParseHotlist(utf8, out HotlistEntry entry);
                return (r, r.IsOk ? Render(parser, entry) : string.Empty);
            }
            default:
            {
                ParseResult r = parser.ParseHold(utf8, out Hold hold);
                return (r, r.IsOk ? Render(parser, hold) : string.Empty);
            }
        }
    }

    private static string Render(EventParser parser, in PlateRead read) => string.Create(CultureInfo.InvariantCulture,
        $"{T(parser, read.ReadId)}|{read.Camera}|{read.Owner}|{Plate.ToText(read.Plate)}|{read.ObservedAtMs}|" +
        $"{T(parser, read.PlateState)}|{read.Confidence:R}|{read.Lat:R}|{read.Lon:R}");

    private static string Render(EventParser parser, in Query q) => string.Create(CultureInfo.InvariantCulture,
        $"{T(parser, q.QueryId)}|{q.Requester}|{T(parser, q.RequesterText)}|{T(parser, q.User)}|{q.Purpose}|" +
        $"{T(parser, q.PurposeText)}|{T(parser, q.CaseNumber)}|{T(parser, q.Reason)}|{Plate.ToText(q.Plate)}|" +
        $"{T(parser, q.PlateText)}|{q.FromMs}|{q.ToMs}|{T(parser, q.FromText)}|{T(parser, q.ToText)}|" +
        $"{q.IssuedAtMs}|{T(parser, q.IssuedAtText)}|{T(parser, q.Signature)}");

    private static string Render(EventParser parser, in HotlistEntry e) => string.Create(CultureInfo.InvariantCulture,
        $"{T(parser, e.HotlistId)}|{e.Owner}|{Plate.ToText(e.Plate)}|{e.Purpose}|{T(parser, e.CaseNumber)}|" +
        $"{e.ExpiresAtMs}");

    private static string Render(EventParser parser, in Hold h) => string.Create(CultureInfo.InvariantCulture,
        $"{T(parser, h.HoldId)}|{h.Agency}|{h.Plate}|{h.FromMs}|{h.ToMs}|{h.Kind}|{T(parser, h.CaseNumber)}|" +
        $"{h.UntilMs}");

    private static string T(EventParser parser, Utf8Range range) => Encoding.UTF8.GetString(parser.Text(range));
}
