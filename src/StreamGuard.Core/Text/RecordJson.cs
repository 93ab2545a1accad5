using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace StreamGuard.Text;

/// <summary>The writer options of every record StreamGuard emits (outputs, audit entries and blocks).</summary>
public static class RecordJson
{
    /// <summary>
    /// Relaxed escaping: records are UTF-8 JSON for machines, so only what JSON requires is escaped. No structural
    /// validation: every record's shape is fixed by the code that writes it, and the tests parse each shape, so the
    /// writer's per-call checks would only cost time on the per-event path.
    /// </summary>
    public static readonly JsonWriterOptions Options =
        new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private static readonly SearchValues<byte> s_plain = SearchValues.Create(
        Enumerable.Range(0x20, 0x5F).Select(b => (byte)b).Where(b => b is not ((byte)'"' or (byte)'\\')).ToArray());

    /// <summary>
    /// Whether a writer with <see cref="Options"/> writes <paramref name="text"/> as a string's content byte for
    /// byte: printable ASCII without quote or backslash. Code that copies such text into a record itself writes
    /// exactly what the writer would, and leaves anything else to the writer.
    /// </summary>
    public static bool IsPlain(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept(s_plain) < 0;
}
