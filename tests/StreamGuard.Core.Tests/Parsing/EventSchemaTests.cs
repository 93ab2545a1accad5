using System.Text;
using StreamGuard.Parsing;

namespace StreamGuard.Tests.Parsing;

/// <summary>
/// Each event schema's member enum and its names agree: the enum's members, in order, are the names in snake case,
/// each name is found at its own slot, and every type fits the parser's member slots.
/// </summary>
public sealed class EventSchemaTests
{
    [Fact]
    public void ReadMembersAreTheReadNamesInOrder() => AssertAgree<ReadMember>(ReadSchema.Names, ReadSchema.Fields);

    [Fact]
    public void QueryMembersAreTheQueryNamesInOrder() =>
        AssertAgree<QueryMember>(QuerySchema.Names, QuerySchema.Fields);

    [Fact]
    public void HotlistMembersAreTheHotlistNamesInOrder() =>
        AssertAgree<HotlistMember>(HotlistSchema.Names, HotlistSchema.Fields);

    [Fact]
    public void HoldMembersAreTheHoldNamesInOrder() => AssertAgree<HoldMember>(HoldSchema.Names, HoldSchema.Fields);

    [Fact]
    public void OnlyConfidenceLatAndLonAreNumbers()
    {
        Assert.Equal(
            1u << (int)ReadMember.Confidence | 1u << (int)ReadMember.Lat | 1u << (int)ReadMember.Lon,
            ReadSchema.Numbers);
        Assert.Equal(0u, QuerySchema.Numbers);
        Assert.Equal(0u, HotlistSchema.Numbers);
        Assert.Equal(0u, HoldSchema.Numbers);
    }

    [Fact]
    public void EachSchemaHasItsOwnMemberOrderCache() =>
        Assert.Equal([0, 1, 2, 3], [ReadSchema.Index, QuerySchema.Index, HotlistSchema.Index, HoldSchema.Index]);

    private static void AssertAgree<TMember>(MemberNames names, string[] fields) where TMember : struct, Enum
    {
        TMember[] members = Enum.GetValues<TMember>();
        Assert.True(fields.Length <= EventMembers.Max);
        Assert.Equal(members.Length, fields.Length);
        Assert.Equal(fields.Length, names.Count);
        for (int i = 0; i < members.Length; i++)
        {
            Assert.Equal(i, Convert.ToInt32(members[i], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(SnakeCase(members[i].ToString()), fields[i]);
            Assert.Equal(i, names.Find(Encoding.UTF8.GetBytes(fields[i])));
        }
    }

    private static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder();
        foreach (char c in pascal)
        {
            if (char.IsUpper(c) && sb.Length > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
