using System.Globalization;
using System.Text;

namespace StreamGuard.Bench;

/// <summary>
/// Deterministic, realistic events shaped like SPEC §2: plate reads with distinct read ids, 40 cameras, vehicle
/// details and image URIs; signed queries with a 30-day window. The same bytes feed every benchmark.
/// </summary>
public static class BenchPayloads
{
    public static readonly string[] AgencyIds = ["ca-lapd", "ca-lasd", "us-ice-ero", "il-chicago-pd"];

    private const string Ulid = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly string[] s_purposes =
        ["stolen_vehicle", "criminal_investigation", "missing_person", "amber_alert", "warrant"];
    private static readonly string[] s_makes = ["TOYOTA", "HONDA", "FORD", "CHEVROLET", "NISSAN", "TESLA"];
    private static readonly string[] s_models = ["CAMRY", "CIVIC", "F-150", "MALIBU", "ALTIMA", "MODEL 3"];
    private static readonly string[] s_colors = ["SILVER", "BLACK", "WHITE", "GREY", "RED", "BLUE"];
    private static readonly long s_baseMs =
        new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    public static byte[][] Reads(int count)
    {
        var random = new Random(2026);
        var events = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            int camera = random.Next(40);
            string agency = AgencyIds[camera % 2];
            string readId = ReadId(i);
            events[i] = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{{\"read_id\":\"{readId}\",\"camera_id\":\"{agency[3..]}-cam-{camera:D4}\"," +
                $"\"agency_id\":\"{agency}\",\"plate\":\"{Plate(random)}\",\"plate_state\":\"CA\"," +
                $"\"confidence\":{random.Next(700, 1000) / 1000.0:0.###}," +
                $"\"observed_at\":\"{Timestamp(s_baseMs + (i * 250L) + random.Next(250))}\"," +
                $"\"lat\":{34 + (random.NextDouble() / 2):0.00000}," +
                $"\"lon\":{-118.5 + (random.NextDouble() / 2):0.00000}," +
                $"\"vehicle\":{{\"make\":\"{s_makes[random.Next(6)]}\",\"model\":\"{s_models[random.Next(6)]}\"," +
                $"\"color\":\"{s_colors[random.Next(6)]}\",\"type\":\"SEDAN\"}}," +
                $"\"image_uri\":\"https://evidence.example/{agency}/{readId}.jpg\"}}"));
        }
        return events;
    }

    public static byte[][] Queries(int count)
    {
        var random = new Random(3003);
        var events = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            long issued = s_baseMs + (i * 1000L);
            byte[] signature = new byte[32];
            random.NextBytes(signature);
            events[i] = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{{\"query_id\":\"q-2026-{i:D6}\",\"requester\":\"ca-lasd\",\"user\":\"d.ortiz\"," +
                $"\"purpose\":\"{s_purposes[random.Next(s_purposes.Length)]}\"," +
                $"\"case_number\":\"LASD-26-{random.Next(1_000_000):D6}\"," +
                $"\"reason\":\"Stolen vehicle report 26-{random.Next(1_000_000):D6}\",\"plate\":\"{Plate(random)}\"," +
                $"\"from\":\"{Timestamp(issued - (30L * 86_400_000))}\",\"to\":\"{Timestamp(issued)}\"," +
                $"\"issued_at\":\"{Timestamp(issued)}\",\"signature\":\"{Convert.ToBase64String(signature)}\"}}"));
        }
        return events;
    }

    public static double AverageBytes(byte[][] events)
    {
        long total = 0;
        foreach (byte[] e in events) total += e.Length;
        return (double)total / events.Length;
    }

    private static string ReadId(int i)
    {
        // 16 Crockford base-32 characters like the ULID prefix in SPEC §2, distinct per event.
        var id = new StringBuilder("01JNR3", 16);
        Span<char> tail = stackalloc char[10];
        long n = i + 1_000_000L;
        for (int k = 9; k >= 0; k--)
        {
            tail[k] = Ulid[(int)(n % 32)];
            n /= 32;
        }
        return id.Append(tail).ToString();
    }

    private static string Plate(Random random)
    {
        // Mostly clean California plates; one in eight typed with a hyphen, one in ten lower-case.
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
