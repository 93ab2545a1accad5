using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Output;
using StreamGuard.Policy;
using StreamGuard.Text;

namespace StreamGuard.Audit;

/// <summary>
/// Writes the hash-chained audit records of SPEC §7: one chain per input partition, each record's
/// <c>hash</c> = SHA-256 over the previous hash (hex) and the record's canonical bytes.
/// </summary>
/// <remarks>
/// Canonical bytes are the record exactly as written but without its <c>hash</c> member, which is always the
/// last member: strip the trailing <c>,"hash":"…"</c> (75 bytes before the closing brace) to get them back.
/// A chain starts from the genesis hash, hex SHA-256 of <c>streamguard:genesis:&lt;chain&gt;</c>.
/// Usage per record: <see cref="Begin"/>, write optional members on <see cref="Writer"/>, then <see cref="Complete"/>.
/// Records are compact UTF-8 JSON; raw plates never appear, only <c>plate_ref</c>, an HMAC under the audit key.
/// </remarks>
internal sealed class AuditLog
{
    private const int HashHexLength = 64;

    private readonly IOutputSink _sink;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    // Reusable HMAC contexts (keyed once) instead of the one-shot HMACSHA256.HashData, which keys a new context
    // on every call.
    private readonly IncrementalHash _plateMac;
    private readonly IncrementalHash _idMac;
    private readonly Dictionary<int, Chain> _chains = [];
    private Chain? _current;
    private byte[] _policyHash = [];
    // Every policy version put in force, in order: a chain that was idle across several versions opens each of them,
    // so what each change granted and revoked is recorded even if no decision was made under it.
    private readonly List<PolicyVersionInfo> _versions = [];
    private int _policyVersion = -1;

    private sealed record PolicyVersionInfo(
        byte[] Hash, string Source, int Agencies, int Agreements, PolicyChangeSummary? Change);

