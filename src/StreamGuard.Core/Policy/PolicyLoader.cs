using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Policy;

/// <summary>
/// Reads and validates the YAML policy file of SPEC §3. Every error names the file, the line and the field.
/// </summary>
/// <remarks>
/// Validation here is what the file alone can tell: syntax, unknown sections and members, duplicate ids, unknown
/// agencies, purposes and accesses, bad durations, key references that do not resolve, and an agency window longer
/// than its state's statute cap. What the statutes do to the agreements (nullified grants, expired agreements) is
/// the analysis of <see cref="PolicyCheck"/>, on the compiled policy.
/// </remarks>
public static class PolicyLoader
{
    private static readonly HashSet<string> s_topLevel = ["version", "default_retention", "agencies", "agreements", "rules", "search"];
    private static readonly HashSet<string> s_agencyKeys = ["id", "name", "state", "level", "retention", "declarations", "fusion_center", "key"];
    private static readonly HashSet<string> s_agreementKeys = ["id", "owners", "recipients", "access", "purposes", "expires", "citation"];
    private static readonly HashSet<string> s_ruleKeys = ["id", "owners", "deny_purposes", "deny_recipients", "deny_access", "citation"];

    public static PolicyDocument LoadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PolicyException(path, 0, "file", e.Message);
        }
        return Load(bytes, path, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
    }

    public static PolicyDocument Load(byte[] bytes, string source, string baseDirectory)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new PolicyException(source, (int)e.Start.Line, "yaml", e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet's scanner can fail on hostile bytes with an exception of its own (found by the fuzzer:
            // InvalidOperationException from Scanner.ScanPlainScalar) and no position: the file is refused all the same.
            throw new PolicyException(source, 0, "yaml", $"not readable as YAML ({e.Message})");
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new PolicyException(source, 1, "document", "expected one YAML mapping");
        }

        var warnings = new List<string>();
        foreach (var (k, _) in root.Children)
        {
            string key = Scalar(source, k, "key");
            if (!s_topLevel.Contains(key)) throw Error(source, k, KeyName(key), "unknown section");
        }

        string version = Required(source, root, "version");
        if (version != "1") throw Error(source, root.Children[new YamlScalarNode("version")], "version", "only version 1 is understood");

        TimeSpan defaultRetention = TimeSpan.FromDays(30);
        if (root.Children.TryGetValue(new YamlScalarNode("default_retention"), out YamlNode? dr))
        {
            defaultRetention = Duration(source, dr, "default_retention");
        }

        if (!root.Children.TryGetValue(new YamlScalarNode("agencies"), out YamlNode? agenciesNode) || agenciesNode is not YamlSequenceNode agencies)
        {
            throw new PolicyException(source, 1, "agencies", "a list of agencies is required");
        }
        var list = new List<AgencyConfig>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (YamlNode node in agencies)
        {
            if (node is not YamlMappingNode a) throw Error(source, node, "agencies[]", "each agency must be a mapping");
            var agency = ReadAgency(source, baseDirectory, a);
            if (!ids.Add(agency.Id)) throw Error(source, a, "agencies[].id", $"duplicate agency id '{agency.Id}'");
            list.Add(agency);
        }

        var search = new SearchSettings();
        if (root.Children.TryGetValue(new YamlScalarNode("search"), out YamlNode? s))
        {
            if (s is not YamlMappingNode sm) throw Error(source, s, "search", "must be a mapping");
            foreach (var (k, v) in sm.Children)
            {
                string key = Scalar(source, k, "search");
                search = key switch
                {
                    "require_case_number" => search with { RequireCaseNumber = Bool(source, v, "search.require_case_number") },
                    "require_reason" => search with { RequireReason = Bool(source, v, "search.require_reason") },
                    "max_window" => search with { MaxWindow = Duration(source, v, "search.max_window") },
                    "max_clock_skew" => search with { MaxClockSkew = Duration(source, v, "search.max_clock_skew") },
                    _ => throw Error(source, k, "search." + KeyName(key), "unknown setting"),
                };
            }
        }

        var agreements = new List<AgreementConfig>();
        var rules = new List<LocalRuleConfig>();
        var entryIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (YamlMappingNode m in Entries(source, root, "agreements"))
        {
            AgreementConfig agreement = ReadAgreement(source, m, ids);
            if (!entryIds.Add(agreement.Id)) throw Error(source, m, $"agreements[{agreement.Id}].id", $"duplicate id '{agreement.Id}' (agreement and rule ids share one namespace)");
            agreements.Add(agreement);
        }
        foreach (YamlMappingNode m in Entries(source, root, "rules"))
        {
            LocalRuleConfig rule = ReadRule(source, m, ids);
            if (!entryIds.Add(rule.Id)) throw Error(source, m, $"rules[{rule.Id}].id", $"duplicate id '{rule.Id}' (agreement and rule ids share one namespace)");
            rules.Add(rule);
        }

        return new PolicyDocument
        {
            Source = source,
            Hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)),
            DefaultRetention = defaultRetention,
            Agencies = list,
            Search = search,
            Agreements = agreements,
            Rules = rules,
            Warnings = warnings,
        };
    }

    private static AgencyConfig ReadAgency(string source, string baseDirectory, YamlMappingNode a)
    {
        foreach (var (k, _) in a.Children)
        {
            string member = Scalar(source, k, "agencies[]");
            if (!s_agencyKeys.Contains(member)) throw Error(source, k, "agencies[]." + KeyName(member), "unknown member");
        }
        string id = Required(source, a, "id", "agencies[].id");
        if (id.Length is 0 or > 64 || !id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
        {
            throw Error(source, a, "agencies[].id", $"'{id}' must be 1-64 characters of [a-z0-9-]");
        }
        string field = $"agencies[{id}]";
        string levelText = Required(source, a, "level", field + ".level");
        AgencyLevel level = levelText switch
        {
            "local" => AgencyLevel.Local,
            "county" => AgencyLevel.County,
            "state" => AgencyLevel.State,
            "federal" => AgencyLevel.Federal,
            "tribal" => AgencyLevel.Tribal,
            "private" => AgencyLevel.Private,
            _ => throw Error(source, a, field + ".level", $"'{levelText}' is not one of local, county, state, federal, tribal, private"),
        };
        string? state = Optional(source, a, "state", field + ".state");
        if (state is not null && (state.Length != 2 || !state.All(char.IsAsciiLetterUpper)))
        {
            throw Error(source, a, field + ".state", $"'{state}' is not a two-letter upper-case state");
        }
        if (state is null && level != AgencyLevel.Federal) throw Error(source, a, field + ".state", "required for every agency that is not federal");
        if (state is not null && level == AgencyLevel.Federal) throw Error(source, a, field + ".state", "federal agencies have no state");

        TimeSpan? retention = null;
        if (a.Children.TryGetValue(new YamlScalarNode("retention"), out YamlNode? r))
        {
            retention = Duration(source, r, field + ".retention");
            if (StatuteRules.RetentionCapFor(state) is { } cap && retention > cap.CapFor(level))
            {
                throw Error(source, r, field + ".retention",
                    $"{Durations.Format(retention.Value)} is longer than the statute cap of {Durations.Format(cap.CapFor(level))} ({cap.Id}, {cap.Citation}); an agency may only choose a shorter window");
            }
        }

        var declarations = new List<string>();
        if (a.Children.TryGetValue(new YamlScalarNode("declarations"), out YamlNode? d))
        {
            if (d is not YamlSequenceNode ds) throw Error(source, d, field + ".declarations", "must be a list");
            foreach (YamlNode item in ds) declarations.Add(Scalar(source, item, field + ".declarations[]"));
        }
        bool fusion = a.Children.TryGetValue(new YamlScalarNode("fusion_center"), out YamlNode? f) && Bool(source, f, field + ".fusion_center");

        // key: env:NAME | file:PATH, or a list of them while a key is rotated (all verify; the first signs).
        string? keyRef = null;
        var keys = new List<byte[]>();
        if (a.Children.TryGetValue(new YamlScalarNode("key"), out YamlNode? keyNode))
        {
            IEnumerable<YamlNode> refs = keyNode is YamlSequenceNode list ? list.Children : [keyNode];
            var texts = new List<string>();
            foreach (YamlNode node in refs)
            {
                string text = Scalar(source, node, field + ".key");
                byte[]? key = ResolveKey(text, baseDirectory, out string? problem);
                if (key is null) throw Error(source, node, field + ".key", problem!);
                if (keys.Any(k => k.AsSpan().SequenceEqual(key))) throw Error(source, node, field + ".key", $"'{text}' is the same key as one listed before it");
                keys.Add(key);
                texts.Add(text);
            }
            if (keys.Count == 0) throw Error(source, keyNode, field + ".key", "an empty list: give a key reference, or leave key out");
            keyRef = string.Join(", ", texts);
        }

        return new AgencyConfig
        {
            Id = id,
            Name = Optional(source, a, "name", field + ".name"),
            State = state,
            Level = level,
            Retention = retention,
            Declarations = declarations,
            FusionCenter = fusion,
            KeyRef = keyRef,
            Key = keys.Count > 0 ? keys[0] : null,
            Keys = keys,
            Line = (int)a.Start.Line,
        };
    }

    private static IEnumerable<YamlMappingNode> Entries(string source, YamlMappingNode root, string section)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(section), out YamlNode? n)) yield break;
        if (n is YamlScalarNode { Value: null or "" }) yield break; // "agreements:" with nothing under it
        if (n is not YamlSequenceNode seq) throw Error(source, n, section, "must be a list");
        foreach (YamlNode item in seq)
        {
            yield return item as YamlMappingNode ?? throw Error(source, item, section + "[]", "each entry must be a mapping");
        }
    }

    private static string EntryId(string source, YamlMappingNode m, string section, HashSet<string> allowedKeys)
    {
        foreach (var (k, _) in m.Children)
        {
            string member = Scalar(source, k, section + "[]");
            if (!allowedKeys.Contains(member)) throw Error(source, k, $"{section}[].{KeyName(member)}", "unknown member");
        }
        string id = Required(source, m, "id", section + "[].id");
        if (!IsId(id)) throw Error(source, m.Children[new YamlScalarNode("id")], section + "[].id", $"'{id}' must be 1-64 characters of [a-z0-9-]");
        return id;
    }

    private static bool IsId(string id) => id.Length is > 0 and <= 64 && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private static AgreementConfig ReadAgreement(string source, YamlMappingNode m, HashSet<string> agencies)
    {
        string id = EntryId(source, m, "agreements", s_agreementKeys);
        string field = $"agreements[{id}]";
        long? expiresMs = null;
        string? expiresText = Optional(source, m, "expires", field + ".expires");
        if (expiresText is not null)
        {
            YamlNode node = m.Children[new YamlScalarNode("expires")];
            if (DateOnly.TryParseExact(expiresText, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out DateOnly day))
            {
                // A date: the agreement holds through the end of that day (UTC) and expires at the next midnight.
                expiresMs = new DateTimeOffset(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
            }
            else if (Text.Rfc3339.TryParse(Encoding.UTF8.GetBytes(expiresText), out long ms))
            {
                expiresMs = ms;
            }
            else
            {
                throw Error(source, node, field + ".expires", $"'{expiresText}' is not a date (2027-06-30) or an RFC 3339 timestamp");
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

    private static LocalRuleConfig ReadRule(string source, YamlMappingNode m, HashSet<string> agencies)
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
        if (string.IsNullOrWhiteSpace(rule.Citation)) throw Error(source, m, field + ".citation", "required: the local law or policy the rule enforces");
        return rule;
    }

    private static IEnumerable<(string Value, YamlNode Node)> List(string source, YamlMappingNode m, string key, string field, bool required)
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

    private static List<string> AgencyList(string source, YamlMappingNode m, string key, string field, HashSet<string> agencies, bool required)
    {
        var list = new List<string>();
        foreach (var (value, node) in List(source, m, key, field, required))
        {
            if (!agencies.Contains(value)) throw Error(source, node, $"{field}.{key}", $"unknown agency '{value}'");
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

    /// <summary>A key as an error names it: an empty or blank one (<c>"": x</c>) would otherwise name no field.</summary>
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
