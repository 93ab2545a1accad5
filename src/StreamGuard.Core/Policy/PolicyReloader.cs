using System.Security.Cryptography;
using StreamGuard.Engine;

namespace StreamGuard.Policy;

/// <summary>
/// Hot reload: watches the policy file and prepares each changed version off the consuming thread — validated,
/// compiled on top of the policy in force (agency indexes stay stable) and diffed against it — for the worker to
/// swap in between two events with <see cref="TryTake"/>. Consumption never waits for a reload.
/// </summary>
/// <remarks>
/// <para>The file is polled: a change is taken once the file's content is the same on two polls in a row, so an
/// editor still writing it is not mistaken for a broken policy. A version that fails validation is refused loudly
/// (logged with file, line and field, counted in <see cref="Rejected"/>) and the policy in force stays; the same
/// broken content is not reported again until it changes.</para>
/// <para>What is compared from poll to poll is the file's content and the content of every key it names (as the
/// version in force resolves them): a key file rewritten in place (a rotation without an edit of the policy) is a new
/// version like an edited policy, and gets its own <c>policy_load</c> audit entry. Key bytes are only hashed, in
/// memory.</para>
/// <para>Polling instead of file-system events: it works the same on bind mounts, network file systems and
/// Kubernetes ConfigMaps (which swap a symlink), where change notifications are unreliable.</para>
/// </remarks>
public sealed class PolicyReloader : IDisposable
{
    private readonly string _path;
    private readonly Action<string> _log;
    private readonly Func<long> _nowMs;
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private CompiledPolicy _inForce;
    private CompiledPolicy _newest;            // in force, or the pending version (new ones compile on top of it)
    private (CompiledPolicy Policy, PolicyChangeSummary Change)? _pending;
    private byte[] _seenHash;                  // content (file and keys) of the last poll
    private byte[] _handledHash;               // content (file and keys) last loaded or refused
    private int _polling;
    private int _retake;                       // a taken version was refused: read the file again at the next poll

    public PolicyReloader(string path, CompiledPolicy inForce, Action<string> log, TimeSpan interval,
        Func<long>? nowMs = null)
    {
        _path = path;
        _inForce = _newest = inForce;
        _log = log;
        _nowMs = nowMs ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        // The keys as loaded: a key file rewritten since is a change at the first poll.
        _seenHash = _handledHash = ContentHash(Convert.FromHexString(inForce.Hash["sha256:".Length..]),
            inForce.Document.Agencies.SelectMany(a => a.Keys.Select(k => ((byte[]?)k, (string?)null))));
        _timer = new Timer(_ => Poll(), null, interval, interval);
    }

    /// <summary>Versions accepted and handed over (or waiting to be).</summary>
    public long Accepted { get; private set; }

    /// <summary>Versions refused because they failed validation.</summary>
    public long Rejected { get; private set; }

    /// <summary>
    /// Told of each version refused for failing validation (or an unexpected error): the hash of the policy in force,
    /// which stays, and why. When set it replaces the free-text log line, so a host can log the refusal as a
    /// structured warning of its own.
    /// </summary>
    public Action<string, string>? Refused { get; init; }

    /// <summary>The message of the last refusal, if any.</summary>
    public string? LastError { get; private set; }

    /// <summary>
    /// Called by the consuming thread between events: the newest validated version and what it changes against the
    /// policy in force, if one is waiting. From then on it is the policy in force.
    /// </summary>
    public bool TryTake(out CompiledPolicy policy, out PolicyChangeSummary change)
    {
        lock (_lock)
        {
            if (_pending is not { } p)
            {
                policy = null!;
                change = null!;
                return false;
            }
            _pending = null;
            _inForce = p.Policy;
            (policy, change) = p;
            return true;
        }
    }