    public AuditLog(byte[] auditKey, IOutputSink sink)
    {
        _idMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, auditKey);
        _plateMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, auditKey);
        _sink = sink;
        _writer = new Utf8JsonWriter(_buffer,
            new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>
    /// Puts a policy version in force: every record after it names its hash, and each chain's next record is preceded
    /// by a <c>policy_load</c> record for it, carrying what the change did against the version before
    /// (<paramref name="change"/>: counts of outcomes granted and revoked with the first of each).
    /// </summary>
    public void SetPolicy(CompiledPolicy policy, PolicyChangeSummary? change)
    {
        _policyHash = System.Text.Encoding.UTF8.GetBytes(policy.Hash);
        _versions.Add(new PolicyVersionInfo(_policyHash, policy.Document.Source, policy.Document.Agencies.Count,
            policy.AgreementCount, change));
        _policyVersion = _versions.Count - 1;
    }

    /// <summary>
    /// The writer of the record being built (between <see cref="Begin"/> and <see cref="Complete"/>).
    /// </summary>
    public Utf8JsonWriter Writer => _writer;

    /// <summary>Records written since start.</summary>
    public long Count { get; private set; }

    /// <summary>The id of the last completed record (valid until the next <see cref="Begin"/>).</summary>


    /// <summary>
    /// Continues chain <c>p&lt;partition&gt;</c> after its last record already written (read back from the audit topic
    /// when a worker is assigned the partition, after a restart or a rebalance): the next record gets
    /// <paramref name="lastSeq"/> + 1 and links to <paramref name="lastHashHex"/>. Its next record is preceded by a
    /// <c>policy_load</c>, so the chain says which policy the new owner of the partition enforces.
    /// </summary>
    public void ResumeChain(int partition, long lastSeq, string lastHashHex)
    {
        if (lastHashHex.Length != HashHexLength)
        {
            throw new ArgumentException("a chain head is a hex SHA-256", nameof(lastHashHex));
        }
        if (!_chains.TryGetValue(partition, out Chain? chain))
        {
            chain = new Chain(partition);
            _chains.Add(partition, chain);
        }
        chain.Seq = lastSeq;
        System.Text.Encoding.ASCII.GetBytes(lastHashHex, chain.PrevHex);
        chain.PolicyVersion = -1;
    }

    /// <summary>
    /// Forgets chain <c>p&lt;partition&gt;</c> (its partition was revoked): if it comes back, it is resumed from Kafka.
    /// </summary>
    public void ForgetChain(int partition) => _chains.Remove(partition);

    /// <summary>The last (seq, hash) written on a chain, or null when this log has not written or resumed it.</summary>
    public (long Seq, string HashHex)? ChainHead(int partition) =>
        _chains.TryGetValue(partition, out Chain? c) ? (c.Seq, System.Text.Encoding.ASCII.GetString(c.PrevHex)) : null;

    /// <summary>
    /// Starts a record on the chain of <paramref name="partition"/>; writes id, chain, seq, prev, at, event, decision
    /// and code.
    /// </summary>
    public void Begin(int partition, ReadOnlySpan<byte> eventKind, bool allow, ReadOnlySpan<byte> code, long atMs)
    {
        if (!_chains.TryGetValue(partition, out Chain? chain))
        {
            chain = new Chain(partition);
            _chains.Add(partition, chain);
        }
        if (chain.PolicyVersion != _policyVersion)
        {
            // A new or resumed chain opens with the version in force; a chain of this process opens every version it
            // missed.
            int first = chain.PolicyVersion < 0 ? _policyVersion : chain.PolicyVersion + 1;
            for (int v = first; v <= _policyVersion; v++) OpenChain(chain, v, atMs);
        }
        Header(chain, eventKind, allow, code, atMs, _policyHash);
    }

    /// <summary>
    /// Every chain opens with a <c>policy_load</c> record naming the policy in force (file and hash), so each
    /// decision after it can be traced to the exact policy that made it.
    /// </summary>
    private void OpenChain(Chain chain, int version, long atMs)
    {
        PolicyVersionInfo info = _versions[version];
        chain.PolicyVersion = version;
        Header(chain, "policy_load"u8, true, "policy.load"u8, atMs, info.Hash);
        _writer.WriteString("rule"u8, "POLICY"u8);
        _writer.WriteString("file"u8, info.Source);
        _writer.WriteNumber("agencies"u8, info.Agencies);
        _writer.WriteNumber("agreements"u8, info.Agreements);
        if (info.Change is { } c)
        {
            if (c.PreviousHash is null) _writer.WriteNull("previous"u8);
            else _writer.WriteString("previous"u8, c.PreviousHash);
            _writer.WriteNumber("granted"u8, c.Granted);
            _writer.WriteNumber("revoked"u8, c.Revoked);
            WriteOutcome("first_granted"u8, c.FirstGranted);
            WriteOutcome("first_revoked"u8, c.FirstRevoked);
        }
        Complete();
    }

    private void WriteOutcome(ReadOnlySpan<byte> name, OutcomeChange? change)
    {
        if (change is not { } x) return;
        _writer.WriteStartObject(name);
        _writer.WriteString("owner"u8, x.Owner);
        _writer.WriteString("recipient"u8, x.Recipient);
        _writer.WriteString("access"u8, PolicyExplainer.AccessName(x.Access));
        _writer.WriteString("purpose"u8, Events.Purposes.Name(x.Purpose));
        _writer.WriteString("from"u8, DecisionCodes.Text(x.Old.Code));
        _writer.WriteString("to"u8, DecisionCodes.Text(x.New.Code));
        _writer.WriteString("rule"u8, x.New.Allowed ? x.New.Rule : x.Old.Rule);
        _writer.WriteEndObject();
    }

    private void Header(Chain chain, ReadOnlySpan<byte> eventKind, bool allow, ReadOnlySpan<byte> code, long atMs,
        ReadOnlySpan<byte> policyHash)
    {
        _current = chain;
        chain.Seq++;
        chain.FormatId(_idMac);

        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteString("id"u8, chain.Id.AsSpan(0, chain.IdLength));
        _writer.WriteString("chain"u8, chain.Name);
        _writer.WriteNumber("seq"u8, chain.Seq);
        _writer.WriteString("prev"u8, chain.PrevHex);
        Span<byte> at = stackalloc byte[Rfc3339.FormattedLength];
        Rfc3339.Format(atMs, at);
        _writer.WriteString("at"u8, at);
        _writer.WriteString("event"u8, eventKind);
        _writer.WriteString("decision"u8, allow ? "allow"u8 : "deny"u8);
        _writer.WriteString("code"u8, code);
        _writer.WriteString("policy"u8, policyHash);
    }

    /// <summary>Writes <c>plate_ref</c>: hex HMAC-SHA256 of the normalised plate under the audit key.</summary>
    public void WritePlateRef(ulong plate)
    {
        Span<byte> text = stackalloc byte[Plate.MaxLength];
        int n = Plate.Unpack(plate, text);
        Span<byte> mac = stackalloc byte[32];
        _plateMac.AppendData(text[..n]);
        _plateMac.GetHashAndReset(mac);
        Span<byte> hex = stackalloc byte[64];
        HexLower(mac, hex);
        _writer.WriteString("plate_ref"u8, hex);
    }

    /// <summary>Computes the hash, closes the record and hands it to the sink. Returns the record's id.</summary>
    public ReadOnlySpan<byte> Complete()
    {
        Chain chain = _current ?? throw new InvalidOperationException("Complete without Begin");
        _writer.Flush();
        _sha.AppendData(chain.PrevHex);
        _sha.AppendData(_buffer.WrittenSpan);
        _sha.AppendData("}"u8);
        Span<byte> digest = stackalloc byte[32];
        _sha.GetHashAndReset(digest);
        HexLower(digest, chain.PrevHex);
        _writer.WriteString("hash"u8, chain.PrevHex);
        _writer.WriteEndObject();
        _writer.Flush();
        _sink.Audit(chain.Partition, _buffer.WrittenSpan);
        Count++;
        return chain.Id.AsSpan(0, chain.IdLength);
    }

    /// <summary>The plate reference for a plate, as text (tests and tools).</summary>
    public static string PlateRef(byte[] auditKey, ulong plate)
    {
        Span<byte> text = stackalloc byte[Plate.MaxLength];
        int n = Plate.Unpack(plate, text);
        return Convert.ToHexStringLower(HMACSHA256.HashData(auditKey, text[..n].ToArray()));
    }

    /// <summary>Genesis hash (hex) of a chain.</summary>
    public static string GenesisHex(string chain) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("streamguard:genesis:" + chain)));

    /// <summary>
    /// Checks one record against the previous hash: recomputes its hash from its canonical bytes.
    /// Returns the record's hash on success.
    /// </summary>
    public static bool VerifyRecord(ReadOnlySpan<byte> record, ReadOnlySpan<byte> prevHex, out string hash)
    {
        hash = string.Empty;
        const int tail = 9 + HashHexLength + 2; // ,"hash":" + hex + "}
        if (record.Length <= tail || !record[^tail..].StartsWith(",\"hash\":\""u8)
            || !record.EndsWith("\"}"u8))
        {
            return false;
        }
        ReadOnlySpan<byte> stated = record.Slice(record.Length - tail + 9, HashHexLength);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(prevHex);
        sha.AppendData(record[..^tail]);
        sha.AppendData("}"u8);
        Span<byte> digest = stackalloc byte[32];
        sha.GetHashAndReset(digest);
        Span<byte> hex = stackalloc byte[64];
        HexLower(digest, hex);
        hash = System.Text.Encoding.ASCII.GetString(stated);
        return hex.SequenceEqual(stated);
    }

    internal static void HexLower(ReadOnlySpan<byte> bytes, Span<byte> hex)
    {
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (int i = 0; i < bytes.Length; i++)
        {
            hex[2 * i] = digits[bytes[i] >> 4];
            hex[2 * i + 1] = digits[bytes[i] & 0xF];
        }
    }

    private sealed class Chain
    {
        public Chain(int partition)
        {
            Partition = partition;
            Name = System.Text.Encoding.ASCII.GetBytes(AuditChains.Name(partition));
            PrevHex = System.Text.Encoding.ASCII.GetBytes(GenesisHex(AuditChains.Name(partition)));
            Id = new byte[IdLength];
        }

        public int Partition { get; }
        public byte[] Name { get; }
        public byte[] PrevHex { get; }
        public byte[] Id { get; }
        public int IdLength => 32;
        public long Seq { get; set; }
        public int PolicyVersion { get; set; } = -1;

        /// <summary>
        /// The record id: 128 bits of HMAC-SHA256 of <c>id:&lt;chain&gt;:&lt;seq&gt;</c> under the audit key, in hex.
        /// Opaque on purpose: ids are handed to searchers in results, and consecutive numbers would tell them how
        /// many records (owners whose reads were withheld) lay between two of their answers.
        /// </summary>
        public void FormatId(IncrementalHash mac)
        {
            Span<byte> text = stackalloc byte[3 + 16 + 1 + 20];
            "id:"u8.CopyTo(text);
            int n = 3;
            Name.CopyTo(text[n..]);
            n += Name.Length;
            text[n++] = (byte)':';
            System.Buffers.Text.Utf8Formatter.TryFormat(Seq, text[n..], out int written);
            n += written;
            mac.AppendData(text[..n]);
            Span<byte> digest = stackalloc byte[32];
            mac.GetHashAndReset(digest);
            HexLower(digest[..16], Id);
        }
    }
}
