namespace StreamGuard.Cli;

/// <summary>A usage error: printed with the verb's help, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
