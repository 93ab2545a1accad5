using System.Text;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Policy;

/// <summary>The <c>agreements</c> and <c>rules</c> sections: entries, their ids and members.</summary>
public static partial class PolicyLoader
{
    private static readonly HashSet<string> s_agreementKeys =
        ["id", "owners", "recipients", "access", "purposes", "expires", "citation"];
    private static readonly HashSet<string> s_ruleKeys =
        ["id", "owners", "deny_purposes", "deny_recipients", "deny_access", "citation"];

    private static IEnumerable<YamlMappingNode> Entries(string source, YamlMappingNode root, string section)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(section), out YamlNode? n)) yield break;
        if (n is YamlScalarNode { Value: null or "" }) yield break; // "agreements:" with nothing under it
        if (n is not YamlSequenceNode seq) throw Error(source, n, section, "must be a list");
        foreach (YamlNode item in seq)
        {
            yield return item as YamlMappingNode
                ?? throw Error(source, item, section + "[]", "each entry must be a mapping");
        }
    }

    private static string EntryId(string source, YamlMappingNode m, string section, HashSet<string> allowedKeys)
    {
        foreach (var (k, _) in m.Children)
        {
            string member = Scalar(source, k, section + "[]");
            if (!allowedKeys.Contains(member))
            {
                throw Error(source, k, $"{section}[].{KeyName(member)}", "unknown member");
            }
        }
        string id = Required(source, m, "id", section + "[].id");
        if (!IsId(id))
        {
            throw Error(source, m.Children[new YamlScalarNode("id")], section + "[].id",
                $"'{id}' must be 1-64 characters of [a-z0-9-]");
        }
        return id;
    }

    /// <summary>Whether <paramref name="id"/> is a valid agency, agreement or rule id: 1-64 of [a-z0-9-].</summary>
    public static bool IsId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private static AgreementConfig ReadAgreement(string source, YamlMappingNode m,
        IReadOnlyDictionary<string, bool> agencies)
    {
        string id = EntryId(source, m, "agreements", s_agreementKeys);
        string field = $"agreements[{id}]";
        long? expiresMs = null;
        string? expiresText = Optional(source, m, "expires", field + ".expires");
        if (expiresText is not null)
        {
            YamlNode node = m.Children[new YamlScalarNode("expires")];
            if (DateOnly.TryParseExact(expiresText, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.None, out DateOnly day))
            {
                // A date: the agreement holds through the end of that day (UTC) and expires at the next midnight;
                // the calendar's last day has none, and holds through its last millisecond.
                expiresMs = day == DateOnly.MaxValue
                    ? DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
                    : new DateTimeOffset(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)
                        .ToUnixTimeMilliseconds();
            }
            else if (Text.Rfc3339.TryParse(Encoding.UTF8.GetBytes(expiresText), out long ms))
            {
                expiresMs = ms;
            }
            else
            {
                throw Error(source, node, field + ".expires",
                    $"'{expiresText}' is not a date (2027-06-30) or an RFC 3339 timestamp");
            }
        }
        return new AgreementConfig
        {
            Id = id,
            Owners = AgencyList(source, m, "owners", field, agencies, required: true),
            Recipients = AgencyList(source, m, "recipients", field, agencies, required: true),
            Access = AccessList(source, m, "access", field, required: true),
            Purposes = PurposeList(source, m, "purposes", field, required: true),
            ExpiresAtMs = expiresMs,
            ExpiresText = expiresText,
            Citation = Optional(source, m, "citation", field + ".citation"),
            Line = (int)m.Start.Line,
        };
    }

    private static LocalRuleConfig ReadRule(string source, YamlMappingNode m,
        IReadOnlyDictionary<string, bool> agencies)
    {
        string id = EntryId(source, m, "rules", s_ruleKeys);
        string field = $"rules[{id}]";
        var rule = new LocalRuleConfig
        {
            Id = id,
            Owners = AgencyList(source, m, "owners", field, agencies, required: true),
            DenyPurposes = PurposeList(source, m, "deny_purposes", field, required: false),
            DenyRecipients = AgencyList(source, m, "deny_recipients", field, agencies, required: false),
            DenyAccess = AccessList(source, m, "deny_access", field, required: false),
            Citation = Required(source, m, "citation", field + ".citation"),
            Line = (int)m.Start.Line,
        };
        if (rule.DenyPurposes == 0 && rule.DenyRecipients.Count == 0 && rule.DenyAccess == AccessSet.None)
        {
            throw Error(source, m, field, "a rule needs at least one of deny_purposes, deny_recipients, deny_access");
        }
        if (string.IsNullOrWhiteSpace(rule.Citation))
        {
            throw Error(source, m, field + ".citation", "required: the local law or policy the rule enforces");
        }
        return rule;
    }
}
