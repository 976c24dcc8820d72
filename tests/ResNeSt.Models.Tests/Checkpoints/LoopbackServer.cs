using System.Net;
using System.Net.Sockets;

namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>A real HTTP server on 127.0.0.1 serving fixed files, for download tests without the internet.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files;
    private readonly Task _loop;
    private int _requests;

    public LoopbackServer(Dictionary<string, byte[]> files)
    {
        _files = files;
        int port = FreePort();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/weights/");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public Uri BaseUrl { get; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>A loopback port nothing listens on: connections to it are refused at once.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Interlocked.Increment(ref _requests);
            string name = context.Request.Url!.AbsolutePath.Replace("/weights/", "", StringComparison.Ordinal);
            if (_files.TryGetValue(name, out byte[]? body))
            {
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
            }
            else
            {
                context.Response.StatusCode = 404;
            }

            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
