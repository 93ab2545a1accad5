using System.Security.Cryptography;
using YamlDotNet.RepresentationModel;

namespace StreamGuard.Policy;

/// <summary>The <c>agencies</c> section: one agency, its retention window against the statute cap, its keys.</summary>
public static partial class PolicyLoader
{
    private static readonly HashSet<string> s_agencyKeys =
        ["id", "name", "state", "level", "retention", "declarations", "fusion_center", "retired", "key"];

    /// <summary>A signing key an agency listed before: its reference, its agency and that agency's line.</summary>
    private sealed record KnownKey(byte[] Key, string Ref, string Agency, int Line);

    /// <summary>
    /// Reads one agency. <paramref name="known"/> holds the keys of the agencies read before it; this agency's keys
    /// are added to it.
    /// </summary>
    private static AgencyConfig ReadAgency(string source, string baseDirectory, YamlMappingNode a, List<KnownKey> known)
    {
        foreach (var (k, _) in a.Children)
        {
            string member = Scalar(source, k, "agencies[]");
            if (!s_agencyKeys.Contains(member))
            {
                throw Error(source, k, "agencies[]." + KeyName(member), "unknown member");
            }
        }
        string id = Required(source, a, "id", "agencies[].id");
        if (!IsId(id))
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
            _ => throw Error(source, a, field + ".level",
                $"'{levelText}' is not one of local, county, state, federal, tribal, private"),
        };
        string? state = Optional(source, a, "state", field + ".state");
        if (state is not null && (state.Length != 2 || !state.All(char.IsAsciiLetterUpper)))
        {
            throw Error(source, a, field + ".state", $"'{state}' is not a two-letter upper-case state");
        }
        if (state is null && level != AgencyLevel.Federal)
        {
            throw Error(source, a, field + ".state", "required for every agency that is not federal");
        }
        if (state is not null && level == AgencyLevel.Federal)
        {
            throw Error(source, a, field + ".state", "federal agencies have no state");
        }

        TimeSpan? retention = null;
        if (a.Children.TryGetValue(new YamlScalarNode("retention"), out YamlNode? r))
        {
            retention = Duration(source, r, field + ".retention");
            if (StatuteRules.RetentionCapFor(state) is { } cap && retention > cap.CapFor(level))
            {
                throw Error(source, r, field + ".retention",
                    $"{Durations.Format(retention.Value)} is longer than the statute cap of " +
                    $"{Durations.Format(cap.CapFor(level))} ({cap.Id}, {cap.Citation}); " +
                    "an agency may only choose a shorter window");
            }
        }

        var declarations = new List<string>();
        if (a.Children.TryGetValue(new YamlScalarNode("declarations"), out YamlNode? d))
        {
            if (d is not YamlSequenceNode ds) throw Error(source, d, field + ".declarations", "must be a list");
            foreach (YamlNode item in ds) declarations.Add(Scalar(source, item, field + ".declarations[]"));
        }
        bool fusion = a.Children.TryGetValue(new YamlScalarNode("fusion_center"), out YamlNode? f)
            && Bool(source, f, field + ".fusion_center");
        // The flag opens Maryland's reads (MD.NO_SHARING: no upload to anyone but the state fusion center, Md. Code,
        // Public Safety §3-509), so it is a fact only Maryland's state level can carry.
        if (fusion && !(state == "MD" && level == AgencyLevel.State))
        {
            throw Error(source, f!, field + ".fusion_center",
                "true only on Maryland's state fusion center (state: MD, level: state), the one recipient " +
                $"MD.NO_SHARING lets through; this agency is {state ?? "federal"}, level: {levelText}");
        }

        bool retired = a.Children.TryGetValue(new YamlScalarNode("retired"), out YamlNode? rt)
            && Bool(source, rt, field + ".retired");

        // key: env:NAME | file:PATH, or a list of them while a key is rotated (all verify; the first signs).
        string? keyRef = null;
        IReadOnlyList<string> keyRefs = [];
        var keys = new List<byte[]>();
        if (a.Children.TryGetValue(new YamlScalarNode("key"), out YamlNode? keyNode))
        {
            if (retired)
            {
                throw Error(source, keyNode, field + ".key", "a retired agency signs nothing: take its key out");
            }
            IEnumerable<YamlNode> refs = keyNode is YamlSequenceNode list ? list.Children : [keyNode];
            var texts = new List<string>();
            foreach (YamlNode node in refs)
            {
                string text = Scalar(source, node, field + ".key");
                byte[]? key = ResolveKey(text, baseDirectory, out string? problem);
                if (key is null) throw Error(source, node, field + ".key", problem!);
                if (keys.Any(k => k.AsSpan().SequenceEqual(key)))
                {
                    throw Error(source, node, field + ".key", $"'{text}' is the same key as one listed before it");
                }
                // A key two agencies share lets each sign queries as the other: refused by reference, and by the
                // bytes it resolves to (another file or variable with the same contents). The message names the
                // references, never the key.
                foreach (KnownKey other in known)
                {
                    if (other.Ref == text)
                    {
                        throw Error(source, node, field + ".key", $"'{text}' is also the key of agency " +
                            $"{other.Agency} (line {other.Line}): each agency needs its own signing key");
                    }
                    if (CryptographicOperations.FixedTimeEquals(other.Key, key))
                    {
                        throw Error(source, node, field + ".key", $"'{text}' resolves to the same key as " +
                            $"'{other.Ref}' of agency {other.Agency} (line {other.Line}): each agency needs its own " +
                            "signing key");
                    }
                }
                keys.Add(key);
                texts.Add(text);
            }
            if (keys.Count == 0)
            {
                throw Error(source, keyNode, field + ".key", "an empty list: give a key reference, or leave key out");
            }
            keyRef = string.Join(", ", texts);
            for (int i = 0; i < keys.Count; i++) known.Add(new KnownKey(keys[i], texts[i], id, (int)a.Start.Line));
            keyRefs = texts;
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
            Retired = retired,
            KeyRef = keyRef,
            KeyRefs = keyRefs,
            Key = keys.Count > 0 ? keys[0] : null,
            Keys = keys,
            Line = (int)a.Start.Line,
        };
    }
}
