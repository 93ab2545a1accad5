using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using StreamGuard.Text;

namespace StreamGuard.Engine;

/// <summary>
/// What one audit chain says happened to its partition's reads (SPEC §7): which reads were stored (<c>allow.ingest</c>)
/// and to whom they were pushed, which were not (<c>drop.*</c>), and which were purged. A restore consults it so that
/// a restarted or rebalanced worker holds exactly the reads a worker that never stopped would hold: a read the log
/// says was purged, or never stored, does not come back, whatever the policy in force says now; a read it says is
/// still resident does, with the agencies that must get its purge notice.
/// </summary>
/// <remarks>
/// Fed with the chain's lines in order (entries and seals, <see cref="AddLine"/> or a block at a time with
/// <see cref="AddBlock"/>); other chains' lines must not be given. A read's fate is the last entry about it: a read
/// purged and stored again later (produced again while a hold kept nothing) is resident. <see cref="CoversFromMs"/>
/// bounds what the history can vouch for: a read that arrived before it and has no entry was decided before the part
/// of the chain that was read, and the restore falls back to its time-based rule for it. One history serves one
/// engine (it caches the engine's recipient sets). Memory: about 110 bytes per read of the span, for the restore only.
/// </remarks>
public sealed class ReadHistory
{
    private const byte Resident = 1;
    private const byte Gone = 2;

    private struct Fate
    {
        public byte State;
        public sbyte RefKey;    // the audit key of the last allow.ingest's plate_ref (NoPlateRef, UnknownKey, or a key)
        public int Recipients;  // index into _sets
        public ulong PlateRef;  // the first 64 bits of the last allow.ingest's plate_ref
    }

    private readonly Dictionary<string, Fate> _reads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Fate>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<string[]> _sets = [[]];
    private readonly Dictionary<string, int> _setIndex = new(StringComparer.Ordinal) { [""] = 0 };
    private readonly List<string> _pushed = [];
    private readonly List<string> _unsealed = []; // reads stored in the block being read, until its seal names its key
    private long _blockFirstSeq;

    private const sbyte NoPlateRef = -2;
    private const sbyte UnknownKey = -1;
    private int[] _engineSets = [];

