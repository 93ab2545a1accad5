using System.Runtime.CompilerServices;
using StreamGuard.Events;

namespace StreamGuard.Parsing;

/// <summary>
/// The known members of one event as found, by slot: a member's slot is its index in its type's names, the value of
/// its member enum (<see cref="ReadMember"/> and the others), and its bit in <see cref="Seen"/> is
/// <c>1u &lt;&lt; slot</c>. String members are ranges of the parser's scratch buffer, number members doubles (NaN when
/// absent); <see cref="First"/> is the first bad value. Filled by the scanner or by the reader fallback, read by the
/// type's validation.
/// </summary>
internal struct EventMembers
{
    /// <summary>Most members of any event type (a query's eleven).</summary>
    public const int Max = 11;

    public RangeArray Str;
    public DoubleArray Num;

    /// <summary>
    /// Two masks: the low 16 bits say a member has a value (required-member checks), the high 16 bits that it
    /// appeared at all, even as null, so a member given twice is a duplicate whatever its values.
    /// </summary>
    public uint Seen;

    public ParseResult First;

    public void Reset()
    {
        this = default;
        ((Span<double>)Num).Fill(double.NaN);
    }

    [InlineArray(Max)]
    public struct RangeArray
    {
        private Utf8Range _first;
    }

    [InlineArray(Max)]
    public struct DoubleArray
    {
        private double _first;
    }
}
