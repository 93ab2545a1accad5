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
public static partial class PolicyLoader
{
    private static readonly HashSet<string> s_topLevel =
        ["version", "default_retention", "agencies", "agreements", "rules", "search"];

    public static PolicyDocument LoadFile(string path) =>
        Load(ReadFile(path), path, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");

    /// <summary>A policy or cases file's bytes; one it cannot read is a <see cref="PolicyException"/>.</summary>
    internal static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PolicyException(path, 0, "file",
                Directory.Exists(path) ? "a directory, not a file" : e.Message);
        }
    }

    /// <summary>
    /// The one YAML mapping that <paramref name="bytes"/> (a policy or a cases file) must be; anything else, including
    /// bytes YAML cannot read, is a <see cref="PolicyException"/> naming <paramref name="source"/>.
    /// </summary>
    internal static YamlMappingNode ReadRoot(byte[] bytes, string source, string expected)
    {
        var stream = new YamlStream();
        try
        {
            CheckDepth(bytes, source);
            using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new PolicyException(source, (int)e.Start.Line, "yaml", e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException
            or OverflowException)
        {
            // YamlDotNet's scanner can fail on hostile bytes with an exception of its own (found by the fuzzer:
            // InvalidOperationException from Scanner.ScanPlainScalar) and no position: the file is refused all the
            // same.
            throw new PolicyException(source, 0, "yaml", $"not readable as YAML ({e.Message})");
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new PolicyException(source, 1, "document", expected);
        }
        return root;
    }

    /// <summary>
    /// The deepest nesting of collections a policy or cases file may have (a policy needs four). YamlDotNet builds its
    /// node tree recursively: a file nested thousands deep would overflow the stack of the thread that reads it, and
    /// a stack overflow ends the process — a running worker's, on a reload.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Refuses a file nested deeper than <see cref="MaxDepth"/>, or with an alias the node tree could recurse into
    /// for ever, from YamlDotNet's event parser, which keeps its state on the heap (no recursion), before the tree is
    /// built. An alias adds depth without adding events: one of a collection (<c>? &amp;a [*a]</c> is a cycle), one
    /// before its anchor (YamlDotNet resolves it at the end: as a key it compares itself for ever), and one used as
    /// a mapping key are refused; a policy needs none of them (an alias of a scalar, as a value, stays allowed).
    /// </summary>
    private static void CheckDepth(byte[] bytes, string source)
    {
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8);
        var parser = new Parser(reader);
        // Anchor name → whether it anchors a collection (the latest definition counts, as for the tree).
        var anchors = new Dictionary<string, bool>(StringComparer.Ordinal);
        // Per open collection: a mapping, and whether its next node is a key.
        var open = new List<(bool Mapping, bool Key)>();
        while (parser.MoveNext())
        {
            YamlDotNet.Core.Events.ParsingEvent e = parser.Current!;
            if (e is YamlDotNet.Core.Events.SequenceEnd or YamlDotNet.Core.Events.MappingEnd)
            {
                open.RemoveAt(open.Count - 1);
                continue;
            }
            if (e is not YamlDotNet.Core.Events.NodeEvent and not YamlDotNet.Core.Events.AnchorAlias) continue;
            bool key = false;
            if (open.Count > 0 && open[^1].Mapping)
            {
                key = open[^1].Key;
                open[^1] = (true, !key);
            }
            switch (e)
            {
                case YamlDotNet.Core.Events.AnchorAlias alias:
                    string name = alias.Value.Value;
                    string? why = !anchors.TryGetValue(name, out bool collection) ? "an alias before its anchor"
                        : collection ? "an alias of a collection"
                        : key ? "an alias as a mapping key"
                        : null;
                    if (why is not null)
                    {
                        throw new PolicyException(source, (int)alias.Start.Line, "yaml",
                            $"*{name}: {why} (a policy needs none; aliases of scalars are accepted as values)");
                    }
                    break;
                case YamlDotNet.Core.Events.NodeEvent node:
                    bool starts = node is YamlDotNet.Core.Events.SequenceStart or YamlDotNet.Core.Events.MappingStart;
                    if (!node.Anchor.IsEmpty) anchors[node.Anchor.Value] = starts;
                    if (!starts) break;
                    open.Add((node is YamlDotNet.Core.Events.MappingStart, true));
                    if (open.Count > MaxDepth)
                    {
                        throw new PolicyException(source, (int)node.Start.Line, "yaml",
                            $"nested deeper than {MaxDepth} levels");
                    }
                    break;
            }
        }
    }

    public static PolicyDocument Load(byte[] bytes, string source, string baseDirectory)
    {
        YamlMappingNode root = ReadRoot(bytes, source, "expected one YAML mapping");

        var warnings = new List<string>();
        foreach (var (k, _) in root.Children)
        {
            string key = Scalar(source, k, "key");
            if (!s_topLevel.Contains(key)) throw Error(source, k, KeyName(key), "unknown section");
        }

        string version = Required(source, root, "version");
        if (version != "1")
        {
            throw Error(source, root.Children[new YamlScalarNode("version")], "version",
                "only version 1 is understood");
        }

        TimeSpan defaultRetention = TimeSpan.FromDays(30);
        if (root.Children.TryGetValue(new YamlScalarNode("default_retention"), out YamlNode? dr))
        {
            defaultRetention = Duration(source, dr, "default_retention");
        }

        if (!root.Children.TryGetValue(new YamlScalarNode("agencies"), out YamlNode? agenciesNode)
            || agenciesNode is not YamlSequenceNode agencies)
        {
            throw new PolicyException(source, 1, "agencies", "a list of agencies is required");
        }
        var list = new List<AgencyConfig>();
        var ids = new Dictionary<string, bool>(StringComparer.Ordinal); // id → retired
        var keys = new List<KnownKey>();
        AgencyConfig? fusionCenter = null;
        foreach (YamlNode node in agencies)
        {
            if (node is not YamlMappingNode a) throw Error(source, node, "agencies[]", "each agency must be a mapping");
            var agency = ReadAgency(source, baseDirectory, a, keys);
            if (!ids.TryAdd(agency.Id, agency.Retired))
            {
                throw Error(source, a, "agencies[].id", $"duplicate agency id '{agency.Id}'");
            }
            list.Add(agency);
            if (!agency.FusionCenter || agency.Retired) continue; // a retired one receives nothing
            if (fusionCenter is null) fusionCenter = agency;
            else
            {
                // Allowed (two flagged agencies may be one center's two systems), but each is a recipient of every
                // Maryland agency's reads: a reviewer must see it.
                warnings.Add($"{source}:{agency.Line}: agencies[{agency.Id}].fusion_center: a second agency marked " +
                    $"as Maryland's state fusion center (after {fusionCenter.Id}, line {fusionCenter.Line}); " +
                    "MD.NO_SHARING lets each of them receive Maryland's reads");
            }
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
                    "require_case_number" =>
                        search with { RequireCaseNumber = Bool(source, v, "search.require_case_number") },
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
            if (!entryIds.Add(agreement.Id))
            {
                throw Error(source, m, $"agreements[{agreement.Id}].id",
                    $"duplicate id '{agreement.Id}' (agreement and rule ids share one namespace)");
            }
            agreements.Add(agreement);
        }
        foreach (YamlMappingNode m in Entries(source, root, "rules"))
        {
            LocalRuleConfig rule = ReadRule(source, m, ids);
            if (!entryIds.Add(rule.Id))
            {
                throw Error(source, m, $"rules[{rule.Id}].id",
                    $"duplicate id '{rule.Id}' (agreement and rule ids share one namespace)");
            }
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
}
