namespace StreamGuard.Generation;

/// <summary>Options of <see cref="SyntheticTraffic"/>; change with <c>with</c>.</summary>
public readonly record struct TrafficOptions
{
    public int Seed { get; init; }

    /// <summary>Share of lines that are deliberately bad (every DLQ code and denied queries), in [0,1].</summary>
    public double MalformedShare { get; init; }

    /// <summary>Distinct vehicles; a skewed pick makes some of them repeat often.</summary>
    public int Vehicles { get; init; }

    /// <summary>Cameras per agency that owns cameras.</summary>
    public int CamerasPerAgency { get; init; }

    public static TrafficOptions Default =>
        new() { Seed = 1, MalformedShare = 0.01, Vehicles = 20_000, CamerasPerAgency = 8 };
}
