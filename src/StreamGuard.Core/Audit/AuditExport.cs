using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StreamGuard.Audit;

/// <summary>
/// The audit log one decision at a time, in the verbose shape of SPEC §7's <c>audit export</c> (what SIEMs and reports
/// read): id, chain, seq, at, event, decision, code, rule, citation, policy hash, and the agencies, purpose, query and
/// reads the decision concerns. v2 entries are expanded with their chain's <c>policy_load</c> tables and their block's
/// salt (ids); v1 records are already one per decision and are given without <c>prev</c> and <c>hash</c>.
/// </summary>
/// <remarks>
/// Reading, not verifying (<see cref="AuditVerifier"/> does that): a line that is not a JSON object is skipped, and
/// entries after the last seal are given without ids. A JSON object that is no entry, seal or v1 record StreamGuard
/// could have written (a member named twice, a seq or policy version no 64-bit integer holds, a salt that is not hex,
/// a member of the wrong type) ends the reading with an <see cref="AuditFormatException"/> naming its line: a chain
/// verifies without a key, so a forged line can pass <see cref="AuditVerifier"/> and must still not be guessed at.
/// </remarks>
public static class AuditExport
{
    private static readonly JsonSerializerOptions s_options =
        new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private sealed record PolicyInfo(string Hash, JsonObject Rules, JsonObject Retention, JsonObject Push);

    /// <summary>The decisions of the log's lines, in order; line numbers count every line given, blank ones too.
    /// </summary>
    public static IEnumerable<string> Decisions(IEnumerable<string> lines)
    {
        var policies = new Dictionary<(string Chain, long Seq), PolicyInfo>();
        var pending = new List<(JsonObject Entry, long Line)>();
        long lineNo = 0;
        foreach (string line in lines)
        {
            lineNo++;
            if (JsonSafe(line, lineNo) is not JsonObject node) continue;
            if (node.ContainsKey("prev"))
            {
                node.Remove("prev");
                node.Remove("hash");
                // Given as written, but its seq is read as every decision's is: a 64-bit integer.
                yield return Read(lineNo, () =>
                {
                    _ = node["seq"]?.GetValue<long>();
                    return node.ToJsonString(s_options);
                });
            }
            else if (node.ContainsKey("salt"))
            {
                string chain = Str(node, "chain");
                byte[] salt = Read(lineNo, () => Convert.FromHexString(Str(node, "salt")));
                foreach ((JsonObject entry, long at) in pending)
                {
                    foreach (string d in Read(at, () => Expanded(entry, chain, salt, policies))) yield return d;
                }
                pending.Clear();
            }
            else
            {
                pending.Add((node, lineNo));
            }
        }
        foreach ((JsonObject entry, long at) in pending)
        {
            foreach (string d in Read(at, () => Expanded(entry, "", null, policies))) yield return d;
        }
    }

    /// <summary>An entry's decisions as text, all made before any is given (so a bad member gives none).</summary>
    private static List<string> Expanded(JsonObject e, string chain, byte[]? salt,
        Dictionary<(string, long), PolicyInfo> policies) =>
        [.. Expand(e, chain, salt, policies).Select(d => d.ToJsonString(s_options))];

