using System.Text;

namespace StreamGuard.Policy;

/// <summary>Key references: <c>env:NAME</c> and <c>file:PATH</c>, in the policy file and on the command line.</summary>
public static partial class PolicyLoader
{
    /// <summary>Resolves <c>env:NAME</c> or <c>file:PATH</c> (relative to the policy file) to key bytes.</summary>
    public static byte[]? ResolveKey(string keyRef, string baseDirectory, out string? problem)
    {
        problem = null;
        if (keyRef.StartsWith("env:", StringComparison.Ordinal))
        {
            string name = keyRef[4..];
            string? value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value)) { problem = $"environment variable {name} is not set"; return null; }
            return Encoding.UTF8.GetBytes(value);
        }
        if (keyRef.StartsWith("file:", StringComparison.Ordinal))
        {
            string path = Path.Combine(baseDirectory, keyRef[5..]);
            if (!File.Exists(path)) { problem = $"key file {path} does not exist"; return null; }
            string? text = ReadKeyFile(path, out problem);
            if (text is null) return null;
            if (string.IsNullOrWhiteSpace(text)) { problem = $"key file {path} is empty"; return null; }
            return Encoding.UTF8.GetBytes(text);
        }
        problem = $"'{keyRef}' is not env:NAME or file:PATH";
        return null;
    }

    /// <summary>
    /// The most bytes a key file may hold: a key is tens of bytes, and a reference to something else (a device that
    /// never ends, a log file) must be refused, not read until memory runs out.
    /// </summary>
    public const int MaxKeyFileBytes = 4096;

    /// <summary>
    /// A key file's text, as it has always been read (keys already in use must resolve to the same bytes, or chains
    /// and signatures under them break): decoded by its byte-order mark (UTF-8 without one; bytes that are no UTF-8
    /// become U+FFFD), less its trailing line breaks. A key is text — hex or base64 of a binary key.
    /// </summary>
    private static string? ReadKeyFile(string path, out string? problem)
    {
        problem = null;
        var buffer = new byte[MaxKeyFileBytes + 1];
        int n = 0;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            for (int read; n < buffer.Length && (read = file.Read(buffer, n, buffer.Length - n)) > 0;) n += read;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"key file {path} cannot be read ({e.Message})";
            return null;
        }
        if (n > MaxKeyFileBytes)
        {
            problem = $"key file {path} has more than {MaxKeyFileBytes:N0} bytes: it is no key";
            return null;
        }
        using var reader = new StreamReader(new MemoryStream(buffer, 0, n), Encoding.UTF8,
            detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd().TrimEnd('\r', '\n');
    }
}
