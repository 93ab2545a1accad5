using System.Collections;
using System.CommandLine;
using System.CommandLine.Parsing;

namespace StreamGuard.Cli.CommandLine;

/// <summary>
/// A verb's values, typed, read from System.CommandLine's parse of the command line: an option given there wins,
/// else its environment variable (<c>STREAMGUARD_NAME</c>, <see cref="ValueOption.Env"/>), else its default. A bad
/// value from either source is a usage error naming the option and what it takes (exit 2).
/// </summary>
internal sealed class CommandArgs
{
    private readonly IDictionary _environment;

    /// <param name="result">The parse of the command line; its innermost command is the verb being run.</param>
    /// <param name="environment">The environment variables (default: the process's).</param>
    public CommandArgs(ParseResult result, IDictionary? environment = null)
    {
        Result = result;
        _environment = environment ?? Environment.GetEnvironmentVariables();
    }

    public ParseResult Result { get; }

    /// <summary>The verb being run.</summary>
    public Command Command => Result.CommandResult.Command;

    /// <summary>The options given on the command line, by <see cref="ValueOption.Id"/>, as given.</summary>
    public IReadOnlyDictionary<string, string> Given =>
        Command.Options.OfType<ValueOption>()
            .Select(o => (o.Id, Value: OnCommandLine(o)))
            .Where(p => p.Value is not null)
            .ToDictionary(p => p.Id, p => p.Value!, StringComparer.Ordinal);

    /// <summary>The value of an argument of the verb (a positional word).</summary>
    public string Value(Argument<string> argument) => Result.GetValue(argument) ?? "";

    /// <summary>The value given on the command line; null if none.</summary>
    public string? OnCommandLine(ValueOption option)
    {
        Declared(option);
        return Result.GetResult(option) is OptionResult { Implicit: false, Tokens.Count: > 0 } r
            ? r.Tokens[^1].Value
            : null;
    }

    /// <summary>The value given on the command line or in the environment; null if neither.</summary>
    public string? Get(ValueOption option) =>
        OnCommandLine(option) ?? (_environment[option.Env] as string is { Length: > 0 } v ? v : null);

    public string Require(ValueOption option) => Get(option) ?? throw new UsageException($"{option.Name} is required");

    /// <summary>The value given, else the option's default (null when it has none).</summary>
    public string? Text(TextOption option) => Get(option) ?? option.Default;

    /// <summary>The number given, else the option's default.</summary>
    public int Int(IntOption option) =>
        GivenInt(option) ?? option.Default ?? throw new InvalidOperationException($"{option.Name} has no default");

    /// <summary>The number given; null if none (for a default the verb computes).</summary>
    public int? GivenInt(IntOption option)
    {
        string? v = Get(option);
        if (v is null) return null;
        return option.Parse(v, out string? problem) ?? throw new UsageException(problem + From(option));
    }

    public double Double(DoubleOption option)
    {
        string? v = Get(option);
        if (v is null) return option.Default;
        return option.Parse(v, out string? problem) ?? throw new UsageException(problem + From(option));
    }

    /// <summary>The value of the word given, else of the option's default word.</summary>
    public T Choice<T>(ChoiceOption<T> option)
    {
        string? word = Get(option);
        if (word is null)
        {
            return option.HasDefault ? option.Default : throw new UsageException($"{option.Name} is required");
        }
        return option.TryParse(word, out T value)
            ? value
            : throw new UsageException(option.NotAChoice(word) + From(option));
    }

    /// <summary>Where a value came from, said of the environment's only.</summary>
    private string From(ValueOption option) =>
        OnCommandLine(option) is null ? $" (environment variable {option.Env})" : "";

    /// <summary>Reading an option the verb does not declare is a bug: it would be missing from its help.</summary>
    private void Declared(ValueOption option)
    {
        if (!Command.Options.Contains(option))
        {
            throw new InvalidOperationException($"{option.Name} is read but is not an option of '{Command.Name}'");
        }
    }
}
