using System.Text;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Policy;

/// <summary>Typed readers of YAML values: each names the file, line and field of what it refuses.</summary>
public static partial class PolicyLoader
{
    private static IEnumerable<(string Value, YamlNode Node)> List(string source, YamlMappingNode m, string key,
        string field, bool required)
    {
        if (!m.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? n))
        {
            if (required) throw Error(source, m, $"{field}.{key}", "required");
            yield break;
        }
        if (n is not YamlSequenceNode seq) throw Error(source, n, $"{field}.{key}", "must be a list");
        if (seq.Children.Count == 0 && required) throw Error(source, n, $"{field}.{key}", "must not be empty");
        foreach (YamlNode item in seq) yield return (Scalar(source, item, $"{field}.{key}[]"), item);
    }

    private static List<string> AgencyList(string source, YamlMappingNode m, string key, string field,
        IReadOnlyDictionary<string, bool> agencies, bool required)
    {
        var list = new List<string>();
        foreach (var (value, node) in List(source, m, key, field, required))
        {
            if (!agencies.TryGetValue(value, out bool retired))
            {
                throw Error(source, node, $"{field}.{key}", $"unknown agency '{value}'");
            }
            if (retired)
            {
                throw Error(source, node, $"{field}.{key}",
                    $"'{value}' is retired (agencies[{value}].retired): it is in no agreement or rule");
            }
            if (list.Contains(value)) throw Error(source, node, $"{field}.{key}", $"'{value}' is listed twice");
            list.Add(value);
        }
        return list;
    }

    private static AccessSet AccessList(string source, YamlMappingNode m, string key, string field, bool required)
    {
        AccessSet set = AccessSet.None;
        foreach (var (value, node) in List(source, m, key, field, required))
        {
            set |= value switch
            {
                "push" => AccessSet.Push,
                "search" => AccessSet.Search,
                "alert" => AccessSet.Alert,
                _ => throw Error(source, node, $"{field}.{key}", $"unknown access '{value}' (push, search, alert)"),
            };
        }
        return set;
    }

    private static ushort PurposeList(string source, YamlMappingNode m, string key, string field, bool required)
    {
        ushort set = 0;
        foreach (var (value, node) in List(source, m, key, field, required))
        {
            if (!Events.Purposes.TryParse(Encoding.UTF8.GetBytes(value), out Events.Purpose p))
            {
                throw Error(source, node, $"{field}.{key}", $"unknown purpose '{value}'");
            }
            set |= (ushort)(1 << (int)p);
        }
        return set;
    }

    /// <summary>
    /// A key as an error names it: an empty or blank one (<c>"": x</c>) would otherwise name no field.
    /// </summary>
    private static string KeyName(string key) => string.IsNullOrWhiteSpace(key) ? "(empty key)" : key;

    private static PolicyException Error(string source, YamlNode node, string field, string message) =>
        new(source, (int)node.Start.Line, field, message);

    private static string Scalar(string source, YamlNode node, string field) =>
        node is YamlScalarNode { Value: { } v } ? v : throw Error(source, node, field, "must be a plain value");

    private static string Required(string source, YamlMappingNode map, string key, string? field = null) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? n)
            ? Scalar(source, n, field ?? key)
            : throw Error(source, map, field ?? key, "required");

    private static string? Optional(string source, YamlMappingNode map, string key, string field) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? n) ? Scalar(source, n, field) : null;

    private static bool Bool(string source, YamlNode node, string field) => Scalar(source, node, field) switch
    {
        "true" => true,
        "false" => false,
        var v => throw Error(source, node, field, $"'{v}' is not true or false"),
    };

    private static TimeSpan Duration(string source, YamlNode node, string field)
    {
        string text = Scalar(source, node, field);
        return Durations.TryParse(text, out TimeSpan t) && t > TimeSpan.Zero
            ? t
            : throw Error(source, node, field, $"'{text}' is not a duration such as 30d, 12h or 5m");
    }
}
