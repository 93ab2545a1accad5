namespace StreamGuard.Events;

/// <summary>Wire names of <see cref="Purpose"/> values.</summary>
public static class Purposes
{
    public const int Count = 11;

    public static bool TryParse(ReadOnlySpan<byte> s, out Purpose purpose)
    {
        for (int i = 0; i < Count; i++)
        {
            if (s.SequenceEqual(Utf8Name((Purpose)i))) { purpose = (Purpose)i; return true; }
        }
        purpose = default;
        return false;
    }


    public static ReadOnlySpan<byte> Utf8Name(Purpose p) => p switch
    {
        Purpose.CriminalInvestigation => "criminal_investigation"u8,
        Purpose.StolenVehicle => "stolen_vehicle"u8,
        Purpose.MissingPerson => "missing_person"u8,
        Purpose.AmberAlert => "amber_alert"u8,
        Purpose.HumanTrafficking => "human_trafficking"u8,
        Purpose.Warrant => "warrant"u8,
        Purpose.ImmigrationEnforcement => "immigration_enforcement"u8,
        Purpose.ReproductiveHealth => "reproductive_health"u8,
        Purpose.GenderAffirmingCare => "gender_affirming_care"u8,
        Purpose.CivilEnforcement => "civil_enforcement"u8,
        _ => "other"u8,
    };

    public static string Name(Purpose p) => System.Text.Encoding.UTF8.GetString(Utf8Name(p));
}
