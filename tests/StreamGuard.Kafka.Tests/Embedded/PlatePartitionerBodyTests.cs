using System.Text;
using StreamGuard.Events;
using StreamGuard.Kafka;
using StreamGuard.Parsing;
using StreamGuard.Text;

namespace StreamGuard.Tests.Embedded;

/// <summary>
/// The plate a record is routed by is the plate the engine decides by: for every body the engine's parser accepts,
/// <see cref="PlatePartitioner.TryBodyPlate"/> finds the same plate, escapes and all; the key counts only when the
/// body has no plate.
/// </summary>
public sealed class PlatePartitionerBodyTests
{
    private const string Rest =
        "\"camera_id\":\"c1\",\"agency_id\":\"ca-lapd\",\"observed_at\":\"2026-03-03T17:00:00Z\"";

    /// <summary>(body, whether the engine accepts it).</summary>
    public static TheoryData<string, bool> Bodies => new()
    {
        { "{\"read_id\":\"r\",\"plate\":\"7ABC123\"," + Rest + "}", true },
        { "{\"read_id\":\"r\",\"plate\":\"7abc-12 3\"," + Rest + "}", true },
        // An escaped name, an escaped value.
        { "{\"read_id\":\"r\",\"pl\\u0061te\":\"7ABC123\"," + Rest + "}", true },
        { "{\"read_id\":\"r\",\"plate\":\"\\u0037ABC\\u0031\\u00323\"," + Rest + "}", true },
        // A nested plate is not the read's.
        { "{\"read_id\":\"r\",\"vehicle\":{\"plate\":\"9ZZZ999\"},\"plate\":\"7ABC123\"," + Rest + "}", true },
        // Two plates, or null then a plate: rejected by the engine.
        { "{\"read_id\":\"r\",\"plate\":\"7ABC123\",\"plate\":\"9ZZZ999\"," + Rest + "}", false },
        { "{\"read_id\":\"r\",\"plate\":null,\"plate\":\"9ZZZ999\"," + Rest + "}", false },
        { "{\"read_id\":\"r\",\"plate\":7," + Rest + "}", false },
        { "{\"read_id\":\"r\",\"plate\":\"7ABC123\"," + Rest + "} trailing", false },
        { "[\"plate\",\"7ABC123\"]", false },
        { "", false },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void TheBodyPlateIsTheEnginesPlateWheneverTheEngineAcceptsTheRead(string body, bool accepted)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(body);
        var parser = new EventParser(new AgencyDirectory(["ca-lapd"]));
        ParseResult parsed = parser.ParseRead(utf8, out PlateRead read);
        bool found = PlatePartitioner.TryBodyPlate(utf8, out ulong plate);
        Assert.Equal(accepted, parsed.IsOk);
        if (parsed.IsOk)
        {
            Assert.True(found, "the engine accepted the read: its plate must be found");
            Assert.Equal(Plate.ToText(read.Plate), Plate.ToText(plate));
        }
        // A read the engine rejects is rejected wherever it is decided; where it goes does not matter.
    }

    [Fact]
    public void TheBodyDecidesAndTheKeyOnlyWithoutABodyPlate()
    {
        byte[] body = "{\"plate\":\"7ABC123\"}"u8.ToArray();
        for (int n = 2; n <= 12; n++)
        {
            int byBody = PlatePartitioner.PartitionOf("7ABC123"u8, default, n);
            for (int k = 0; k < 50; k++)
            {
                byte[] key = Encoding.ASCII.GetBytes($"K{k}");
                Assert.Equal(byBody, PlatePartitioner.PartitionOf(key, body, n));
            }
            Assert.Equal(PlatePartitioner.PartitionOf("K1"u8, default, n),
                PlatePartitioner.PartitionOf("K1"u8, "{\"read_id\":\"r\"}"u8, n));
        }
        Assert.True(PlatePartitioner.KeyDisagrees("9ZZZ999"u8, body));
        Assert.False(PlatePartitioner.KeyDisagrees("7abc-123"u8, body));  // the same plate, written otherwise
        Assert.False(PlatePartitioner.KeyDisagrees("not a plate!"u8, body)); // no plate in the key: nothing to disagree
        Assert.False(PlatePartitioner.KeyDisagrees("9ZZZ999"u8, "{}"u8));
    }

    [Fact]
    public void RoutingByTheBodyAllocatesNothing()
    {
        byte[] plain = Encoding.UTF8.GetBytes("{\"read_id\":\"r\",\"plate\":\"7ABC123\"," + Rest + "}");
        byte[] escaped = Encoding.UTF8.GetBytes("{\"read_id\":\"r\",\"pl\\u0061te\":\"\\u0037ABC123\"," + Rest + "}");
        int sum = PlatePartitioner.PartitionOf("K"u8, plain, 8) + PlatePartitioner.PartitionOf("K"u8, escaped, 8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            sum += PlatePartitioner.PartitionOf("K"u8, plain, 8) + PlatePartitioner.PartitionOf("K"u8, escaped, 8);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sum >= 0);
    }
}
