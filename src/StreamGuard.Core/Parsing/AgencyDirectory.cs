using StreamGuard.Text;

namespace StreamGuard.Parsing;

/// <summary>The agencies of the loaded policy, interned to small integers.</summary>
/// <remarks>
/// Lookup-only after construction: unknown ids never grow it. Indexes are stable across policy reloads: a new policy
/// keeps every index of the one before (<see cref="Engine.CompiledPolicy"/> builds on the previous directory) and
/// appends new agencies, so reads already stored keep their owner. An agency that a reload removed, or that the file
/// keeps as <c>retired: true</c>, is in the directory <em>retired</em>: <c>Find</c> does not know it, so new events
/// naming it are rejected, while <c>FindAny</c> (restoring its stored reads) does.
/// </remarks>
public sealed class AgencyDirectory
{
    private readonly Utf8Interner _ids;
    private readonly bool[] _active;
    private readonly bool[] _named;

    public AgencyDirectory(IEnumerable<string> ids) : this(ids, static _ => true)
    {
    }

    /// <param name="ids">Every agency, in index order (previous directory first, then new agencies).</param>
    /// <param name="isActive">Whether an agency is in the current policy; the others are retired.</param>
    /// <param name="isNamed">Whether the current policy file names the agency (active, or kept as
    /// <c>retired: true</c>); the others were removed by a reload. Default: the active ones.</param>
    public AgencyDirectory(IEnumerable<string> ids, Func<string, bool> isActive, Func<string, bool>? isNamed = null)
    {
        _ids = new Utf8Interner();
        var active = new List<bool>();
        var named = new List<bool>();
        foreach (string id in ids)
        {
            if (!_ids.TryIntern(System.Text.Encoding.UTF8.GetBytes(id), out int added) || added != _ids.Count - 1)
            {
                throw new ArgumentException($"duplicate agency id '{id}'", nameof(ids));
            }
            active.Add(isActive(id));
            named.Add((isNamed ?? isActive)(id));
        }
        _active = [.. active];
        _named = [.. named];
    }

    /// <summary>Agencies in the directory, retired ones included: the size of per-agency tables.</summary>
    public int Count => _ids.Count;

    /// <summary>The agency's index, or -1 when unknown or retired.</summary>
    public int Find(ReadOnlySpan<byte> id)
    {
        int i = _ids.Find(id);
        return i >= 0 && _active[i] ? i : -1;
    }

    /// <summary>The agency's index even when retired, or -1 when it never was an agency.</summary>
    public int FindAny(ReadOnlySpan<byte> id) => _ids.Find(id);

    /// <summary>
    /// The agency's index when the policy file names it, active or kept as <c>retired: true</c>; -1 for one a reload
    /// removed from the file (a restarted worker would not know it) or that never was an agency.
    /// </summary>
    public int FindNamed(ReadOnlySpan<byte> id)
    {
        int i = _ids.Find(id);
        return i >= 0 && _named[i] ? i : -1;
    }

    public int Find(string id) => Find(System.Text.Encoding.UTF8.GetBytes(id));

    public bool IsActive(int agency) => _active[agency];

    public ReadOnlySpan<byte> IdOf(int agency) => _ids.NameOf(agency);

    public string IdText(int agency) => System.Text.Encoding.UTF8.GetString(_ids.NameOf(agency));
}
