using System.Buffers;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Audit;

/// <summary>
/// The policy versions put in force, in order, each with the body of its <c>policy_load</c> audit entry rendered once:
/// what every entry under the version refers to instead of repeating it.
/// </summary>
/// <remarks>
/// The body states the policy file's hash and path, the build of StreamGuard and the hash of its statute table, what
/// the change granted and revoked against the version before, and three tables: <c>rules</c> (every rule id a decision
/// can name, with its citation), <c>retention</c> (each agency's retention rule) and <c>push</c> (per owner, the
/// recipients agreements push to and their purposes). <c>keys</c> fingerprints each agency's signing keys, so a
/// rotation shows in the log without disclosing a key; a change names the agencies whose keys it changed
/// (<c>key_changes</c>).
/// </remarks>
internal sealed class PolicyVersions(byte[] auditKey)
{
    /// <summary>Bytes of a key fingerprint (hex: twice as many characters).</summary>
    public const int FingerprintBytes = 16;

    private static readonly byte[] s_fingerprintDomain = "streamguard key fingerprint v1\0"u8.ToArray();

    /// <summary>Rule of the checks a query passes before any read is looked at.</summary>
    public const string PrecheckRule = "SEARCH.PRECHECK";

    /// <summary>Rule of a <c>policy_load</c> decision.</summary>
    public const string LoadRule = "POLICY";

    private static readonly JsonWriterOptions s_options =
        new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly List<byte[]> _bodies = [];

    public int Count => _bodies.Count;

    /// <summary>The build of StreamGuard that writes the log (its informational version).</summary>
    public static string Build { get; } =
        typeof(PolicyVersions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()
            ?.InformationalVersion
        ?? typeof(PolicyVersions).Assembly.GetName().Version?.ToString() ?? "unknown";

    public void Add(CompiledPolicy policy, PolicyChangeSummary? change) =>
        _bodies.Add(Render(policy, change, auditKey));

    /// <summary>Writes the <c>policy_load</c> member of version <paramref name="version"/>'s entry.</summary>
    public void WriteLoad(Utf8JsonWriter w, int version)
    {
        w.WritePropertyName("policy_load"u8);
        w.WriteRawValue(_bodies[version], skipInputValidation: true);
    }

    private static byte[] Render(CompiledPolicy policy, PolicyChangeSummary? change, byte[] auditKey)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, s_options))
        {
            w.WriteStartObject();
            w.WriteString("policy"u8, policy.Hash);
            w.WriteString("file"u8, policy.Document.Source);
            w.WriteString("build"u8, Build);
            w.WriteString("statutes"u8, StatuteRules.TableHash);
            w.WriteNumber("agencies"u8, policy.Document.Agencies.Count);
            w.WriteNumber("agreements"u8, policy.AgreementCount);
            if (change is { } c)
            {
                if (c.PreviousHash is null) w.WriteNull("previous"u8);
                else w.WriteString("previous"u8, c.PreviousHash);
                w.WriteNumber("granted"u8, c.Granted);
                w.WriteNumber("revoked"u8, c.Revoked);
                WriteOutcome(w, "first_granted"u8, c.FirstGranted);
                WriteOutcome(w, "first_revoked"u8, c.FirstRevoked);
                if (c.KeyChanges.Count > 0)
                {
                    w.WriteStartObject("key_changes"u8);
                    foreach (KeyChange k in c.KeyChanges) w.WriteString(k.Agency, k.KindText);
                    w.WriteEndObject();
                }
            }
            w.WriteStartObject("keys"u8);
            foreach (AgencyConfig a in policy.Document.Agencies)
            {
                if (a.Keys.Count > 0) w.WriteString(a.Id, KeyFingerprint(auditKey, a.Id, a.Keys));
            }
            w.WriteEndObject();
            WriteTables(w, policy);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteTables(Utf8JsonWriter w, CompiledPolicy policy)
    {
        w.WriteStartObject("rules"u8);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string rule, string citation) in policy.RuleTable())
        {
            if (seen.Add(rule)) w.WriteString(rule, citation);
        }
        if (seen.Add(PrecheckRule)) w.WriteString(PrecheckRule, "Query checks");
        if (seen.Add(LoadRule)) w.WriteString(LoadRule, "Policy version put in force");
        w.WriteEndObject();

        w.WriteStartObject("retention"u8);
        for (int i = 0; i < policy.Agencies.Count; i++) w.WriteString(policy.Agencies.IdOf(i), policy.RetentionRule(i));
        w.WriteEndObject();

        w.WriteStartObject("push"u8);
        for (int owner = 0; owner < policy.Agencies.Count; owner++)
        {
            ReadOnlySpan<PushTarget> targets = policy.PushTargets(owner);
            if (targets.IsEmpty) continue;
            w.WriteStartObject(policy.Agencies.IdOf(owner));
            foreach (PushTarget t in targets)
            {
                w.WritePropertyName(policy.Agencies.IdOf(t.Recipient));
                WritePurposes(w, t.Purposes);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// An agency's signing keys (all of them, in order: the first signs) as the audit names them: HMAC-SHA256 under the
    /// audit key over a domain label, the agency id and each key with its length, the first
    /// <see cref="FingerprintBytes"/> in hex. It changes with any key and is stable otherwise; without the audit key
    /// nobody can compute it, so a guessed key cannot be tested against the log, and two agencies' fingerprints never
    /// tell whether their keys are equal.
    /// </summary>
    public static string KeyFingerprint(byte[] auditKey, string agency, IReadOnlyList<byte[]> keys)
    {
        using var mac = System.Security.Cryptography.IncrementalHash.CreateHMAC(
            System.Security.Cryptography.HashAlgorithmName.SHA256, auditKey);
        mac.AppendData(s_fingerprintDomain);
        mac.AppendData(System.Text.Encoding.UTF8.GetBytes(agency));
        Span<byte> length = stackalloc byte[4];
        foreach (byte[] key in keys)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, key.Length);
            mac.AppendData(length);
            mac.AppendData(key);
        }
        return Convert.ToHexStringLower(mac.GetHashAndReset().AsSpan(0, FingerprintBytes));
    }

    /// <summary>Writes the purposes of a mask as an array of names.</summary>
    public static void WritePurposes(Utf8JsonWriter w, int mask)
    {
        w.WriteStartArray();
        for (int p = 0; p < Purposes.Count; p++)
        {
            if ((mask & (1 << p)) != 0) w.WriteStringValue(Purposes.Utf8Name((Purpose)p));
        }
        w.WriteEndArray();
    }

    private static void WriteOutcome(Utf8JsonWriter w, ReadOnlySpan<byte> name, OutcomeChange? change)
    {
        if (change is not { } x) return;
        w.WriteStartObject(name);
        w.WriteString("owner"u8, x.Owner);
        w.WriteString("recipient"u8, x.Recipient);
        w.WriteString("access"u8, PolicyExplainer.AccessName(x.Access));
        w.WriteString("purpose"u8, Purposes.Name(x.Purpose));
        w.WriteString("from"u8, DecisionCodes.Text(x.Old.Code));
        w.WriteString("to"u8, DecisionCodes.Text(x.New.Code));
        w.WriteString("rule"u8, x.New.Allowed ? x.New.Rule : x.Old.Rule);
        w.WriteEndObject();
    }
}
