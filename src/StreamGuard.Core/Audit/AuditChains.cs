namespace StreamGuard.Audit;

/// <summary>The audit log's chains: one per input partition.</summary>
public static class AuditChains
{
    /// <summary>
    /// The name of the chain of input partition <paramref name="partition"/>: <c>p&lt;partition&gt;</c>. The one
    /// spelling of it: the records' <c>chain</c> member, the genesis hash and the chain's Kafka key all take it from
    /// here, so a restored worker finds the head of the chain it continues.
    /// </summary>
    public static string Name(int partition) =>
        "p" + partition.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
