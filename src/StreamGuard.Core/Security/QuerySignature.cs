using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace StreamGuard.Security;

/// <summary>
/// Query signatures of SPEC §2: base64 HMAC-SHA256, under the requester's key, of
/// <c>query_id, requester, user, purpose, case_number, plate, from, to, issued_at</c> joined with <c>\n</c>
/// (each as it appears in the event, empty when absent).
/// </summary>
internal static class QuerySignature
{
    /// <summary>Signs a query (producers, generators and tests).</summary>
    public static string Sign(byte[] key, string queryId, string requester, string user, string purpose,
        string? caseNumber, string plate, string? from, string? to, string issuedAt)
    {
        string canonical = string.Join('\n', queryId, requester, user, purpose, caseNumber ?? "", plate, from ?? "",
            to ?? "", issuedAt);
        return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>
    /// Verifies a signature in constant time over the nine canonical fields, given as UTF-8 spans. The
    /// <c>hmac</c> context is keyed with the requester's key and reused across calls.
    /// </summary>
    public static bool Verify(IncrementalHash hmac, ReadOnlySpan<byte> signatureBase64,
        scoped ReadOnlySpan<byte> queryId, scoped ReadOnlySpan<byte> requester, scoped ReadOnlySpan<byte> user,
        scoped ReadOnlySpan<byte> purpose, scoped ReadOnlySpan<byte> caseNumber, scoped ReadOnlySpan<byte> plate,
        scoped ReadOnlySpan<byte> from, scoped ReadOnlySpan<byte> to, scoped ReadOnlySpan<byte> issuedAt)
    {
        if (signatureBase64.Length is 0 or > 64) return false;
        Span<byte> given = stackalloc byte[48];
        if (Base64.DecodeFromUtf8(signatureBase64, given, out _, out int decoded) != OperationStatus.Done
            || decoded != 32)
        {
            return false;
        }

        int length = queryId.Length + requester.Length + user.Length + purpose.Length + caseNumber.Length +
            plate.Length + from.Length + to.Length + issuedAt.Length + 8;
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> canonical = rented.AsSpan(0, length);
            int at = 0;
            Append(canonical, ref at, queryId, true);
            Append(canonical, ref at, requester, true);
            Append(canonical, ref at, user, true);
            Append(canonical, ref at, purpose, true);
            Append(canonical, ref at, caseNumber, true);
            Append(canonical, ref at, plate, true);
            Append(canonical, ref at, from, true);
            Append(canonical, ref at, to, true);
            Append(canonical, ref at, issuedAt, false);
            Span<byte> expected = stackalloc byte[32];
            hmac.AppendData(canonical);
            hmac.GetHashAndReset(expected);
            return CryptographicOperations.FixedTimeEquals(expected, given[..32]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void Append(Span<byte> destination, ref int at, ReadOnlySpan<byte> field, bool separator)
    {
        field.CopyTo(destination[at..]);
        at += field.Length;
        if (separator) destination[at++] = (byte)'\n';
    }
}
