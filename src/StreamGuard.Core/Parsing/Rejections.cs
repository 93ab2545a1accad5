using System.Runtime.CompilerServices;

namespace StreamGuard.Parsing;

/// <summary>
/// The parser's rejections, built off the hot path. Fields and reasons are string literals, so a rejection
/// allocates nothing; the reasons are persisted in dead-letter details and quote no SPEC section.
/// </summary>
internal static class Rejections
{
    /// <summary>The reason of a repeated member: validation reports it before any missing member.</summary>
    public const string DuplicateMember = "duplicate member";

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult Malformed() => new(ParseError.MalformedJson, null, "not a well-formed JSON object");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult NotAnObject() => new(ParseError.MalformedJson, null, "the event is not a JSON object");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult DataAfterEvent() => new(ParseError.MalformedJson, null, "data after the event object");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult Oversized() => new(ParseError.Oversized, null, "event larger than the size cap");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult InvalidUtf8() => new(ParseError.InvalidUtf8, null, "not valid UTF-8");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult Missing(string field) => new(ParseError.MissingField, field, "required");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult Invalid(string field, string reason) => new(ParseError.InvalidField, field, reason);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult Duplicate(string field) => new(ParseError.InvalidField, field, DuplicateMember);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult BadTimestamp(string field) =>
        new(ParseError.InvalidField, field, "not an RFC 3339 timestamp with a zone");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult BadPlate() =>
        new(ParseError.InvalidPlate, "plate", "must be 1-10 letters or digits after normalisation");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult UnknownPurpose() => new(ParseError.InvalidField, "purpose", "not a known purpose");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ParseResult UnknownAgency(string field) =>
        new(ParseError.UnknownAgency, field, "not an agency of the policy");
}
