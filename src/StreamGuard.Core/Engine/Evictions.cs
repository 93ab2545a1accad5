using System.Buffers;
using System.Text.Json;
using StreamGuard.Audit;

namespace StreamGuard.Engine;

/// <summary>
/// The reads one eviction pass purged or kept by a hold, written as one entry per chain, split when large (SPEC §7:
/// many purged reads in one entry):
/// <c>{"seq","at","policy","purge":{"&lt;owner&gt;":["read id",…]},"retain":[{"hold",…,"reads":[…]}]}</c>.
/// </summary>
/// <remarks>
/// A read's decision goes on the chain of the partition it came from. The store lets go of a read's bytes as soon as it
/// is purged, so ids are copied here until the pass ends. Decisions are indexed in written order: the purges, owner by
/// owner, then the retained reads, hold by hold. After warm-up nothing here allocates.
/// </remarks>
internal sealed class Evictions
{
    private readonly record struct Item(int Partition, int Group, int Order, int Start, int Length, HoldRow? Hold);

    private static readonly Comparison<Item> s_byEntry = (a, b) =>
        a.Partition != b.Partition ? a.Partition.CompareTo(b.Partition)
        : a.Group != b.Group ? a.Group.CompareTo(b.Group)
        : a.Order.CompareTo(b.Order);

    /// <summary>Read-id bytes after which an eviction entry is closed and the next begun.</summary>
    public const int EntryIdBytes = 48 * 1024;

    private readonly ArrayBufferWriter<byte> _ids = new(1024);
    private readonly List<Item> _items = [];
    private readonly List<HoldRow> _holds = [];

    public bool IsEmpty => _items.Count == 0;

    /// <summary>A read purged: its window closed.</summary>
    public void Purge(int partition, int owner, ReadOnlySpan<byte> readId) => Add(partition, owner, readId, null);

    /// <summary>A read kept past its window by <paramref name="hold"/>.</summary>
    public void Retain(int partition, HoldRow hold, ReadOnlySpan<byte> readId)
    {
        int index = _holds.IndexOf(hold);
        if (index < 0)
        {
            index = _holds.Count;
            _holds.Add(hold);
        }
        // Retained reads sort after every purge of their chain.
        Add(partition, int.MaxValue / 2 + index, readId, hold);
    }

    private void Add(int partition, int group, ReadOnlySpan<byte> readId, HoldRow? hold)
    {
        _items.Add(new Item(partition, group, _items.Count, _ids.WrittenCount, readId.Length, hold));
        _ids.Write(readId);
    }

    /// <summary>
    /// Writes the pass's reads, one entry per chain — or several, of at most about <see cref="EntryIdBytes"/> of read
    /// ids each, so an entry (and the block, one Kafka message, that holds it) stays bounded however many reads one
    /// pass purges (a shortened window, a released hold, a partition restored after downtime) — and forgets them.
    /// </summary>
    public void Write(AuditRecords records, long now, CompiledPolicy policy)
    {
        _items.Sort(s_byEntry);
        AuditLog log = records.Log;
        int i = 0;
        while (i < _items.Count)
        {
            int partition = _items[i].Partition, first = i, bytes = 0;
            Utf8JsonWriter w = log.BeginEntry(partition, now);
            bool purging = false, retaining = false;
            for (; i < _items.Count && _items[i].Partition == partition && bytes < EntryIdBytes; i++)
            {
                Item item = _items[i];
                if (i == first || _items[i - 1].Group != item.Group)
                {
                    StartGroup(w, records, policy, item, ref purging, ref retaining);
                }
                w.WriteStringValue(_ids.WrittenSpan.Slice(item.Start, item.Length));
                bytes += item.Length + 3;
                log.NextDecision();
            }
            if (retaining) { w.WriteEndArray(); w.WriteEndObject(); w.WriteEndArray(); }
            else if (purging) { w.WriteEndArray(); w.WriteEndObject(); }
            log.EndEntry();
        }
        _items.Clear();
        _holds.Clear();
        _ids.ResetWrittenCount();
    }

    private static void StartGroup(Utf8JsonWriter w, AuditRecords records, CompiledPolicy policy, Item item,
        ref bool purging, ref bool retaining)
    {
        if (item.Hold is null)
        {
            if (purging) w.WriteEndArray();
            else w.WriteStartObject("purge"u8);
            purging = true;
            w.WriteStartArray(policy.Agencies.IdOf(item.Group));
            return;
        }
        if (retaining)
        {
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            if (purging) { w.WriteEndArray(); w.WriteEndObject(); }
            purging = false;
            w.WriteStartArray("retain"u8);
            retaining = true;
        }
        w.WriteStartObject();
        w.WriteString("hold"u8, item.Hold.Id);
        records.WriteHoldTerms(w, policy, item.Hold);
        w.WriteStartArray("reads"u8);
    }
}
