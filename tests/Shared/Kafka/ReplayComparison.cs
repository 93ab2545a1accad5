using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;

namespace StreamGuard.Tests.Support;

/// <summary>
/// What a worker wrote to its output topics against what the engine offline (<c>streamguard replay</c>'s engine) writes
/// for the same input, record by record after normalization.
/// </summary>
/// <remarks>
/// Audit entries are compared as exported decisions. Normalization drops only what legitimately differs between the
/// two runs: where and when a decision was made (audit <c>id</c>, <c>chain</c>, <c>seq</c>, <c>prev</c>, <c>hash</c>,
/// <c>at</c>, <c>source</c>; the HMAC ids
/// <c>alert_id</c> and <c>decision_id</c>, which cover the source). Decisions, codes, rules, owners, recipients, read
/// ids, plate references and retention dates must match. Audit <c>policy_load</c> records are left out: a worker writes
/// one per chain it starts, the offline engine one.
/// </remarks>
internal sealed class ReplayComparison
{
    private static readonly HashSet<string> s_volatile =
        ["id", "chain", "seq", "prev", "hash", "at", "source", "alert_id", "decision_id"];

    public Dictionary<string, List<string>> Kinds { get; } = [];

    /// <summary>
    /// The same records with repeated array elements removed (a read listed twice in one answer counts once).
    /// </summary>
    private Dictionary<string, List<string>> Collapsed { get; } = [];

