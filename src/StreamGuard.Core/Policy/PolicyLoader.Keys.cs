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
            string text = File.ReadAllText(path).TrimEnd('\r', '\n');
            if (text.Length == 0) { problem = $"key file {path} is empty"; return null; }
            return Encoding.UTF8.GetBytes(text);
        }
        problem = $"'{keyRef}' is not env:NAME or file:PATH";
        return null;
    }
}
