using System.Globalization;

namespace StreamGuard.Policy;

/// <summary>
/// Durations of the policy file: a whole number and a unit, <c>ms s m h d w</c> (<c>30d</c>, <c>5m</c>).
/// </summary>
public static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        string s = text.Trim();
        int i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i == 0 || i > 9
            || !long.TryParse(s.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            return false;
        }
        long? unit = s[i..] switch
        {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000L,
            _ => null,
        };
        // At most 9 digits: even 999,999,999 weeks fits a long of milliseconds; cap at 1000 years all the same.
        long? ms = n * unit;
        if (ms is null || ms > 1000L * 366 * 86_400_000) return false;
        value = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }

    public static string Format(TimeSpan t)
    {
        long ms = (long)t.TotalMilliseconds;
        if (ms % 86_400_000 == 0) return $"{ms / 86_400_000}d";
        if (ms % 3_600_000 == 0) return $"{ms / 3_600_000}h";
        if (ms % 60_000 == 0) return $"{ms / 60_000}m";
        if (ms % 1000 == 0) return $"{ms / 1000}s";
        return $"{ms}ms";
    }
}
