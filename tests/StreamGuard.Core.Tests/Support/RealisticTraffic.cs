using System.Globalization;
using System.Text;

namespace StreamGuard.Tests.Support;

/// <summary>
/// Deterministic, realistic input: SPEC §2-shaped plate reads (distinct read ids, a few dozen cameras, vehicle
/// details, image URIs) and signed queries, three reads to one query.
/// </summary>
internal static class RealisticTraffic
{
    public const int Cameras = 40;

    private const string Ulid = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly string[] s_purposes =
        ["stolen_vehicle", "criminal_investigation", "missing_person", "amber_alert", "warrant"];
    private static readonly string[] s_makes = ["TOYOTA", "HONDA", "FORD", "CHEVROLET", "NISSAN", "TESLA"];
    private static readonly string[] s_colors = ["SILVER", "BLACK", "WHITE", "GREY", "RED", "BLUE"];

    /// <summary><paramref name="count"/> events, each with its kind; index i is a query when i % 4 == 3.</summary>
    public static (EventKind Kind, byte[] Utf8)[] Generate(int count, int seed = 42)
    {
        var random = new Random(seed);
        var events = new (EventKind, byte[])[count];
        long baseMs = new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        for (int i = 0; i < count; i++)
        {
            string json = i % 4 == 3 ? Query(random, i, baseMs) : Read(random, i, baseMs);
            events[i] = (i % 4 == 3 ? EventKind.Query : EventKind.Read, Encoding.UTF8.GetBytes(json));
        }
        return events;
    }

    public static string Read(Random random, int i, long baseMs)
    {
        int camera = random.Next(Cameras);
        string agency = SampleEvents.AgencyIds[camera % 2]; // the two local agencies run the cameras
        string readId = ReadId(i);
        string observed = Timestamp(baseMs + (i * 250L) + random.Next(250));
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"read_id\":\"{readId}\",\"camera_id\":\"{agency}-cam-{camera:D4}\",\"agency_id\":\"{agency}\"," +
            $"\"plate\":\"{Plate(random)}\",\"plate_state\":\"CA\"," +
            $"\"confidence\":{random.Next(700, 1000) / 1000.0:0.###},\"observed_at\":\"{observed}\"," +
            $"\"lat\":{34 + (random.NextDouble() / 2):0.#####},\"lon\":{-118.5 + (random.NextDouble() / 2):0.#####}," +
            $"\"vehicle\":{{\"make\":\"{s_makes[random.Next(s_makes.Length)]}\"," +
            $"\"color\":\"{s_colors[random.Next(s_colors.Length)]}\",\"type\":\"SEDAN\"}}," +
            $"\"image_uri\":\"https://evidence.example/{agency}/{readId}.jpg\"}}");
    }

    public static string Query(Random random, int i, long baseMs)
    {
        long issued = baseMs + (i * 250L);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"query_id\":\"q-2026-{i:D7}\",\"requester\":\"ca-lasd\",\"user\":\"d.ortiz\"," +
            $"\"purpose\":\"{s_purposes[random.Next(s_purposes.Length)]}\"," +
            $"\"case_number\":\"LASD-26-{random.Next(1_000_000):D6}\"," +
            $"\"reason\":\"Stolen vehicle report \\\"{random.Next(100_000)}\\\"\",\"plate\":\"{Plate(random)}\"," +
            $"\"from\":\"{Timestamp(issued - (30L * 86_400_000))}\",\"to\":\"{Timestamp(issued)}\"," +
            $"\"issued_at\":\"{Timestamp(issued)}\"," +
            $"\"signature\":\"{Convert.ToBase64String(BitConverter.GetBytes(random.NextInt64()))}" +
            $"{Convert.ToBase64String(BitConverter.GetBytes(random.NextInt64()))}==\"}}");
    }

    private static string ReadId(int i)
    {
        // 16 Crockford base-32 characters, like the ULID prefix in SPEC §2, distinct per event.
        Span<char> id = stackalloc char[16];
        "01JNR3".CopyTo(id);
        long n = i;
        for (int k = 15; k >= 6; k--)
        {
            id[k] = Ulid[(int)(n % 32)];
            n /= 32;
        }
        return new string(id);
    }

    private static string Plate(Random random)
    {
        // Mostly clean California plates, some as an operator would type them.
        var plate = new StringBuilder(10);
        plate.Append((char)('1' + random.Next(9)));
        for (int k = 0; k < 3; k++) plate.Append((char)('A' + random.Next(26)));
        if (random.Next(8) == 0) plate.Append('-');
        for (int k = 0; k < 3; k++) plate.Append((char)('0' + random.Next(10)));
        string text = plate.ToString();
        return random.Next(10) == 0 ? text.ToLowerInvariant() : text;
    }

    private static string Timestamp(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime
            .ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