    /// <summary>Checks the file now (the timer does this every interval; tests call it directly).</summary>
    public void Poll()
    {
        if (Interlocked.Exchange(ref _polling, 1) == 1) return;
        try
        {
            if (Interlocked.Exchange(ref _retake, 0) == 1)
            {
                _newest = Volatile.Read(ref _inForce);
                _handledHash = [];
            }
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(_path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return; // being replaced (e.g. a ConfigMap symlink swap): look again next time
            }
            byte[] hash = ContentHash(SHA256.HashData(bytes), ResolvedKeys(_newest.Document));
            bool stable = hash.AsSpan().SequenceEqual(_seenHash);
            _seenHash = hash;
            if (!stable || hash.AsSpan().SequenceEqual(_handledHash)) return;
            _handledHash = hash;
            try
            {
                Load(bytes);
            }
            catch (Exception e)
            {
                // A timer callback must never take the worker down: anything unforeseen is a refused reload.
                Rejected++;
                LastError = e.Message;
                Report(Volatile.Read(ref _inForce).Hash, $"unexpected error: {e.GetType().Name}: {e.Message}");
            }
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    /// <summary>
    /// Every key <paramref name="doc"/> names, read again from where its reference points (bytes, or why it cannot be
    /// resolved now).
    /// </summary>
    private IEnumerable<(byte[]? Key, string? Problem)> ResolvedKeys(PolicyDocument doc)
    {
        string baseDirectory = Path.GetDirectoryName(Path.GetFullPath(_path)) ?? ".";
        foreach (AgencyConfig a in doc.Agencies)
        {
            foreach (string keyRef in a.KeyRefs)
            {
                byte[]? key;
                string? problem;
                try
                {
                    key = PolicyLoader.ResolveKey(keyRef, baseDirectory, out problem);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    (key, problem) = (null, e.Message); // being replaced: differs from any content, looked at again
                }
                yield return (key, problem);
            }
        }
    }

    /// <summary>SHA-256 over the file's hash and each key (or why it did not resolve), each with its length.</summary>
    private static byte[] ContentHash(byte[] fileHash, IEnumerable<(byte[]? Key, string? Problem)> keys)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(fileHash);
        Span<byte> head = stackalloc byte[5];
        foreach ((byte[]? key, string? problem) in keys)
        {
            byte[] data = key ?? System.Text.Encoding.UTF8.GetBytes(problem ?? "");
            head[0] = key is null ? (byte)0 : (byte)1;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(head[1..], data.Length);
            sha.AppendData(head);
            sha.AppendData(data);
        }
        return sha.GetHashAndReset();
    }

    private void Load(byte[] bytes)
    {
        CompiledPolicy next;
        try
        {
            PolicyDocument doc = PolicyLoader.Load(bytes, _path, Path.GetDirectoryName(Path.GetFullPath(_path)) ?? ".");
            next = new CompiledPolicy(doc, _newest); // _newest is only touched by the polling thread
        }
        catch (Exception e) when (e is PolicyException or IOException or UnauthorizedAccessException)
        {
            // An I/O failure (a key file swapped under us) is refused like a bad file, and retried at the next poll.
            if (e is not PolicyException) _handledHash = [];
            Rejected++;
            LastError = e.Message;
            Report(Volatile.Read(ref _inForce).Hash, e.Message);
            return;
        }
        // Diff against the policy in force, outside the lock (a diff of a large policy takes a while and the
        // consuming thread must never wait for it); if the worker swapped in a version meanwhile, diff again.
        CompiledPolicy inForce;
        while (true)
        {
            inForce = Volatile.Read(ref _inForce);
            PolicyDiffResult diff = PolicyDiff.Compute(inForce, next, _nowMs());
            lock (_lock)
            {
                if (!ReferenceEquals(inForce, _inForce)) continue;
                _newest = next;
                // As the version just loaded names its keys (they may be other files than the last version's).
                _seenHash = _handledHash = ContentHash(SHA256.HashData(bytes),
                    next.Document.Agencies.SelectMany(a => a.Keys.Select(k => ((byte[]?)k, (string?)null))));
                _pending = (next, PolicyDiff.Summarise(inForce, diff));
                Accepted++;
            }
            _log($"policy reload accepted: {next.Hash} " +
                $"({next.Document.Agencies.Count} agencies, {next.AgreementCount} agreements): " +
                $"{diff.Granted} outcomes granted, {diff.Revoked} revoked, {diff.ReasonChanged} reason changed" +
                string.Concat(diff.KeyChanges.Select(k => $", {k}")) + "; swapping in between two events");
            break;
        }
        foreach (string w in PolicyCheck.Warnings(next, _nowMs())) _log($"policy warning: {w}");
        foreach (string w in PolicyCheck.TakenOut(inForce, next, _nowMs())) // the version the diff was against
        {
            _log($"policy warning: {w}");
        }
    }

    private void Report(string inForce, string reason)
    {
        if (Refused is { } refused) refused(inForce, reason);
        else _log($"policy reload REFUSED, the policy in force ({inForce}) stays: {reason}");
    }

    /// <summary>
    /// Called by the consuming thread when it could not put <paramref name="taken"/> in force (what it needs outside
    /// the policy, such as its agencies' topics, could not be made): <paramref name="stays"/> is in force again, a
    /// version waiting on top of the refused one is dropped, and the file is read again at the next poll.
    /// </summary>
    public void Refuse(CompiledPolicy taken, CompiledPolicy stays, string reason)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_inForce, taken)) return;
            _inForce = stays;
            _pending = null;
            Accepted--;
            Rejected++;
            LastError = reason;
        }
        Volatile.Write(ref _retake, 1);
    }

    public void Dispose() => _timer.Dispose();
}
