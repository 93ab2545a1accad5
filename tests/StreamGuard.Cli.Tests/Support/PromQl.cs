using System.Text.RegularExpressions;

namespace StreamGuard.Tests.Support;

/// <summary>The metric names a PromQL expression selects (dashboard queries, alert rules).</summary>
internal static partial class PromQl
{
    private static readonly HashSet<string> s_keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
        "inf", "nan",
    };

    /// <summary>
    /// Every metric name in <paramref name="expression"/>: label lists (<c>by (…)</c>, <c>on (…)</c>, …), label
    /// matchers (<c>{…}</c>), ranges (<c>[…]</c>) and strings are removed first; what is left that is neither a
    /// function (followed by a parenthesis), a keyword nor a number is a metric name.
    /// </summary>
    public static IEnumerable<string> MetricNames(string expression)
    {
        string e = StringLiteral().Replace(expression, " ");
        e = LabelList().Replace(e, " ");
        e = Matchers().Replace(e, " ");
        e = Range().Replace(e, " ");
        foreach (Match m in Identifier().Matches(e))
        {
            string name = m.Groups["name"].Value;
            if (!m.Groups["call"].Success && !s_keywords.Contains(name)) yield return name;
        }
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex LabelList();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Range();

    [GeneratedRegex(@"(?<![\w.$])(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();
}
