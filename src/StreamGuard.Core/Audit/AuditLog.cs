using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Output;
using StreamGuard.Policy;
using StreamGuard.Text;

namespace StreamGuard.Audit;

/// <summary>
/// Writes the compact audit log of SPEC §7: one chain per input partition, one entry per input event (or eviction, or
/// policy version) listing its decisions, the entries of a chain grouped into blocks that each end with a seal.
/// </summary>
/// <remarks>
/// <para>An entry is one line of compact UTF-8 JSON: <c>{"seq":N,"at":…,"policy":P,…}</c>, where <c>policy</c> is the
/// sequence number of the chain's <c>policy_load</c> entry of the version in force. A block is a chain's entries since
/// its last seal followed by the seal line <c>{"chain":"pN","seq":last,"at":…,"salt":…,"hash":…}</c>, handed to the
/// sink as one value (lines joined by '\n'): one Kafka message, or lines of the replay file.</para>
/// <para>The block's hash is SHA-256 over the previous block's hash (64 hex digits; the chain's genesis hash for the
/// first), the block's entry lines each with its '\n', and the seal line without its <c>,"hash":"…"</c> member. The
/// seal's <c>salt</c> keys the block's decision ids (<see cref="DecisionIds"/>).</para>
/// <para>Usage per entry: <see cref="BeginEntry"/>, members and decisions on <see cref="Writer"/> (each decision takes
/// its index from <see cref="NextDecision"/>), then <see cref="EndEntry"/>. <see cref="Flush"/> seals every chain with
/// entries: the worker calls it before each commit, so a block never spans two transactions.</para>
/// </remarks>
internal sealed class AuditLog
{
    /// <summary>
    /// A block is sealed once its entries reach this many bytes, so it stays under 512 KiB unless one entry passes
    /// 128 KiB (a search listing thousands of reads).
    /// </summary>
    public const int SealAtBytes = 384 * 1024;

    private const int HashHexLength = 64;
    private const int PlateRefBytes = 16;
    private const int PlateRefCacheMinBits = 12;
    private const int PlateRefCacheMaxBits = 18;
    private const int PlateRefCacheWindow = 1 << 16;

    private readonly IOutputSink _sink;
    private readonly Utf8JsonWriter _writer;
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    // Reusable HMAC contexts keyed once, instead of one-shot calls that key a new context each time.
    private readonly IncrementalHash _plateMac;
    private readonly IncrementalHash _saltMac;
    private readonly Dictionary<int, Chain> _chains = [];
    private readonly List<Chain> _unsealed = [];
    private readonly PolicyVersions _versions;
    private Chain? _current;
    private int _nextDecision;
    // Plate → its reference in hex, by slot; a packed plate is never 0, so an empty slot matches nothing. The cache
    // starts small and doubles (to 2^18 slots, 10 MiB) while more than a quarter of a window of lookups miss: at most
    // six growths (two arrays each) in an engine's life, none per event after that.
    private ulong[] _plateRefPlates = new ulong[1 << PlateRefCacheMinBits];
    private byte[] _plateRefs = new byte[(1 << PlateRefCacheMinBits) * 2 * PlateRefBytes];
    private int _plateRefCacheBits = PlateRefCacheMinBits;
    private int _plateRefLookups;
    private int _plateRefMisses;

    /// <summary>Slots of the plate reference cache now.</summary>
    internal int PlateRefCacheSlots => _plateRefPlates.Length;

    /// <summary>
    /// Takes the plate reference cache to its largest size at once, as many misses would (allocation tests measure
    /// the per-event path past the cache's bounded growth).
    /// </summary>
    internal void GrowPlateRefCacheFully()
    {
        _plateRefCacheBits = PlateRefCacheMaxBits;
        _plateRefPlates = new ulong[1 << _plateRefCacheBits];
        _plateRefs = new byte[(1 << _plateRefCacheBits) * 2 * PlateRefBytes];
    }

