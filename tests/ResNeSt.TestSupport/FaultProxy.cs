using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace ResNeSt.TestSupport;

/// <summary>What the proxy does with one request.</summary>
public enum Fault
{
    /// <summary>Forward it to Azurite.</summary>
    None,
    /// <summary>Answer 503 Server Busy without forwarding (what an overloaded storage front end does).</summary>
    ServiceUnavailable,
    /// <summary>Reset the connection without answering (a dropped connection).</summary>
    Drop,
}

/// <summary>One request seen by the proxy: which service, method and path, and its running number.</summary>
public sealed record ProxiedRequest(string Service, string Method, string Path, long Number)
{
    /// <summary>A blob download (a GET of the blob itself, not of its tags, properties or a listing).</summary>
    public bool IsBlobDownload => Service == "blob" && Method == "GET" && !Path.Contains('?', StringComparison.Ordinal);
}

/// <summary>
/// A fault-injecting HTTP proxy on loopback in front of Azurite's three services. Each request is decided by
/// <see cref="Rule"/> (deterministic: it sees the request, not the clock). Every connection carries one request
/// (<c>Connection: close</c> is forced), so a decision applies to exactly one request and responses need no parsing.
/// </summary>
public sealed partial class FaultProxy : IAsyncDisposable
{
    private readonly Dictionary<string, (TcpListener Listener, int UpstreamPort)> _services;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly string _connectionString;
    private long _requests;
    private long _passed;
    private long _faulted;

    private FaultProxy(string upstreamConnectionString)
    {
        _services = new Dictionary<string, (TcpListener, int)>(StringComparer.Ordinal);
        _connectionString = EndpointPort().Replace(upstreamConnectionString, match =>
        {
            var service = match.Groups["service"].Value.ToLowerInvariant();
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            _services[service] = (listener, int.Parse(match.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture));
            return $"{match.Groups["service"].Value}Endpoint=http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/";
        });
        foreach (var (service, (listener, upstream)) in _services)
        {
            _loops.Add(AcceptAsync(service, listener, upstream));
        }
    }

    /// <summary>Starts a proxy for every endpoint of an Azurite connection string.</summary>
    public static FaultProxy Start(string azuriteConnectionString) => new(azuriteConnectionString);

    /// <summary>The connection string through the proxy.</summary>
    public string ConnectionString => _connectionString;

    /// <summary>Decides each request; forwards everything by default.</summary>
    public Func<ProxiedRequest, Fault> Rule { get; set; } = static _ => Fault.None;

    public long Passed => Interlocked.Read(ref _passed);

    public long Faulted => Interlocked.Read(ref _faulted);

    /// <summary>Every request and what was done with it, in order (for assertion messages).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Journal { get; } = new();

    [GeneratedRegex(@"(?<service>Blob|Queue|Table)Endpoint=http://127\.0\.0\.1:(?<port>\d+)/")]
    private static partial Regex EndpointPort();

    private async Task AcceptAsync(string service, TcpListener listener, int upstreamPort)
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => HandleAsync(service, client, upstreamPort));
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private async Task HandleAsync(string service, TcpClient client, int upstreamPort)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (head, bodyStart) = await ReadHeadAsync(stream);
                if (head is null)
                {
                    return;
                }

                var lines = head.Split("\r\n");
                var requestLine = lines[0].Split(' ');
                long contentLength = 0;
                var headers = new StringBuilder();
                headers.Append(lines[0]).Append("\r\n");
                foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    var name = line[..colon].Trim();
                    if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                    {
                        contentLength = long.Parse(line[(colon + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    }
                    else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new NotSupportedException("Chunked request bodies are not proxied.");
                    }

                    if (!name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && !name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
                    {
                        headers.Append(line).Append("\r\n");
                    }
                }

                headers.Append("Connection: close\r\n\r\n");
                var body = new byte[contentLength];
                bodyStart.AsSpan().CopyTo(body);
                await stream.ReadExactlyAsync(body.AsMemory(bodyStart.Length));

                var request = new ProxiedRequest(service, requestLine[0], requestLine[1], Interlocked.Increment(ref _requests));
                var fault = Rule(request);
                Journal.Enqueue($"{request.Number} {service} {request.Method} {request.Path} -> {fault}");
                switch (fault)
                {
                    case Fault.ServiceUnavailable:
                        Interlocked.Increment(ref _faulted);
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(
                            "HTTP/1.1 503 Service Unavailable\r\nx-ms-error-code: ServerBusy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                        return;
                    case Fault.Drop:
                        Interlocked.Increment(ref _faulted);
                        client.Client.LingerState = new LingerOption(true, 0); // RST, not a clean close
                        return;
                }

                Interlocked.Increment(ref _passed);
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, upstreamPort);
                var upstreamStream = upstream.GetStream();
                await upstreamStream.WriteAsync(Encoding.ASCII.GetBytes(headers.ToString()));
                await upstreamStream.WriteAsync(body);
                await upstreamStream.CopyToAsync(stream); // until Azurite closes (Connection: close)
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                // The client gave up (its own timeout) or the test ended.
            }
        }
    }

    /// <summary>Reads up to the blank line; returns the head and the bytes already read past it.</summary>
    private static async Task<(string? Head, byte[] BodyStart)> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new byte[64 * 1024];
        int filled = 0;
        while (true)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(filled));
            if (read == 0)
            {
                return (null, []);
            }

            filled += read;
            int end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return (Encoding.ASCII.GetString(buffer, 0, end), buffer.AsSpan(end + 4, filled - end - 4).ToArray());
            }

            if (filled == buffer.Length)
            {
                throw new IOException("Request head larger than 64 KiB.");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var (listener, _) in _services.Values)
        {
            listener.Stop();
        }

        await Task.WhenAll(_loops);
        _stop.Dispose();
    }
}
