namespace StreamGuard.Generation;

/// <summary>The 50 US states as the synthetic generators place agencies in them.</summary>
internal static class UsStates
{
    /// <summary>
    /// The 50 states, most populous first, with a population weight (millions, 2020 census, rounded).
    /// </summary>
    internal static readonly (string State, double Population)[] ByPopulation =
    [
        ("CA", 39.5), ("TX", 29.1), ("FL", 21.5), ("NY", 20.2), ("PA", 13.0), ("IL", 12.8), ("OH", 11.8), ("GA", 10.7),
        ("NC", 10.4), ("MI", 10.1), ("NJ", 9.3), ("VA", 8.6), ("WA", 7.7), ("AZ", 7.2), ("MA", 7.0), ("TN", 6.9),
        ("IN", 6.8), ("MD", 6.2), ("MO", 6.2), ("WI", 5.9), ("CO", 5.8), ("MN", 5.7), ("SC", 5.1), ("AL", 5.0),
        ("LA", 4.7), ("KY", 4.5), ("OR", 4.2), ("OK", 4.0), ("CT", 3.6), ("UT", 3.3), ("IA", 3.2), ("NV", 3.1),
        ("AR", 3.0), ("MS", 3.0), ("KS", 2.9), ("NM", 2.1), ("NE", 2.0), ("ID", 1.8), ("WV", 1.8), ("HI", 1.5),
        ("NH", 1.4), ("ME", 1.4), ("MT", 1.1), ("RI", 1.1), ("DE", 1.0), ("SD", 0.9), ("ND", 0.8), ("AK", 0.7),
        ("VT", 0.6), ("WY", 0.6),
    ];

    /// <summary>Land neighbours (Alaska and Hawaii share agreements with the nearest west-coast state).</summary>
    internal static readonly Dictionary<string, string[]> Neighbours = new(StringComparer.Ordinal)
    {
        ["AL"] = ["FL", "GA", "MS", "TN"], ["AK"] = ["WA"], ["AZ"] = ["CA", "CO", "NM", "NV", "UT"],
        ["AR"] = ["LA", "MO", "MS", "OK", "TN", "TX"], ["CA"] = ["AZ", "NV", "OR"],
        ["CO"] = ["AZ", "KS", "NE", "NM", "OK", "UT", "WY"], ["CT"] = ["MA", "NY", "RI"], ["DE"] = ["MD", "NJ", "PA"],
        ["FL"] = ["AL", "GA"], ["GA"] = ["AL", "FL", "NC", "SC", "TN"], ["HI"] = ["CA"],
        ["ID"] = ["MT", "NV", "OR", "UT", "WA", "WY"], ["IL"] = ["IN", "IA", "KY", "MO", "WI"],
        ["IN"] = ["IL", "KY", "MI", "OH"], ["IA"] = ["IL", "MN", "MO", "NE", "SD", "WI"],
        ["KS"] = ["CO", "MO", "NE", "OK"], ["KY"] = ["IL", "IN", "MO", "OH", "TN", "VA", "WV"],
        ["LA"] = ["AR", "MS", "TX"], ["ME"] = ["NH"], ["MD"] = ["DE", "PA", "VA", "WV"],
        ["MA"] = ["CT", "NH", "NY", "RI", "VT"], ["MI"] = ["IN", "OH", "WI"], ["MN"] = ["IA", "ND", "SD", "WI"],
        ["MS"] = ["AL", "AR", "LA", "TN"], ["MO"] = ["AR", "IL", "IA", "KS", "KY", "NE", "OK", "TN"],
        ["MT"] = ["ID", "ND", "SD", "WY"], ["NE"] = ["CO", "IA", "KS", "MO", "SD", "WY"],
        ["NV"] = ["AZ", "CA", "ID", "OR", "UT"], ["NH"] = ["ME", "MA", "VT"], ["NJ"] = ["DE", "NY", "PA"],
        ["NM"] = ["AZ", "CO", "OK", "TX", "UT"], ["NY"] = ["CT", "MA", "NJ", "PA", "VT"],
        ["NC"] = ["GA", "SC", "TN", "VA"], ["ND"] = ["MN", "MT", "SD"], ["OH"] = ["IN", "KY", "MI", "PA", "WV"],
        ["OK"] = ["AR", "CO", "KS", "MO", "NM", "TX"], ["OR"] = ["CA", "ID", "NV", "WA"],
        ["PA"] = ["DE", "MD", "NJ", "NY", "OH", "WV"], ["RI"] = ["CT", "MA"], ["SC"] = ["GA", "NC"],
        ["SD"] = ["IA", "MN", "MT", "ND", "NE", "WY"], ["TN"] = ["AL", "AR", "GA", "KY", "MS", "MO", "NC", "VA"],
        ["TX"] = ["AR", "LA", "NM", "OK"], ["UT"] = ["AZ", "CO", "ID", "NV", "NM", "WY"], ["VT"] = ["MA", "NH", "NY"],
        ["VA"] = ["KY", "MD", "NC", "TN", "WV"], ["WA"] = ["ID", "OR"], ["WV"] = ["KY", "MD", "OH", "PA", "VA"],
        ["WI"] = ["IL", "IA", "MI", "MN"], ["WY"] = ["CO", "ID", "MT", "NE", "SD", "UT"],
    };
}
