using System.Text;
using StreamGuard.Text;

namespace StreamGuard.Generation;

/// <summary>The deliberately malformed lines: each of a kind the worker dead-letters.</summary>
public sealed partial class SyntheticTraffic
{
    private ReadOnlyMemory<byte> BadRead(long observedAtMs)
    {
        string ts = Rfc3339.ToText(observedAtMs);
        string id = $"r{_options.Seed:x}-bad-{++_readSeq:x8}";
        string owner = _owners[_random.Next(_owners.Length)].Id;
        string line = _random.Next(8) switch
        {
            0 => $"{{\"read_id\":\"{id}\",\"agency_id\":\"{owner}\",\"plate\":\"7ABC", // truncated
            1 => $"{{\"read_id\":\"{id}\",\"agency_id\":\"{owner}\",\"observed_at\":\"{ts}\"}}", // no plate
            2 => $"{{\"read_id\":\"{id}\",\"agency_id\":\"{owner}\",\"plate\":\"7ABC123\"," +
                $"\"observed_at\":\"03/10/2026 17:22\"}}",
            3 => $"{{\"read_id\":\"{id}\",\"agency_id\":\"{owner}\",\"plate\":\"7A*C123\",\"observed_at\":\"{ts}\"}}",
            4 => $"{{\"read_id\":\"{id}\",\"agency_id\":\"xx-unknown-pd\",\"plate\":\"7ABC123\"," +
                $"\"observed_at\":\"{ts}\"}}",
            5 => $"{{\"read_id\":\"{id}\",\"agency_id\":\"{owner}\",\"plate\":\"7ABC123\"," +
                $"\"observed_at\":\"{ts}\",\"lat\":123.4}}",
            6 => $"{{\"read_id\":\"{id}\",\"agency_id\":\"{owner}\",\"plate\":\"7ABC123\"," +
                $"\"observed_at\":\"{Rfc3339.ToText(observedAtMs + 86_400_000)}\"}}",
            _ => "INVALID_UTF8",
        };
        if (line == "INVALID_UTF8")
        {
            byte[] bytes = Encoding.UTF8.GetBytes($"{{\"read_id\":\"{id}\",\"agency_id\":\"{owner}\"," +
                $"\"plate\":\"7ABC123\",\"observed_at\":\"{ts}\",\"note\":\"\u00e9\"}}");
            int at = Array.IndexOf(bytes, (byte)0xC3);
            bytes[at] = 0xC0; // overlong lead byte: never valid UTF-8
            return bytes;
        }
        return Encoding.UTF8.GetBytes(line);
    }

    private ReadOnlyMemory<byte> BadQuery(long issuedAtMs)
    {
        string id = $"q{_options.Seed:x}-bad-{++_querySeq:x8}";
        string line = _random.Next(3) switch
        {
            0 => $"{{\"query_id\":\"{id}\",\"requester\":\"{_requesters[0].Id}\",\"user\":\"x\"," +
                $"\"purpose\":\"curiosity\",\"plate\":\"7ABC123\"," +
                $"\"issued_at\":\"{Rfc3339.ToText(issuedAtMs)}\"}}",
            1 => $"{{\"query_id\":\"{id}\",\"requester\":\"{_requesters[0].Id}\",\"plate\":\"7ABC123\"}}",
            _ => "{\"query_id\":",
        };
        return Encoding.UTF8.GetBytes(line);
    }
}
