using StreamGuard.Text;

namespace StreamGuard.Parsing;

/// <summary>The known agencies of the loaded policy, interned to small integers in policy order.</summary>
/// <remarks>Lookup-only after construction: unknown ids never grow it.</remarks>
public sealed class AgencyDirectory
{
    private readonly Utf8Interner _ids;

    public AgencyDirectory(IEnumerable<string> ids)
    {
        _ids = new Utf8Interner();
        foreach (string id in ids)
        {
            if (!_ids.TryIntern(System.Text.Encoding.UTF8.GetBytes(id), out int added) || added != _ids.Count - 1)
            {
                throw new ArgumentException($"duplicate agency id '{id}'", nameof(ids));
            }
        }
    }

    public int Count => _ids.Count;

    /// <summary>The agency's index, or -1 when unknown.</summary>
    public int Find(ReadOnlySpan<byte> id) => _ids.Find(id);

    public ReadOnlySpan<byte> IdOf(int agency) => _ids.NameOf(agency);

    public string IdText(int agency) => System.Text.Encoding.UTF8.GetString(_ids.NameOf(agency));
}
