using StreamGuard.Output;

namespace StreamGuard.Cli.Commands;

/// <summary>What StreamGuard produced in one bench step, per output topic: records and bytes — what the pass-through
/// pipe then produces for the same input.</summary>
internal sealed class BenchOutputProfile
{
    public const int Shared = 0, Alerts = 1, Results = 2, Purges = 3, Audit = 4, DeadLetter = 5, Kinds = 6;

    public static readonly string[] KindNames = ["shared", "alerts", "results", "purges", "audit", "dlq"];

    public long[] Records { get; } = new long[Kinds];

    public long[] KeyBytes { get; } = new long[Kinds];

    public long[] ValueBytes { get; } = new long[Kinds];

    /// <summary>Header bytes (names and values) of <c>alpr.shared</c> records.</summary>
    public long SharedHeaderBytes { get; set; }

    /// <summary>Input events the worker processed while these outputs were produced.</summary>
    public long Inputs { get; set; }

    public long TotalRecords => Records.Sum();

    public long TotalBytes => KeyBytes.Sum() + ValueBytes.Sum() + SharedHeaderBytes;

    public int MeanKey(int kind) => Records[kind] == 0 ? 0 : (int)Math.Round((double)KeyBytes[kind] / Records[kind]);

    public int MeanValue(int kind) =>
        Records[kind] == 0 ? 0 : (int)Math.Max(1, Math.Round((double)ValueBytes[kind] / Records[kind]));

    public double PerInput(int kind) => Inputs == 0 ? 0 : (double)Records[kind] / Inputs;

    /// <summary>Wraps the worker's sink: counts every output (one array increment each), then passes it on.</summary>
    public IOutputSink Counting(IOutputSink inner) => new CountingSink(inner, this);

    private sealed class CountingSink(IOutputSink inner, BenchOutputProfile p) : IOutputSink
    {
        private static readonly int s_sharedHeaderNames = "sg-recipient".Length + "sg-decision".Length;

        private void Count(int kind, int key, int value)
        {
            p.Records[kind]++;
            p.KeyBytes[kind] += key;
            p.ValueBytes[kind] += value;
        }

        public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
            ReadOnlySpan<byte> read)
        {
            Count(BenchOutputProfile.Shared, recipient.Length, read.Length);
            p.SharedHeaderBytes += s_sharedHeaderNames + recipient.Length + decisionId.Length;
            inner.Shared(recipient, readId, decisionId, read);
        }

        public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert)
        {
            Count(Alerts, recipient.Length, alert.Length);
            inner.Alert(recipient, hotlistId, alert);
        }

        public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result)
        {
            Count(Results, queryId.Length, result.Length);
            inner.Result(requester, queryId, result);
        }

        public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice)
        {
            Count(Purges, readId.Length, notice.Length);
            inner.Purge(agency, readId, notice);
        }

        public void Audit(int partition, ReadOnlySpan<byte> record)
        {
            Count(BenchOutputProfile.Audit, ChainKeyLength(partition), record.Length);
            inner.Audit(partition, record);
        }

        // The audit record's key as the Kafka sink writes it: "p" and the partition's number.
        private static int ChainKeyLength(int partition)
        {
            Span<char> digits = stackalloc char[11];
            partition.TryFormat(digits, out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
            return 1 + written;
        }

        public void DeadLetter(ReadOnlySpan<byte> record)
        {
            Count(BenchOutputProfile.DeadLetter, 0, record.Length);
            inner.DeadLetter(record);
        }
    }
}
