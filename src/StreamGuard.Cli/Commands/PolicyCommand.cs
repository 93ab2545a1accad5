using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard policy check P</c>.</summary>
internal static class PolicyCommand
{
    public const string Help = """
        streamguard policy check P

        Validates a policy file (SPEC §3). Errors name the file, the line and the field (exit 2); warnings
        are printed and do not fail the check. This build validates agencies, keys, retention and search
        settings; agreements and local rules are reported as not yet evaluated (deny by default).
        """;

    public static int Run(CliArgs args)
    {
        if (args.Positional.Count != 2 || args.Positional[0] != "check") throw new UsageException("expected: policy check P");
        args.RejectUnknown();
        PolicyDocument doc = PolicyLoader.LoadFile(args.Positional[1]);
        foreach (string w in doc.Warnings) Console.WriteLine($"warning: {w}");
        Console.WriteLine($"{args.Positional[1]}: ok — {doc.Agencies.Count} agencies, policy {doc.Hash}");
        return 0;
    }
}