    /// <summary>
    /// The offline engine's outputs for these inputs, in this order (tables first, then reads, then queries).
    /// </summary>
    public static ReplayComparison Offline(TestPolicy policy, IEnumerable<(string Key, string Value)> hotlists,
        IEnumerable<string> reads, IEnumerable<string> queries)
    {
        var sink = new MemorySink();
        var engine = TestEngine.Create(policy.Compiled, sink, TestPolicy.AuditKey);
        int line = 0;
        foreach (var (key, value) in hotlists)
        {
            engine.Hotlists.ApplyAndCheck(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value),
                EventSource.File("hotlists", ++line));
        }
        foreach (string r in reads) engine.ProcessRead(Encoding.UTF8.GetBytes(r), EventSource.File("reads", ++line));
        foreach (string q in queries)
        {
            engine.ProcessQuery(Encoding.UTF8.GetBytes(q), EventSource.File("queries", ++line));
        }
        var c = new ReplayComparison();
        c.Add("results", sink.Results);
        c.Add("shared", sink.SharedRecords.Select(s => s.Recipient + " " + s.Read));
        c.Add("alerts", sink.Alerts);
        c.Add("purges", sink.Purges);
        c.Add("audit", sink.AuditRecords);
        c.Add("dlq", sink.DeadLetters);
        return c;
    }

    /// <summary>The worker's outputs read back from the topics (read_committed).</summary>
    public static ReplayComparison FromTopics(KafkaTestCluster cluster, TimeSpan timeout)
    {
        var c = new ReplayComparison();
        // Each agency's topics hold only its own outputs: ReadToEnd checks every record compared.
        List<ConsumeResult<string?, string>> Read(OutputKind kind) => cluster.ReadToEnd(kind, timeout);
        c.Add("results", Read(OutputKind.Results).Select(r => r.Message.Value));
        c.Add("shared", Read(OutputKind.Shared).Select(r =>
            Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("sg-recipient")) + " " + r.Message.Value));
        c.Add("alerts", Read(OutputKind.Alerts).Select(r => r.Message.Value));
        c.Add("purges", Read(OutputKind.Purges).Select(r => r.Message.Value));
        c.Add("audit", cluster.AuditDecisions(timeout));
        c.Add("dlq", cluster.ReadToEnd(cluster.Topics.DeadLetter, timeout).Select(r => r.Message.Value));
        return c;
    }

    private void Add(string kind, IEnumerable<string> records)
    {
        var list = new List<string>();
        var collapsed = new List<string>();
        foreach (string record in records)
        {
            string normalized = Normalize(record, collapse: false);
            if (kind == "audit" && normalized.Contains("\"event\":\"policy_load\"", StringComparison.Ordinal)) continue;
            list.Add(normalized);
            collapsed.Add(Normalize(record, collapse: true));
        }
        list.Sort(StringComparer.Ordinal);
        Kinds[kind] = list;
        Collapsed[kind] = collapsed;
    }

    /// <summary>Records this run has more than once (as a multiset).</summary>
    public int Duplicates => Kinds.Values.Sum(l => l.Count - l.Distinct().Count());

    /// <summary>Records that list an element (a read id in an answer or an audit record) more than once.</summary>
    public int RecordsWithRepeatedElements =>
        Kinds.Sum(k => k.Value.Except(Collapsed[k.Key], StringComparer.Ordinal).Count());

    /// <summary>
    /// Differences against <paramref name="expected"/>: as multisets (every record exactly as often, every list
    /// exactly as long) or, when <paramref name="distinctOnly"/>, as sets (nothing missing, nothing extra; a record
    /// repeated, or an element repeated inside a record's list, allowed). Empty when equal.
    /// </summary>
    /// <remarks>
    /// As sets (the embedded cluster, where inputs and forwards arrive more than once), the engine's answer to a
    /// repeated input is also allowed next to the original's expected outcome: a query's <c>deny.replayed</c> refusal
    /// (its result and its audit decision) and a read's <c>drop.duplicate</c> decision. The mock shows an aborted
    /// transaction's records to read_committed readers, so a record forwarded to its plate's partition in a
    /// transaction that was then aborted (partitions lost) is decided there, and the copy forwarded again by the
    /// partition's next owner is, rightly, refused as a repeat; and a test producer retrying through injected faults
    /// writes a read twice. A real broker hides the aborted copy (compared exactly, with no faults injected).
    /// </remarks>
    public List<string> Differences(ReplayComparison expected, bool distinctOnly)
    {
        var problems = new List<string>();
        foreach (var (kind, want) in expected.Kinds)
        {
            IEnumerable<string> a = distinctOnly ? Collapsed[kind].Distinct() : Kinds[kind];
            IEnumerable<string> b = distinctOnly ? expected.Collapsed[kind].Distinct() : want;
            var missing = Minus(b, a);
            var extra = Minus(a, b);
            if (distinctOnly && kind is "results" or "audit" && extra.Exists(IsRepeatRefusal))
            {
                HashSet<string> decided = Ids(b, "query_id"), ingested = Ids(b, "reads");
                extra.RemoveAll(e => IsRepeatRefusal(e) && Ids([e], "query_id").IsSubsetOf(decided)
                    && Ids([e], "reads").IsSubsetOf(ingested));
            }
            if (missing.Count > 0) problems.Add($"{kind}: {missing.Count} missing, e.g. {missing[0]}");
            if (extra.Count > 0)
            {
                string repeated = distinctOnly ? "" : " (or repeated)";
                problems.Add($"{kind}: {extra.Count} not in the replay{repeated}, e.g. {extra[0]}");
            }
        }
        return problems;
    }

    private static bool IsRepeatRefusal(string record) =>
        record.Contains("\"code\":\"deny.replayed\"", StringComparison.Ordinal)
        || record.Contains("\"code\":\"drop.duplicate\"", StringComparison.Ordinal);

    /// <summary>The ids records name in <paramref name="member"/>: <c>query_id</c> (results and search decisions) or
    /// <c>reads</c> (audit decisions; a result's reads are objects and are not ids).</summary>
    private static HashSet<string> Ids(IEnumerable<string> records, string member)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (string r in records)
        {
            using var doc = JsonDocument.Parse(r);
            if (!doc.RootElement.TryGetProperty(member, out JsonElement v)) continue;
            if (v.ValueKind == JsonValueKind.String) ids.Add(v.GetString()!);
            else if (v.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement e in v.EnumerateArray())
                {
                    if (e.ValueKind == JsonValueKind.String) ids.Add(e.GetString()!);
                }
            }
        }
        return ids;
    }

    private static List<string> Minus(IEnumerable<string> from, IEnumerable<string> take)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string s in take) counts[s] = counts.GetValueOrDefault(s) + 1;
        var left = new List<string>();
        foreach (string s in from)
        {
            if (counts.TryGetValue(s, out int n) && n > 0) counts[s] = n - 1;
            else left.Add(s);
        }
        return left;
    }

    private static string Normalize(string json, bool collapse)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return json;
        }
        return Canonical(node, collapse);
    }

    private static string Canonical(JsonNode? node, bool collapse) => node switch
    {
        JsonObject o => "{" + string.Join(",", o
            .Where(p => !s_volatile.Contains(p.Key))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => JsonSerializer.Serialize(p.Key) + ":" + Canonical(p.Value, collapse))) + "}",
        JsonArray a => "[" + string.Join(",", collapse
            ? a.Select(e => Canonical(e, collapse)).Distinct()
            : a.Select(e => Canonical(e, collapse))) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };
}
