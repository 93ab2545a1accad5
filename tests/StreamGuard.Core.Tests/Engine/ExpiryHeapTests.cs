using StreamGuard.Engine;

namespace StreamGuard.Tests.Engine;

/// <summary>The expiry order of a partition's reads, whatever the era of their expiry.</summary>
public sealed class ExpiryHeapTests
{
    private static long Ms(int year, int month, int day) =>
        new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Theory]
    [InlineData(2019)]
    [InlineData(1995)]
    [InlineData(2026)]
    public void ReadsExpireInTheOrderOfTheirExpiryInAnyYear(int year)
    {
        var reads = new PartitionReads();
        long observed = Ms(year - 1, 1, 1);
        int late = reads.Add(1, 0, observed, Ms(year, 6, 1), "late"u8, "{\"late\":1}"u8);
        int early = reads.Add(2, 0, observed, Ms(year, 1, 1), "early"u8, "{\"early\":1}"u8);

        Assert.True(reads.TryPeekExpired(Ms(year, 3, 1), out int first));
        Assert.Equal(early, first);
        reads.RemoveHead();
        Assert.False(reads.TryPeekExpired(Ms(year, 3, 1), out _));
        Assert.True(reads.TryPeekExpired(Ms(year, 6, 1), out int second));
        Assert.Equal(late, second);
    }

    [Fact]
    public void ReadsBeforeAndAfter2020ExpireInOrder()
    {
        var reads = new PartitionReads();
        int a = reads.Add(1, 0, Ms(2018, 1, 1), Ms(2030, 1, 1), "a"u8, "{\"a\":1}"u8);
        int b = reads.Add(2, 0, Ms(2018, 1, 1), Ms(2019, 1, 1), "b"u8, "{\"b\":1}"u8);
        int c = reads.Add(3, 0, Ms(2018, 1, 1), Ms(2018, 6, 1), "c"u8, "{\"c\":1}"u8);
        var order = new List<int>();
        while (reads.TryPeekExpired(Ms(2031, 1, 1), out int slot))
        {
            order.Add(slot);
            reads.RemoveHead();
        }
        Assert.Equal([c, b, a], order);
    }
}
