namespace StreamGuard.Parsing;

/// <summary>Why an event was rejected; each maps to a dead-letter code of SPEC §6.</summary>
public enum ParseError : byte
{
    None,
    MalformedJson,
    MissingField,
    InvalidField,
    InvalidPlate,
    UnknownAgency,
    Oversized,
    InvalidUtf8,

    /// <summary>Not an input error: an output the event made is larger than Kafka accepts, so it was not sent.
    /// </summary>
    OversizedOutput,
}

/// <summary>The outcome of parsing one event: an error code, the member concerned and why.</summary>
/// <remarks>Field and Reason are string literals: building a failure allocates nothing.</remarks>
public readonly record struct ParseResult(ParseError Error, string? Field, string? Reason)
{
    public static ParseResult Ok => default;
    public bool IsOk => Error == ParseError.None;

    /// <summary>A human-readable detail for the dead-letter record (cold path).</summary>
    public string Detail => Field is null ? Reason ?? string.Empty : $"{Field}: {Reason}";

    /// <summary>Formats <see cref="Detail"/> without allocating.</summary>
    public bool TryFormatDetail(Span<char> destination, out int written) => Field is null
        ? destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Reason}", out written)
        : destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Field}: {Reason}", out written);
}

public static class ParseErrorCodes
{
    /// <summary>The wire code of SPEC §6 for an error.</summary>
    public static string Code(ParseError error) => error switch
    {
        ParseError.MalformedJson => "malformed_json",
        ParseError.MissingField => "missing_field",
        ParseError.InvalidField => "invalid_field",
        ParseError.InvalidPlate => "invalid_plate",
        ParseError.UnknownAgency => "unknown_agency",
        ParseError.Oversized => "oversized",
        ParseError.InvalidUtf8 => "invalid_utf8",
        ParseError.OversizedOutput => "oversized_output",
        _ => "none",
    };

    public static ReadOnlySpan<byte> Utf8Code(ParseError error) => error switch
    {
        ParseError.MalformedJson => "malformed_json"u8,
        ParseError.MissingField => "missing_field"u8,
        ParseError.InvalidField => "invalid_field"u8,
        ParseError.InvalidPlate => "invalid_plate"u8,
        ParseError.UnknownAgency => "unknown_agency"u8,
        ParseError.Oversized => "oversized"u8,
        ParseError.InvalidUtf8 => "invalid_utf8"u8,
        ParseError.OversizedOutput => "oversized_output"u8,
        _ => "none"u8,
    };
}
