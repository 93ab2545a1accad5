using System.Globalization;

namespace StreamGuard.Cli;

/// <summary>
/// Progress of long work on a terminal: count, rate, share done and ETA on standard error, redrawn in place
/// (carriage return) at most <see cref="Interval"/> apart. Quiet — nothing written at all — when standard error is
/// redirected (a file, a pipe, a CI log), so logs never fill with redraws.
/// </summary>
/// <remarks>
/// <see cref="Update(long, long, long)"/> is cheap enough to call once per item: when quiet it returns at once, and
/// otherwise it reads a timestamp and compares it with the next deadline; it allocates only when it draws.
/// The ETA assumes the average rate so far holds for the rest: done/total may be items against a target count
/// (<c>gen</c>) or input bytes read against the input's size (<c>replay</c>), which stays honest when items vary
/// in size.
/// </remarks>
internal sealed class Progress : IDisposable
{
    /// <summary>The shortest time between two redraws (four a second).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly TextWriter? _writer;
    private readonly TimeProvider _time;
    private readonly string _unit;
    private readonly bool _bytes;
    private readonly long _start;
    private readonly long _intervalTicks;
    private long _next;
    private int _width;

    /// <param name="writer">where to draw; null = quiet.</param>
    /// <param name="unit">what the items are ("reads", "events").</param>
    /// <param name="bytes">done/total are bytes (shown as "37% of 45.6 MiB"), not items.</param>
    /// <param name="time">the clock (tests pass their own).</param>
    public Progress(TextWriter? writer, string unit, bool bytes = false, TimeProvider? time = null)
    {
        _writer = writer;
        _unit = unit;
        _bytes = bytes;
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        _intervalTicks = (long)(Interval.TotalSeconds * _time.TimestampFrequency);
        _next = _start + _intervalTicks;
    }

    /// <summary>Progress on the console's standard error, or quiet when standard error is redirected.</summary>
    public static Progress OnConsole(string unit, bool bytes = false) =>
        new(Console.IsErrorRedirected ? null : Console.Error, unit, bytes);

    /// <summary>True when this progress draws (standard error is a terminal).</summary>
    public bool Enabled => _writer is not null;

    /// <summary>Items done against a target count of items (0 = unknown: no share, no ETA).</summary>
    public void Update(long items, long total) => Update(items, items, total);

    /// <summary>
    /// <paramref name="items"/> processed (the rate counts these); <paramref name="done"/> of
    /// <paramref name="total"/> (items or bytes; total 0 = unknown) for the share done and the ETA. Draws when
    /// <see cref="Interval"/> has passed since the last drawing.
    /// </summary>
    public void Update(long items, long done, long total)
    {
        if (_writer is null) return;
        long now = _time.GetTimestamp();
        if (now < _next) return;
        _next = now + _intervalTicks;
        string line = Format(_unit, items, done, total, _bytes, _time.GetElapsedTime(_start, now));
        // Pad over the end of a longer previous line: the redraw must not leave its tail behind.
        int pad = Math.Max(0, _width - line.Length);
        _width = line.Length;
        _writer.Write("\r" + line + new string(' ', pad));
        _writer.Flush();
    }

    /// <summary>Erases the progress line, so the next output starts on a clean line.</summary>
    public void Clear()
    {
        if (_writer is null || _width == 0) return;
        _writer.Write("\r" + new string(' ', _width) + "\r");
        _writer.Flush();
        _width = 0;
    }

    public void Dispose() => Clear();

    /// <summary>
    /// One progress line: <c>  40,000/100,000 reads  12,345/s  40%  ETA 0:05</c> (items against a target),
    /// <c>  120,000 events  45,678/s  37% of 45.6 MiB  ETA 1:02:07</c> (bytes), <c>  120,000 events  45,678/s</c>
    /// (total unknown). Invariant culture: the same digits on every machine.
    /// </summary>
    internal static string Format(string unit, long items, long done, long total, bool bytes, TimeSpan elapsed)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        double seconds = elapsed.TotalSeconds;
        string count = total > 0 && !bytes
            ? string.Create(c, $"  {items:N0}/{total:N0} {unit}")
            : string.Create(c, $"  {items:N0} {unit}");
        string rate = seconds > 0 ? string.Create(c, $"  {items / seconds:N0}/s") : "  -/s";
        if (total <= 0) return count + rate;

        double fraction = Math.Clamp((double)done / total, 0, 1);
        string share = bytes
            ? string.Create(c, $"  {Math.Floor(fraction * 100):F0}% of {Size(total)}")
            : string.Create(c, $"  {Math.Floor(fraction * 100):F0}%");
        // Remaining time at the average rate so far; unknown until something is done.
        string eta = done > 0 && seconds > 0
            ? "  ETA " + Duration(seconds * (total - Math.Min(done, total)) / done)
            : "  ETA -";
        return count + rate + share + eta;
    }

    /// <summary>
    /// <c>0:05</c>, <c>12:30</c>, <c>1:02:07</c>; whole seconds rounded up (never "0:00" with work left).
    /// </summary>
    internal static string Duration(double seconds)
    {
        long s = (long)Math.Ceiling(Math.Clamp(seconds, 0, 1e15));
        return s >= 3600
            ? string.Create(CultureInfo.InvariantCulture, $"{s / 3600}:{s / 60 % 60:D2}:{s % 60:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{s / 60}:{s % 60:D2}");
    }

    /// <summary><c>512 B</c>, <c>4.0 KiB</c>, <c>45.6 MiB</c>, <c>1.2 GiB</c>.</summary>
    internal static string Size(long bytes)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        if (bytes < 1024) return string.Create(c, $"{bytes} B");
        if (bytes < 1024 * 1024) return string.Create(c, $"{bytes / 1024.0:F1} KiB");
        if (bytes < 1024L * 1024 * 1024) return string.Create(c, $"{bytes / (1024.0 * 1024):F1} MiB");
        return string.Create(c, $"{bytes / (1024.0 * 1024 * 1024):F1} GiB");
    }
}
