using System.Text.Json;

namespace StreamGuard.Text;

/// <summary>Cheap look-ups of one top-level member of a JSON object, before (or without) a full parse.</summary>
public static class JsonMembers
{
    /// <summary>
    /// The raw bytes of top-level string member <paramref name="name"/> of the object in <paramref name="json"/> (a
    /// slice of it; unescaped strings only). False for anything else: not an object, malformed, member absent or not a
    /// plain string — the full parser then rejects the event with its own code.
    /// </summary>
    public static bool TryGetString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        value = default;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool match = reader.ValueTextEquals(name);
                reader.Read();
                if (match)
                {
                    if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) return false;
                    value = reader.ValueSpan;
                    return true;
                }
                reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
        }
        return false;
    }
}
