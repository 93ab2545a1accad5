using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Unicode;
using StreamGuard.Events;

namespace StreamGuard.Parsing.Scan;

/// <summary>
/// Collects the known members of a well-formed event without a tokenizer. First one vector pass over the bytes
/// (<see cref="QuoteClassifier"/>) marks every quote; an event with a backslash or a control character inside a
/// string stops there. Then one walk over the structure finds each string's end from the quote bitmap instead of
/// scanning for it. Takes only what it can decide alone: strings without escapes, plain decimals for number
/// members, and unknown members of any JSON type. Anything else (an escape, a null or a repeated known member, an
/// exponent, a syntax error) returns false and the event is parsed again by <see cref="ReaderFallback"/>, so both
/// paths accept exactly the same events with the same values and every rejection keeps its reason.
/// </summary>
internal static class EventScanner
{
    /// <summary>Longest event scanned (its quote bitmap lives on the stack); longer ones go to the reader.</summary>
    public const int MaxBytes = 4096;

    /// <summary>
    /// Scans <paramref name="s"/> into <paramref name="m"/>. On success every string member's range is its content's
    /// place in <paramref name="s"/> (no escapes: a string's text is its bytes), so the caller copies the event whole
    /// to the start of its scratch buffer. <paramref name="validUtf8"/>: true once the event is known to be valid
    /// UTF-8, so the reader need not check it again.
    /// </summary>
    [SkipLocalsInit] // the quote bitmap: the classifier writes every word the walk reads
    public static bool TryScan(
        ReadOnlySpan<byte> s, MemberNames names, uint numbers, MemberLayout layout, ref EventMembers m,
        out bool validUtf8)
    {
        validUtf8 = false;
        if (s.Length > MaxBytes) return false;
        Span<ulong> quotes = stackalloc ulong[MaxBytes / 64];
        quotes = quotes[..((s.Length + 63) >> 6)];
        if (!QuoteClassifier.Classify(s, quotes, out bool ascii)) return false;
        // ASCII is valid UTF-8; anything else is checked whole, as the reader path would (which reports it).
        validUtf8 = ascii || Utf8.IsValid(s);
        if (!validUtf8) return false;
        // The walk keeps its state in locals (the position, and the cursor over the quote bitmap: see Walk) so that
        // the JIT holds them in registers. Nothing here may take their address for a call that is not inlined.
        ref byte p = ref MemoryMarshal.GetReference(s);
        int n = s.Length, i = 0;
        int word = 0;
        ulong bits = quotes.IsEmpty ? 0 : quotes[0];

        Walk.SkipWhitespace(ref p, n, ref i);
        if (!Walk.Take(ref p, n, ref i, '{')) return false;
        Walk.SkipWhitespace(ref p, n, ref i);
        if (Walk.Take(ref p, n, ref i, '}')) return Walk.AtEnd(ref p, n, i); // no member: no text
        for (int ordinal = 0; ; ordinal++)
        {
            // The name this place had in the last event of this kind, as its exact bytes "name": or found and learnt.
            int member;
            if (layout.TryTake(ordinal, ref p, n, ref i, out member))
            {
                // The learnt bytes hold the name's two quotes: the cursor moves past them.
                if (!Walk.NextQuote(quotes, ref word, ref bits, out _) ||
                    !Walk.NextQuote(quotes, ref word, ref bits, out _))
                {
                    return false;
                }
            }
            else
            {
                if (!Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out int nameStart, out int nameLength))
                {
                    return false;
                }
                member = names.Find(s.Slice(nameStart, nameLength));
                layout.Learn(ordinal, s, nameStart, nameLength, member);
                Walk.SkipWhitespace(ref p, n, ref i);
                if (!Walk.Take(ref p, n, ref i, ':')) return false;
            }
            Walk.SkipWhitespace(ref p, n, ref i);
            if (member < 0)
            {
                if ((uint)i < (uint)n && Unsafe.Add(ref p, i) == '"')
                {
                    if (!Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out _, out _)) return false;
                }
                else
                {
                    // An object of compact string members (the usual unknown object), or else any value by the
                    // general skip; then the cursor is set again from the position.
                    int end = ValueSkipper.SkipCompactStringObject(s, quotes, i);
                    if (end < 0)
                    {
                        end = ValueSkipper.SkipValue(s, quotes, i);
                        if (end < 0) return false;
                    }
                    i = end;
                    Walk.CursorAt(quotes, i, out word, out bits);
                }
            }
            else
            {
                uint bit = 1u << member;
                if ((m.Seen & bit) != 0) return false;
                m.Seen |= bit | bit << 16;
                if ((numbers & bit) != 0)
                {
                    if (!PlainDecimal.TryRead(ref p, n, ref i, out m.Num[member])) return false;
                }
                else
                {
                    if (!Walk.String(ref p, n, ref i, quotes, ref word, ref bits, out int start, out int length))
                    {
                        return false;
                    }
                    m.Str[member] = new Utf8Range(start, length);
                }
            }
            Walk.SkipWhitespace(ref p, n, ref i);
            if (Walk.Take(ref p, n, ref i, ','))
            {
                Walk.SkipWhitespace(ref p, n, ref i);
                continue;
            }
            return Walk.Take(ref p, n, ref i, '}') && Walk.AtEnd(ref p, n, i);
        }
    }
}
