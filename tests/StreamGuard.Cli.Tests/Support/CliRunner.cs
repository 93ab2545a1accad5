namespace StreamGuard.Tests.Support;

/// <summary>
/// Runs a <c>streamguard</c> verb in process with standard output and error captured. Console redirection is
/// process-wide: callers sit in the non-parallel "Console" collection.
/// </summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        var o = new StringWriter();
        var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            int code = StreamGuard.Cli.Cli.MainAsync(args).GetAwaiter().GetResult();
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
