namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>streamguard bench --sweep</c>: the sustainable maximum of one system and mode, searched with measured steps.
/// </summary>
internal static class BenchSweep
{
    /// <summary>×1.5 while sustained, then bisection between the last sustained and the first failed rate.</summary>
    public static (double Best, BenchOutputProfile? Profile) Run(BenchSettings s, bool eos, double start, int steps,
        BenchSystem system, BenchOutputProfile? pipeProfile, CancellationToken ct)
    {
        double good = 0, bad = double.PositiveInfinity, rate = start;
        BenchOutputProfile? profile = null;
        for (int i = 0; i < steps && !ct.IsCancellationRequested; i++)
        {
            (BenchStepResult r, BenchOutputProfile p) = BenchStep.Run(s, eos, rate, system, pipeProfile, ct);
            if (r.Sustained)
            {
                good = rate;
                profile = p;
            }
            else
            {
                bad = rate;
            }
            if (!double.IsPositiveInfinity(bad) && (bad - good) / bad < 0.1) break;
            rate = double.IsPositiveInfinity(bad) ? rate * 1.5 : good == 0 ? bad / 2 : (good + bad) / 2;
            rate = Math.Round(rate / 100) * 100 is var rounded && rounded > 0 ? rounded : rate;
        }
        return (good, profile);
    }
}
