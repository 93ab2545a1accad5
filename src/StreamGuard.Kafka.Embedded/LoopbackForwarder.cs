using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace StreamGuard.Kafka.Embedded;

/// <summary>
/// Accepts TCP connections on a chosen loopback port and passes each one, byte for byte in both directions, to
/// another loopback port. It gives a <see cref="MockCluster"/> broker a fixed address: librdkafka's mock binds
/// ephemeral ports only, so <c>streamguard broker --port P</c> listens on P here, forwards to the broker's own port
/// and has the broker advertise P (<see cref="MockCluster.AdvertiseBroker"/>), so every later connection of a
/// client — to the partition leader, the group or transaction coordinator — comes through P as well.
/// </summary>
public sealed class LoopbackForwarder : IDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly Task _accepting;

    private LoopbackForwarder(TcpListener listener, int targetPort)
    {
        _listener = listener;
        _targetPort = targetPort;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The port this forwarder listens on.</summary>
    public int Port { get; }

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/> (0: a free port) and forwards to
    /// 127.0.0.1:<paramref name="targetPort"/>.</summary>
    /// <exception cref="SocketException">The port cannot be bound (e.g. it is in use).</exception>
    public static LoopbackForwarder Start(int port, int targetPort)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetPort, 65535);
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(backlog: 64);
        return new LoopbackForwarder(listener, targetPort);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var broker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.NoDelay = true;
        broker.NoDelay = true;
        _open.TryAdd(client, 0);
        _open.TryAdd(broker, 0);
        try
        {
            await broker.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort),
                _stop.Token).ConfigureAwait(false);
            // Either direction ending (a close, a reset, the forwarder stopping) ends the connection as a whole.
            await Task.WhenAny(PumpAsync(client, broker), PumpAsync(broker, client)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The broker is down or the forwarder stopping: the client sees its connection closed, as with a broker.
        }
        finally
        {
            _open.TryRemove(client, out _);
            _open.TryRemove(broker, out _);
            client.Dispose();
            broker.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (read == 0) return;
                int sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None,
                        _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed from either side.
        }
    }

    /// <summary>Stops listening and closes every forwarded connection.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _listener.Stop();
        foreach (Socket s in _open.Keys) s.Dispose();
        try
        {
            _accepting.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The accept loop ends with the listener; nothing to report.
        }
        _stop.Dispose();
    }
}
