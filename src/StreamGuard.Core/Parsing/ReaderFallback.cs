using System.Text.Json;
using System.Text.Unicode;
using StreamGuard.Events;

namespace StreamGuard.Parsing;

/// <summary>
/// The member loop over <see cref="Utf8JsonReader"/>. Every event the scanner declines (escapes, nulls, exponents,
/// repeated members, deep nesting, errors of any kind) is parsed again here from the start; the reader decides what
/// is wrong and reports it, so every rejection keeps its reason. It is also the scanner's reference in the
/// differential tests and benchmarks (<see cref="EventParser.ScannerEnabled"/>).
/// </summary>
internal static class ReaderFallback
{
    /// <summary>
    /// Collects the known members of <paramref name="utf8"/> into <paramref name="m"/>, each string unescaped into
    /// <paramref name="scratch"/> after the one before. A JSON syntax error is <c>malformed_json</c>; a bad value
    /// of a known member is kept in <see cref="EventMembers.First"/> and the rest of the event is still checked.
    /// <paramref name="validUtf8"/>: the event is known to be valid UTF-8 (the scanner checked it).
    /// </summary>
    public static ParseResult Collect(
        ReadOnlySpan<byte> utf8, bool validUtf8, MemberNames names, string[] fields, uint numbers, Span<byte> scratch,
        ref EventMembers m)
    {
        if (!validUtf8 && !Utf8.IsValid(utf8)) return Rejections.InvalidUtf8();
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return Rejections.NotAnObject();
            int used = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int i = Member(ref reader, names);
                if (i < 0)
                {
                    Keep(ref m.First, SkipValue(ref reader));
                    continue;
                }
                uint bit = 1u << i;
                Keep(ref m.First, (numbers & bit) != 0
                    ? Num(ref reader, ref m.Seen, bit, fields[i], out m.Num[i])
                    : Str(ref reader, ref m.Seen, bit, fields[i], scratch, ref used, out m.Str[i]));
            }
            return End(ref reader);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: an escape that does not decode to valid UTF-8 (a lone surrogate).
            return Rejections.Malformed();
        }
    }

    /// <summary>The index of the current property name in <paramref name="names"/>, or -1.</summary>
    private static int Member(ref Utf8JsonReader reader, MemberNames names)
    {
        if (reader.ValueIsEscaped)
        {
            // Rare: an escaped property name. Unescaping never lengthens it; names we know are short.
            const int Longest = 192;
            if (reader.ValueSpan.Length > Longest) return -1;
            Span<byte> unescaped = stackalloc byte[Longest];
            int written = reader.CopyString(unescaped);
            return names.Find(unescaped[..written]);
        }
        return names.Find(reader.ValueSpan);
    }

    /// <summary>Marks the member as appeared (high mask of <see cref="EventMembers.Seen"/>); true if it was.</summary>
    private static bool Repeated(ref uint seen, uint bit)
    {
        uint appeared = bit << 16;
        if ((seen & appeared) != 0) return true;
        seen |= appeared;
        return false;
    }

    private static void Keep(ref ParseResult first, in ParseResult result)
    {
        if (first.IsOk) first = result;
    }

    /// <summary>
    /// Reads a string member into scratch. JSON null counts as absent. A bad or repeated value is skipped (the
    /// member still counts as present), so the rest of the event is still checked for structure.
    /// </summary>
    private static ParseResult Str(
        ref Utf8JsonReader reader, ref uint seen, uint bit, string field, Span<byte> scratch, ref int used,
        out Utf8Range range)
    {
        range = default;
        if (!reader.Read()) return Rejections.Malformed();
        if (Repeated(ref seen, bit)) { reader.Skip(); return Rejections.Duplicate(field); }
        if (reader.TokenType == JsonTokenType.Null) return ParseResult.Ok;
        seen |= bit;
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return Rejections.Invalid(field, "must be a string");
        }
        // Unescaping never lengthens a string, and the whole event fits the scratch buffer.
        int written = reader.CopyString(scratch[used..]);
        range = new Utf8Range(used, written);
        used += written;
        return ParseResult.Ok;
    }

    private static ParseResult Num(ref Utf8JsonReader reader, ref uint seen, uint bit, string field, out double value)
    {
        value = double.NaN;
        if (!reader.Read()) return Rejections.Malformed();
        if (Repeated(ref seen, bit)) { reader.Skip(); return Rejections.Duplicate(field); }
        if (reader.TokenType == JsonTokenType.Null) return ParseResult.Ok;
        seen |= bit;
        if (reader.TokenType != JsonTokenType.Number)
        {
            reader.Skip();
            return Rejections.Invalid(field, "must be a number");
        }
        if (!PlainDecimal.TryRead(reader.ValueSpan, out value) &&
            (!reader.TryGetDouble(out value) || !double.IsFinite(value)))
        {
            value = double.NaN;
            return Rejections.Invalid(field, "number out of range");
        }
        return ParseResult.Ok;
    }

    private static ParseResult SkipValue(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) return Rejections.Malformed();
        reader.Skip();
        return ParseResult.Ok;
    }

    /// <summary>After the closing brace only whitespace may follow.</summary>
    private static ParseResult End(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0) return Rejections.Malformed();
        if (reader.Read()) return Rejections.DataAfterEvent();
        return ParseResult.Ok;
    }
}
