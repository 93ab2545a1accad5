using System.Buffers.Binary;
using System.Numerics;

namespace StreamGuard.Audit;

/// <summary>
/// Decision ids: 128 bits of SipHash-2-4 (the 128-bit output variant) keyed by the block's salt, over the entry's
/// sequence number and the decision's index in the entry, as 32 lower-case hex digits.
/// </summary>
/// <remarks>
/// Opaque on purpose: ids go to recipients in <c>sg-decision</c> headers and to searchers in results, and the salt,
/// an HMAC of the chain and the block's first sequence number under the audit key, is known only from the log. Nobody
/// holding ids but not the log can tell how many decisions lay between two of them. Anyone holding the log recomputes
/// every id from the block's seal, so the log stores none. SipHash is a keyed pseudo-random function for short inputs
/// and runs in managed code: an id costs no call into the crypto library.
/// </remarks>
public static class DecisionIds
{
    /// <summary>Hex digits of an id.</summary>
    public const int Length = 32;

    /// <summary>Bytes of a block's salt.</summary>
    public const int SaltLength = 16;

    /// <summary>Writes the id of decision <paramref name="index"/> of entry <paramref name="seq"/> as hex.</summary>
    public static void Format(ReadOnlySpan<byte> salt, long seq, int index, Span<byte> hex)
    {
        Span<byte> message = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(message, seq);
        BinaryPrimitives.WriteInt32LittleEndian(message[8..], index);
        Span<byte> digest = stackalloc byte[16];
        SipHash128(salt, message, digest);
        StreamGuard.Text.Hex.Lower(digest, hex);
    }

    /// <summary>
    /// The id of decision <paramref name="index"/> of entry <paramref name="seq"/> (tools and tests).
    /// </summary>
    public static string Text(ReadOnlySpan<byte> salt, long seq, int index)
    {
        Span<byte> hex = stackalloc byte[Length];
        Format(salt, seq, index, hex);
        return System.Text.Encoding.ASCII.GetString(hex);
    }

    /// <summary>
    /// SipHash-2-4 with 128-bit output (Aumasson and Bernstein, the reference implementation's variant).
    /// </summary>
    public static void SipHash128(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message, Span<byte> output)
    {
        ulong k0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        ulong k1 = BinaryPrimitives.ReadUInt64LittleEndian(key[8..]);
        ulong v0 = 0x736f6d6570736575UL ^ k0, v1 = 0x646f72616e646f6dUL ^ k1 ^ 0xee;
        ulong v2 = 0x6c7967656e657261UL ^ k0, v3 = 0x7465646279746573UL ^ k1;
        int whole = message.Length & ~7;
        for (int i = 0; i < whole; i += 8)
        {
            ulong m = BinaryPrimitives.ReadUInt64LittleEndian(message[i..]);
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
        }
        ulong last = (ulong)message.Length << 56;
        for (int i = message.Length - 1; i >= whole; i--) last |= (ulong)message[i] << (8 * (i - whole));
        v3 ^= last;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= last;
        v2 ^= 0xee;
        for (int i = 0; i < 4; i++) Round(ref v0, ref v1, ref v2, ref v3);
        BinaryPrimitives.WriteUInt64LittleEndian(output, v0 ^ v1 ^ v2 ^ v3);
        v1 ^= 0xdd;
        for (int i = 0; i < 4; i++) Round(ref v0, ref v1, ref v2, ref v3);
        BinaryPrimitives.WriteUInt64LittleEndian(output[8..], v0 ^ v1 ^ v2 ^ v3);
    }

    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1; v1 = BitOperations.RotateLeft(v1, 13); v1 ^= v0; v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3; v3 = BitOperations.RotateLeft(v3, 16); v3 ^= v2;
        v0 += v3; v3 = BitOperations.RotateLeft(v3, 21); v3 ^= v0;
        v2 += v1; v1 = BitOperations.RotateLeft(v1, 17); v1 ^= v2; v2 = BitOperations.RotateLeft(v2, 32);
    }
}