    /// <summary>
    /// A history that vouches for every read that arrived at or after <paramref name="coversFromMs"/> (the chain was
    /// read from a block written before any of them); <see cref="long.MinValue"/> when read from the chain's start.
    /// </summary>
    public ReadHistory(long coversFromMs = long.MinValue)
    {
        CoversFromMs = coversFromMs;
        _lookup = _reads.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// Reads that arrived at or after this time have an entry if they were decided (set by whoever reads the chain:
    /// it knows where it started).
    /// </summary>
    public long CoversFromMs { get; set; }

    /// <summary>
    /// The <c>seq</c> of the last entry taken; an entry at or below it (a block seen twice) is skipped.
    /// </summary>
    public long LastSeq { get; private set; }

    /// <summary>
    /// The time (<c>at</c>) of the chain's last entry or seal given; <see cref="long.MinValue"/> before any.
    /// </summary>
    public long HeadAtMs { get; private set; } = long.MinValue;

    /// <summary>
    /// Which audit key salted a block (<see cref="Audit.AuditTailVerifier.KeyOf"/>: chain, first <c>seq</c>, salt →
    /// 0 for the key in force, 1 and on for retired ones, -1 for none): the <c>plate_ref</c> of its entries was made
    /// under that key. Null: every entry's under the key in force.
    /// </summary>
    public Func<string, long, string, int>? BlockKey { get; init; }

    /// <summary>Blocks whose salt no audit key given gives: their reads are matched by id only.</summary>
    public int UnknownKeyBlocks { get; private set; }

    /// <summary>Reads the log shows resident (stored and not purged since).</summary>
    public int ResidentCount { get; private set; }

    /// <summary>Of those, how many a restore put back.</summary>
    public int RestoredCount { get; internal set; }

    /// <summary>Adds a block: lines separated by <c>\n</c> (entries, then the seal).</summary>
    public void AddBlock(ReadOnlySpan<byte> block)
    {
        while (!block.IsEmpty)
        {
            int end = block.IndexOf((byte)'\n');
            AddLine(end < 0 ? block : block[..end]);
            block = end < 0 ? default : block[(end + 1)..];
        }
    }

    /// <summary>Adds one line of the chain (an entry or a seal; anything else is ignored).</summary>
    public void AddLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty || line[0] != (byte)'{') return;
        try
        {
            Read(line);
        }
        catch (JsonException)
        {
            // not an entry of this format: audit verify reports it; the history ignores it
        }
    }

    private void Read(ReadOnlySpan<byte> line)
    {
        var r = new Utf8JsonReader(line);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return;
        string? readId = null, owner = null, ingest = null, chain = null, salt = null;
        ulong? plateRef = null;
        bool v1 = false, seal = false;
        long at = long.MinValue, seq = 0;
        _pushed.Clear();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("seq"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out long n)) seq = n;
                // The block's first entry names its salt's seq, even when it is skipped below: a block read twice
                // (an aborted attempt, then the committed one) may begin before what was taken.
                if (!seal && _blockFirstSeq == 0) _blockFirstSeq = seq;
                // Entries come in seq order: one at or below the last taken is a copy (a block read twice).
                if (!seal && seq <= LastSeq) return;
            }
            else if (r.ValueTextEquals("chain"u8))
            {
                seal = true;
                chain = NextString(ref r);
            }
            else if (r.ValueTextEquals("salt"u8)) salt = NextString(ref r);
            else if (r.ValueTextEquals("read"u8)) readId = NextString(ref r);
            else if (r.ValueTextEquals("owner"u8)) owner = NextString(ref r);
            else if (r.ValueTextEquals("ingest"u8)) ingest = NextString(ref r);
            else if (r.ValueTextEquals("plate_ref"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.String && !r.ValueIsEscaped
                    && Audit.AuditLog.TryPlateRefPrefix(r.ValueSpan, out ulong prefix))
                {
                    plateRef = prefix;
                }
            }
            else if (r.ValueTextEquals("at"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.String && Rfc3339.TryParse(r.ValueSpan, out long ms)) at = ms;
            }
            else if (r.ValueTextEquals("prev"u8))
            {
                v1 = true;
                r.Read();
                r.Skip();
            }
            else if (r.ValueTextEquals("push"u8)) ReadPushes(ref r);
            else if (r.ValueTextEquals("purge"u8)) ReadPurges(ref r);
            else
            {
                r.Read();
                r.Skip();
            }
        }
        if (at != long.MinValue) HeadAtMs = at;
        if (seal && !v1)
        {
            Sealed(chain, salt);
            return;
        }
        if (!v1) LastSeq = seq;
        if (v1)
        {
            _blockFirstSeq = 0; // a v1 record is a block of its own
            // A record of a v1 chain: the history cannot vouch for reads decided up to here.
            if (at != long.MinValue && at > CoversFromMs) CoversFromMs = at;
            return;
        }
        if (readId is null || owner is null || ingest is null) return;
        string key = Key(owner, readId);
        ref Fate fate = ref CollectionsMarshal.GetValueRefOrAddDefault(_reads, key, out bool known);
        if (ingest == "allow.ingest")
        {
            if (fate.State != Resident) ResidentCount++;
            fate.State = Resident;
            fate.Recipients = SetOf(_pushed);
            fate.PlateRef = plateRef.GetValueOrDefault();
            if (!plateRef.HasValue) fate.RefKey = NoPlateRef;
            else if (BlockKey is null) fate.RefKey = 0;
            else
            {
                fate.RefKey = UnknownKey;
                _unsealed.Add(key);
            }
        }
        else if (!known)
        {
            fate.State = Gone; // never stored: expired on arrival, a duplicate, or refused
        }
    }

    /// <summary>A block's seal: its salt says which key made the <c>plate_ref</c> of the reads stored in it.</summary>
    private void Sealed(string? chain, string? salt)
    {
        if (_unsealed.Count > 0)
        {
            int key = chain is null || salt is null ? -1 : BlockKey!(chain, _blockFirstSeq, salt);
            if (key < 0) UnknownKeyBlocks++;
            foreach (string read in _unsealed)
            {
                ref Fate fate = ref CollectionsMarshal.GetValueRefOrNullRef(_reads, read);
                if (fate.RefKey == UnknownKey) fate.RefKey = (sbyte)Math.Clamp(key, -1, sbyte.MaxValue);
            }
            _unsealed.Clear();
        }
        _blockFirstSeq = 0;
    }

    private static string? NextString(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.String) return r.GetString();
        r.Skip();
        return null;
    }

    /// <summary><c>"push":{"recipient":[code, rule, purposes?]}</c>: the recipients whose decision allowed.</summary>
    private void ReadPushes(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return;
        }
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            string recipient = r.GetString()!;
            r.Read();
            if (r.TokenType != JsonTokenType.StartArray)
            {
                r.Skip();
                continue;
            }
            if (r.Read() && r.TokenType == JsonTokenType.String && r.ValueSpan.StartsWith("allow."u8))
            {
                _pushed.Add(recipient);
            }
            while (r.TokenType != JsonTokenType.EndArray)
            {
                if (r.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject) r.Skip();
                r.Read();
            }
        }
    }

    /// <summary><c>"purge":{"owner":["read id",…]}</c>: those reads are gone.</summary>
    private void ReadPurges(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return;
        }
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            string owner = r.GetString()!;
            r.Read();
            if (r.TokenType != JsonTokenType.StartArray)
            {
                r.Skip();
                continue;
            }
            while (r.Read() && r.TokenType == JsonTokenType.String)
            {
                ref Fate fate = ref CollectionsMarshal.GetValueRefOrAddDefault(_reads, Key(owner, r.GetString()!),
                    out _);
                if (fate.State == Resident) ResidentCount--;
                fate.State = Gone;
            }
        }
    }

    private int SetOf(List<string> recipients)
    {
        if (recipients.Count == 0) return 0;
        recipients.Sort(StringComparer.Ordinal);
        string name = string.Join('\n', recipients);
        if (_setIndex.TryGetValue(name, out int set)) return set;
        set = _sets.Count;
        _sets.Add([.. recipients]);
        _setIndex[name] = set;
        return set;
    }

    private static string Key(string owner, string readId) => owner + "\n" + readId;

    /// <summary>What the log says of a read.</summary>
    internal enum Verdict
    {
        /// <summary>Stored and not purged since: restore it.</summary>
        Resident,

        /// <summary>Purged, or never stored (or never decided, arriving inside what the history covers).</summary>
        Gone,

        /// <summary>The history does not reach back to it: the time-based rule decides.</summary>
        Unknown,
    }

    /// <summary>
    /// What the log says of the read <paramref name="readId"/> of <paramref name="owner"/>, which arrived at
    /// <paramref name="arrivedAtMs"/>; for a resident read, the engine's <paramref name="recipientSet"/> of the
    /// agencies it was pushed to, each numbered by <paramref name="agencyIndex"/> (an agency in no policy the engine
    /// knows still gets its notice; a negative number is left out), -1 when the engine's table of sets is full.
    /// <paramref name="plateRef"/> is the first 64 bits of the resident read's <c>plate_ref</c>, made under audit key
    /// <paramref name="refKey"/> (as <see cref="BlockKey"/> numbers them); null when its entry had none or its block's
    /// key is unknown: a read of another plate under that id is not it — one the live engine dead-lettered because
    /// the id named a resident read, or the read of an id used before, whose read was purged.
    /// </summary>
    internal Verdict Judge(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> readId, long arrivedAtMs,
        Func<string, int> agencyIndex, RecipientSets sets, out int recipientSet, out ulong? plateRef, out int refKey)
    {
        recipientSet = 0;
        plateRef = null;
        refKey = -1;
        if (!TryFate(owner, readId, out Fate fate)) return arrivedAtMs >= CoversFromMs ? Verdict.Gone : Verdict.Unknown;
        if (fate.State != Resident) return Verdict.Gone;
        recipientSet = EngineSet(fate.Recipients, agencyIndex, sets);
        if (fate.RefKey >= 0)
        {
            plateRef = fate.PlateRef;
            refKey = fate.RefKey;
        }
        return Verdict.Resident;
    }

    /// <summary>
    /// Whether the read may be resident by the log: resident in the part read, or older than it
    /// (<see cref="Verdict.Unknown"/>). Judges nothing else: for a read the engine cannot restore (its owner in no
    /// policy), to say whether one owed a purge notice was left out.
    /// </summary>
    internal bool MayBeResident(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> readId, long arrivedAtMs) =>
        TryFate(owner, readId, out Fate fate) ? fate.State == Resident : arrivedAtMs < CoversFromMs;

    /// <summary>The fate the log gave the read of <paramref name="owner"/> with <paramref name="readId"/>, looked up
    /// by its key <c>owner\nread_id</c> without allocating (for keys up to 256 characters).</summary>
    private bool TryFate(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> readId, out Fate fate)
    {
        int length = owner.Length + 1 + readId.Length; // UTF-16 never needs more chars than UTF-8 has bytes
        Span<char> key = length <= 256 ? stackalloc char[256] : new char[length];
        int n = Encoding.UTF8.GetChars(owner, key);
        key[n++] = '\n';
        n += Encoding.UTF8.GetChars(readId, key[n..]);
        return _lookup.TryGetValue(key[..n], out fate);
    }

    /// <summary>The engine's set of the agencies of history set <paramref name="set"/> (cached).</summary>
    private int EngineSet(int set, Func<string, int> agencyIndex, RecipientSets sets)
    {
        if (set == 0) return 0;
        if (_engineSets.Length <= set) Array.Resize(ref _engineSets, Math.Max(set + 1, _engineSets.Length * 2));
        if (_engineSets[set] != 0) return _engineSets[set] - 1;
        var indexes = new List<int>();
        foreach (string id in _sets[set])
        {
            int agency = agencyIndex(id);
            if (agency >= 0 && !indexes.Contains(agency)) indexes.Add(agency);
        }
        indexes.Sort();
        int found = sets.Find(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(indexes));
        if (found < 0) return -1;
        _engineSets[set] = found + 1;
        return found;
    }
}