    public AuditLog(byte[] auditKey, IOutputSink sink)
    {
        _plateMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, auditKey);
        _versions = new PolicyVersions(auditKey);
        _saltMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, auditKey);
        _sink = sink;
        _writer = new Utf8JsonWriter(new ArrayBufferWriter<byte>(1), RecordJson.Options);
    }

    /// <summary>
    /// Puts a policy version in force: each chain's next entry is preceded by a <c>policy_load</c> entry for it,
    /// stating what the change did against the version before (<paramref name="change"/>).
    /// </summary>
    public void SetPolicy(CompiledPolicy policy, PolicyChangeSummary? change) => _versions.Add(policy, change);

    /// <summary>
    /// The writer of the entry being built (between <see cref="BeginEntry"/> and <see cref="EndEntry"/>).
    /// </summary>
    public Utf8JsonWriter Writer => _writer;

    /// <summary>Entries written since start (policy loads included).</summary>
    public long Count { get; private set; }

    /// <summary>Decisions written since start.</summary>
    public long Decisions { get; private set; }

    /// <summary>
    /// Continues chain <c>pN</c> after its last block already written (read back from the audit topic when a worker is
    /// assigned the partition): the next entry gets <paramref name="lastSeq"/> + 1, the next block links to
    /// <paramref name="lastHashHex"/>, and the first entry is a <c>policy_load</c> naming the policy now enforced.
    /// </summary>
    public void ResumeChain(int partition, long lastSeq, string lastHashHex)
    {
        if (lastHashHex.Length != HashHexLength)
        {
            throw new ArgumentException("a chain head is a hex SHA-256", nameof(lastHashHex));
        }
        Chain chain = ChainOf(partition);
        if (chain.Entries != 0) throw new InvalidOperationException($"chain {partition} has unsealed entries");
        chain.Seq = lastSeq;
        System.Text.Encoding.ASCII.GetBytes(lastHashHex, chain.HashHex);
        chain.PolicyVersion = -1;
    }

    /// <summary>
    /// Forgets chain <c>pN</c> (its partition was revoked; its entries were flushed with the last commit): if it comes
    /// back, it is resumed from Kafka.
    /// </summary>
    public void ForgetChain(int partition)
    {
        if (_chains.Remove(partition, out Chain? chain)) _unsealed.Remove(chain);
    }

    /// <summary>
    /// Starts an entry on the chain of <paramref name="partition"/>, after the <c>policy_load</c> entries the chain has
    /// not yet written; writes <c>seq</c>, <c>at</c> and <c>policy</c>.
    /// </summary>
    public Utf8JsonWriter BeginEntry(int partition, long atMs)
    {
        Chain chain = ChainOf(partition);
        int inForce = _versions.Count - 1;
        if (chain.PolicyVersion != inForce)
        {
            // A new or resumed chain opens with the version in force; a chain of this process opens every version it
            // missed, so what each change granted and revoked is on every chain.
            int first = chain.PolicyVersion < 0 ? inForce : chain.PolicyVersion + 1;
            for (int v = first; v <= inForce; v++)
            {
                Head(chain, atMs);
                _versions.WriteLoad(_writer, v);
                NextDecision();
                EndEntry();
                chain.PolicyVersion = v;
                chain.PolicySeq = chain.Seq;
            }
        }
        Head(chain, atMs);
        _writer.WriteNumber("policy"u8, chain.PolicySeq);
        return _writer;
    }

    private void Head(Chain chain, long atMs)
    {
        _current = chain;
        chain.Seq++;
        if (chain.Entries == 0)
        {
            _unsealed.Add(chain);
            chain.DeriveSalt(_saltMac);
        }
        _nextDecision = 0;
        chain.LastAtMs = atMs;
        _writer.Reset(chain.Block);
        _writer.WriteStartObject();
        _writer.WriteNumber("seq"u8, chain.Seq);
        WriteTime("at"u8, atMs);
    }

    /// <summary>The index of the entry's next decision (in the order its decisions are written).</summary>
    public int NextDecision()
    {
        Decisions++;
        return _nextDecision++;
    }

    /// <summary>Writes the id of decision <paramref name="index"/> of the entry being built (32 hex digits).</summary>
    public void DecisionId(int index, Span<byte> hex)
    {
        Chain chain = _current ?? throw new InvalidOperationException("no entry begun");
        DecisionIds.Format(chain.Salt, chain.Seq, index, hex);
    }

    /// <summary>
    /// Writes <c>plate_ref</c>: the first 128 bits of HMAC-SHA256 of the normalised plate under the audit key, in hex.
    /// </summary>
    public void WritePlateRef(ulong plate) => _writer.WriteString("plate_ref"u8, CachedPlateRef(plate));

    /// <summary>
    /// The first 64 bits of <paramref name="plate"/>'s <c>plate_ref</c> (what a restore compares), under the audit key
    /// in force, or under <paramref name="retiredKey"/> (a key the entry was made under before a rotation).
    /// </summary>
    public ulong PlateRefPrefix(ulong plate, byte[]? retiredKey = null)
    {
        ReadOnlySpan<byte> hex = retiredKey is null
            ? CachedPlateRef(plate)
            : System.Text.Encoding.ASCII.GetBytes(PlateRef(retiredKey, plate));
        TryPlateRefPrefix(hex, out ulong prefix);
        return prefix;
    }

    /// <summary>The first 64 bits of a <c>plate_ref</c> as written (hex); false when it is not one.</summary>
    public static bool TryPlateRefPrefix(ReadOnlySpan<byte> hex, out ulong prefix)
    {
        prefix = 0;
        return hex.Length >= 16 && ulong.TryParse(hex[..16], System.Globalization.NumberStyles.AllowHexSpecifier,
            System.Globalization.CultureInfo.InvariantCulture, out prefix);
    }

    /// <summary><c>plate_ref</c>'s 32 hex digits, from the cache (valid until the next lookup).</summary>
    private Span<byte> CachedPlateRef(ulong plate)
    {
        // Repeat vehicles are the rule: a direct-mapped cache of recent references saves the HMAC (and the crypto
        // library's per-call overhead) for most reads. A reference depends on the plate and the key alone, so the
        // cache never changes what is written.
        if (++_plateRefLookups == PlateRefCacheWindow)
        {
            if (_plateRefMisses > PlateRefCacheWindow / 4 && _plateRefCacheBits < PlateRefCacheMaxBits)
            {
                _plateRefCacheBits++;
                _plateRefPlates = new ulong[1 << _plateRefCacheBits];
                _plateRefs = new byte[(1 << _plateRefCacheBits) * 2 * PlateRefBytes];
            }
            _plateRefLookups = _plateRefMisses = 0;
        }
        int slot = (int)((plate * 0x9E3779B97F4A7C15UL) >> (64 - _plateRefCacheBits));
        Span<byte> cached = _plateRefs.AsSpan(slot * 2 * PlateRefBytes, 2 * PlateRefBytes);
        if (_plateRefPlates[slot] != plate)
        {
            _plateRefMisses++;
            Span<byte> text = stackalloc byte[Plate.MaxLength];
            int n = Plate.Unpack(plate, text);
            Span<byte> mac = stackalloc byte[32];
            _plateMac.AppendData(text[..n]);
            _plateMac.GetHashAndReset(mac);
            Hex.Lower(mac[..PlateRefBytes], cached);
            _plateRefPlates[slot] = plate;
        }
        return cached;
    }

    /// <summary>Writes a time member in RFC 3339, without milliseconds when they are zero.</summary>
    public void WriteTime(ReadOnlySpan<byte> name, long unixMs)
    {
        Span<byte> at = stackalloc byte[Rfc3339.FormattedLength];
        Rfc3339.Format(unixMs, at);
        if (unixMs % 1000 == 0)
        {
            at[19] = (byte)'Z';
            _writer.WriteString(name, at[..20]);
        }
        else
        {
            _writer.WriteString(name, at);
        }
    }

    /// <summary>Closes the entry as one line of its chain's block; seals the block once it is large enough.</summary>
    public void EndEntry()
    {
        Chain chain = _current ?? throw new InvalidOperationException("EndEntry without BeginEntry");
        _writer.WriteEndObject();
        _writer.Flush();
        chain.Block.GetSpan(1)[0] = (byte)'\n';
        chain.Block.Advance(1);
        chain.Entries++;
        Count++;
        _current = null;
        if (chain.Block.WrittenCount >= SealAtBytes)
        {
            Seal(chain);
            _unsealed.Remove(chain);
        }
    }

    /// <summary>Whether some chain has entries not yet sealed.</summary>
    public bool Pending => _unsealed.Count != 0;

    /// <summary>Seals every chain's entries written since its last seal and hands each block to the sink.</summary>
    public void Flush()
    {
        foreach (Chain chain in _unsealed) Seal(chain);
        _unsealed.Clear();
    }

    private void Seal(Chain chain)
    {
        _writer.Reset(chain.Block);
        _writer.WriteStartObject();
        _writer.WriteString("chain"u8, chain.Name);
        _writer.WriteNumber("seq"u8, chain.Seq);
        WriteTime("at"u8, chain.LastAtMs);
        Span<byte> salt = stackalloc byte[2 * DecisionIds.SaltLength];
        Hex.Lower(chain.Salt, salt);
        _writer.WriteString("salt"u8, salt);
        _writer.Flush();
        _sha.AppendData(chain.HashHex);
        _sha.AppendData(chain.Block.WrittenSpan);
        _sha.AppendData("}"u8);
        Span<byte> digest = stackalloc byte[32];
        _sha.GetHashAndReset(digest);
        Hex.Lower(digest, chain.HashHex);
        _writer.WriteString("hash"u8, chain.HashHex);
        _writer.WriteEndObject();
        _writer.Flush();
        _sink.Audit(chain.Partition, chain.Block.WrittenSpan);
        chain.Block.ResetWrittenCount();
        chain.Entries = 0;
    }

    private Chain ChainOf(int partition)
    {
        if (!_chains.TryGetValue(partition, out Chain? chain))
        {
            chain = new Chain(partition);
            _chains.Add(partition, chain);
        }
        return chain;
    }

    /// <summary>The plate reference of a plate, as text (tests and tools).</summary>
    public static string PlateRef(byte[] auditKey, ulong plate)
    {
        Span<byte> text = stackalloc byte[Plate.MaxLength];
        int n = Plate.Unpack(plate, text);
        return Convert.ToHexStringLower(HMACSHA256.HashData(auditKey, text[..n].ToArray()).AsSpan(0, PlateRefBytes));
    }

    /// <summary>Genesis hash (hex) of a chain.</summary>
    public static string GenesisHex(string chain) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("streamguard:genesis:" + chain)));

    /// <summary>
    /// A block's salt: the first 128 bits of HMAC-SHA256 of <c>ids:&lt;chain&gt;:&lt;first seq&gt;</c> under the audit
    /// key (<paramref name="mac"/>, keyed by it). Deterministic (a replay gives the same ids) and secret until the log
    /// is read; the writer derives it per block, the tail check of a resumed chain compares it.
    /// </summary>
    public static void BlockSalt(IncrementalHash mac, ReadOnlySpan<byte> chain, long firstSeq, Span<byte> salt)
    {
        Span<byte> text = stackalloc byte[4 + 16 + 1 + 20];
        "ids:"u8.CopyTo(text);
        int n = 4;
        chain.CopyTo(text[n..]);
        n += chain.Length;
        text[n++] = (byte)':';
        System.Buffers.Text.Utf8Formatter.TryFormat(firstSeq, text[n..], out int written);
        n += written;
        mac.AppendData(text[..n]);
        Span<byte> digest = stackalloc byte[32];
        mac.GetHashAndReset(digest);
        digest[..DecisionIds.SaltLength].CopyTo(salt);
    }

    private sealed class Chain
    {
        public Chain(int partition)
        {
            Partition = partition;
            Name = System.Text.Encoding.ASCII.GetBytes(AuditChains.Name(partition));
            HashHex = System.Text.Encoding.ASCII.GetBytes(GenesisHex(AuditChains.Name(partition)));
        }

        public int Partition { get; }
        public byte[] Name { get; }

        /// <summary>The hash of the last sealed block, in hex: what the next block links to.</summary>
        public byte[] HashHex { get; }

        public byte[] Salt { get; } = new byte[DecisionIds.SaltLength];
        public ArrayBufferWriter<byte> Block { get; } = new(4096);
        public long Seq { get; set; }

        /// <summary>Entries in <see cref="Block"/>, not yet sealed.</summary>
        public int Entries { get; set; }

        public int PolicyVersion { get; set; } = -1;
        public long PolicySeq { get; set; }
        public long LastAtMs { get; set; }

        /// <summary>The block's salt (<see cref="BlockSalt"/>), for the block beginning at <see cref="Seq"/>.</summary>
        public void DeriveSalt(IncrementalHash mac) => BlockSalt(mac, Name, Seq, Salt);
    }
}
