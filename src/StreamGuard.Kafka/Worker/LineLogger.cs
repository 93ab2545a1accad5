using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>
/// An <see cref="ILogger"/> that hands each formatted line to a callback — for callers that print text (the demo, the
/// bench, tests) rather than run a logging pipeline.
/// </summary>
public sealed class LineLogger(Action<string> write) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) write(formatter(state, exception));
    }
}
