namespace StreamGuard.Kafka;

/// <summary>
/// The kinds of per-agency output topic (SPEC §6): each agency has one topic of each kind, named from
/// <see cref="TopicNames.AgencyTemplate"/>.
/// </summary>
public enum OutputKind
{
    /// <summary>Push deliveries to a recipient (<c>alpr.shared.&lt;recipient&gt;</c>).</summary>
    Shared,

    /// <summary>Hotlist alerts to the hotlist's owner (<c>alpr.alerts.&lt;recipient&gt;</c>).</summary>
    Alerts,

    /// <summary>Query answers to the requester (<c>alpr.results.&lt;requester&gt;</c>).</summary>
    Results,

    /// <summary>Purge notices to a read's owner and every agency it was pushed to
    /// (<c>alpr.purges.&lt;agency&gt;</c>).</summary>
    Purges,
}