    /// <summary>
    /// <paramref name="read"/> of line <paramref name="line"/>, its failures on a member of the wrong shape (a type,
    /// a number out of range, a member named twice, text that is not hex or not UTF-16) as an
    /// <see cref="AuditFormatException"/>.
    /// </summary>
    private static T Read<T>(long line, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException
            or KeyNotFoundException or JsonException)
        {
            throw new AuditFormatException(line, $"not an audit entry ({e.Message})");
        }
    }

    private static IEnumerable<JsonObject> Expand(JsonObject e, string chain, byte[]? salt,
        Dictionary<(string, long), PolicyInfo> policies)
    {
        long seq = e["seq"]?.GetValue<long>() ?? 0;
        int index = 0;
        if (e["policy_load"] is JsonObject load)
        {
            var info = new PolicyInfo(Str(load, "policy"), load["rules"] as JsonObject ?? [],
                load["retention"] as JsonObject ?? [], load["push"] as JsonObject ?? []);
            policies[(chain, seq)] = info;
            JsonObject d = Head("policy_load", true, "policy.load", PolicyVersions.LoadRule, info);
            foreach ((string name, JsonNode? value) in load)
            {
                if (name is not ("policy" or "rules" or "retention" or "push")) d[name] = value?.DeepClone();
            }
            yield return d;
            yield break;
        }
        PolicyInfo? policy = policies.GetValueOrDefault((chain, e["policy"]?.GetValue<long>() ?? -1));
        string plateRef = Str(e, "plate_ref");
        if (e.ContainsKey("read"))
        {
            string owner = Str(e, "owner"), read = Str(e, "read");
            string ingest = Str(e, "ingest");
            JsonObject d = Head("ingest", ingest == "allow.ingest", ingest, Retention(policy, owner), policy);
            yield return With(d, ("owner", owner), ("reads", new JsonArray(read)), ("plate_ref", plateRef));
            if (e["push"] is JsonObject push)
            {
                foreach ((string recipient, JsonNode? value) in push)
                {
                    if (value is not JsonArray a || a.Count < 2) continue;
                    string code = Text(a[0], "a push's code");
                    bool allow = code.StartsWith("allow", StringComparison.Ordinal);
                    JsonNode purposes = !allow ? new JsonArray()
                        : a.Count > 2 ? a[2]?.DeepClone() ?? throw new FormatException("a push's purposes are null")
                        : policy?.Push[owner]?[recipient]?.DeepClone() ?? new JsonArray();
                    d = Head("push", allow, code, Text(a[1], "a push's rule"), policy);
                    yield return With(d, ("owner", owner), ("recipient", recipient), ("purposes", purposes),
                        ("reads", new JsonArray(read)), ("plate_ref", plateRef));
                }
            }
            foreach (JsonObject alert in (e["alert"] as JsonArray ?? []).OfType<JsonObject>())
            {
                string code = Str(alert, "code");
                d = Head("alert", code.StartsWith("allow", StringComparison.Ordinal), code, Str(alert, "rule"), policy);
                d = With(d, ("owner", owner), ("recipient", Str(alert, "recipient")),
                    ("purpose", Str(alert, "purpose")), ("hotlist_id", Str(alert, "hotlist_id")));
                if (alert["case_number"] is not null) d["case_number"] = Str(alert, "case_number");
                yield return With(d, ("reads", new JsonArray(read)), ("plate_ref", plateRef));
            }
        }
        else if (e.ContainsKey("query"))
        {
            foreach (JsonObject s in (e["search"] as JsonArray ?? []).OfType<JsonObject>())
            {
                string code = Str(s, "code");
                JsonObject d = Head("search", code.StartsWith("allow", StringComparison.Ordinal), code,
                    s["rule"] is null ? null : Str(s, "rule"), policy);
                if (s["owner"] is not null) d["owner"] = Str(s, "owner");
                d = With(d, ("recipient", Str(e, "requester")), ("purpose", Str(e, "purpose")),
                    ("query_id", Str(e, "query")), ("user", Str(e, "user")));
                if (e["case_number"] is not null) d["case_number"] = Str(e, "case_number");
                if (s["reads"] is JsonArray reads) d["reads"] = reads.DeepClone();
                // The reads of the owner in the window, when not all are listed (a denial, or an answer's bound).
                if (s["matched"] is JsonValue matched) d["matched"] = matched.DeepClone();
                yield return With(d, ("plate_ref", plateRef));
            }
        }
        else if (e.ContainsKey("hold"))
        {
            JsonObject d = Head("hold", true, Str(e, "code"), Str(e, "hold"), policy, HoldCitation(e));
            foreach ((string name, JsonNode? value) in e)
            {
                if (name is not ("seq" or "at" or "policy" or "hold" or "code")) d[name] = value?.DeepClone();
            }
            d["hold_id"] = Str(e, "hold");
            yield return d;
        }
        else
        {
            foreach ((string owner, JsonNode? reads) in e["purge"] as JsonObject ?? [])
            {
                foreach (JsonNode? read in reads as JsonArray ?? [])
                {
                    JsonObject d = Head("purge", true, "purge.expired", Retention(policy, owner), policy);
                    yield return With(d, ("owner", owner), ("reads", new JsonArray(read?.GetValue<string>())));
                }
            }
            foreach (JsonObject hold in (e["retain"] as JsonArray ?? []).OfType<JsonObject>())
            {
                foreach (JsonNode? read in hold["reads"] as JsonArray ?? [])
                {
                    JsonObject d = Head("hold", true, "hold.retain", Str(hold, "hold"), policy, HoldCitation(hold));
                    d = With(d, ("owner", Str(hold, "owner")), ("hold_id", Str(hold, "hold")),
                        ("until", Str(hold, "until")));
                    if (hold["case_number"] is not null) d["case_number"] = Str(hold, "case_number");
                    yield return With(d, ("reads", new JsonArray(read?.GetValue<string>())));
                }
            }
        }

        JsonObject Head(string kind, bool allow, string code, string? rule, PolicyInfo? info, string? citation = null)
        {
            var d = new JsonObject
            {
                ["id"] = salt is null ? null : DecisionIds.Text(salt, seq, index),
                ["chain"] = chain,
                ["seq"] = seq,
                ["at"] = Str(e, "at"),
                ["event"] = kind,
                ["decision"] = allow ? "allow" : "deny",
                ["code"] = code,
            };
            index++;
            if (rule is not null)
            {
                d["rule"] = rule;
                d["citation"] = citation ?? info?.Rules[rule]?.GetValue<string>();
            }
            d["policy"] = info?.Hash;
            return d;
        }
    }

    private static string? Retention(PolicyInfo? policy, string owner) =>
        policy?.Retention[owner]?.GetValue<string>();

    private static string HoldCitation(JsonObject hold) => Str(hold, "kind") switch
    {
        "warrant" => "Hold: warrant",
        "preservation" => "Hold: preservation request",
        "investigation" => "Hold: investigation",
        _ => "Hold released",
    };

    private static JsonObject With(JsonObject d, params (string Name, JsonNode? Value)[] members)
    {
        foreach ((string name, JsonNode? value) in members) d[name] = value;
        return d;
    }

    private static string Str(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : "";

    private static string Text(JsonNode? node, string what) =>
        node is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException($"{what} is not a string");

    /// <summary>The line as JSON; null when it is not JSON (skipped); a member named twice is an error.</summary>
    private static JsonNode? JsonSafe(string line, long lineNo)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
        // An object's members are gathered on first use, where a duplicate name throws.
        if (node is JsonObject o) _ = Read(lineNo, () => o.Count);
        return node;
    }
}

/// <summary>A line of an audit log that is JSON but no entry, seal or record StreamGuard writes.</summary>
public sealed class AuditFormatException(long line, string message) : FormatException(message)
{
    /// <summary>The line, 1-based, counting every line given.</summary>
    public long Line { get; } = line;
}
