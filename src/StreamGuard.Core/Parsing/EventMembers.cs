using System.Runtime.CompilerServices;
using StreamGuard.Events;

namespace StreamGuard.Parsing;

/// <summary>
/// The known members of one event as found, by slot (a member's index in its kind's names): string members as
/// ranges of the parser's scratch buffer, number members as doubles (NaN when absent), the <see cref="Seen"/> masks
/// and the first bad value. Filled by the scanner or by the reader fallback, read by the kind's validation.
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

    /// <summary>Whether the member has a value (JSON null counts as absent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Has<TMember>(TMember member) where TMember : struct, Enum => (Seen & Bit(member)) != 0;

    /// <summary>A string member's text in the scratch buffer (empty when absent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Utf8Range Range<TMember>(TMember member) where TMember : struct, Enum => Str[Slot(member)];

    /// <summary>A number member's value (NaN when absent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly double Number<TMember>(TMember member) where TMember : struct, Enum => Num[Slot(member)];

    /// <summary>The member's bit in the low mask of <see cref="Seen"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Bit<TMember>(TMember member) where TMember : struct, Enum => 1u << Slot(member);

    /// <summary>The member's slot: member enums are int-based, numbered in the order of their kind's names.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot<TMember>(TMember member) where TMember : struct, Enum =>
        Unsafe.BitCast<TMember, int>(member);

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
