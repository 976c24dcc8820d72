using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace ResNeSt.Host.Tests.Infrastructure.Browser;

/// <summary>
/// One page over the Chrome DevTools Protocol: commands by id over the page's websocket, and the console messages,
/// uncaught exceptions and log entries the page produces, kept for the test to check.
/// </summary>
internal sealed class CdpPage : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Task _receive;
    private int _nextId;

    private CdpPage(ClientWebSocket socket)
    {
        _socket = socket;
        _receive = Task.Run(ReceiveAsync);
    }

    /// <summary>Every console message, exception and log entry, in order: (level, source, text).</summary>
    public ConcurrentQueue<(string Level, string Source, string Text)> Console { get; } = new();

    public static async Task<CdpPage> ConnectAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(endpoint, cancellationToken);
        var page = new CdpPage(socket);
        await page.SendAsync("Runtime.enable");
        await page.SendAsync("Log.enable");
        await page.SendAsync("Page.enable");
        await page.SendAsync("DOM.enable");
        return page;
    }

    public async Task<JsonObject> SendAsync(string method, JsonObject? parameters = null, TimeSpan? timeout = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _send.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
        }
        finally
        {
            _send.Release();
        }

        var answer = await reply.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        if (answer["error"] is { } error)
        {
            throw new InvalidOperationException($"{method} failed: {error.ToJsonString()}");
        }

        return answer["result"]?.AsObject() ?? new JsonObject();
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page (promises awaited) and returns its JSON value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["returnByValue"] = true,
            ["awaitPromise"] = true,
            ["userGesture"] = true,
        });
        if (result["exceptionDetails"] is { } exception)
        {
            throw new InvalidOperationException($"Evaluating `{expression}` threw: {exception.ToJsonString()}");
        }

        return result["result"]?["value"]?.DeepClone();
    }

    /// <summary>Polls <paramref name="condition"/> (a JavaScript expression) until it is truthy.</summary>
    public async Task WaitForAsync(string condition, TimeSpan timeout, string what)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            if (await EvaluateAsync($"Boolean({condition})") is JsonValue value && value.GetValue<bool>())
            {
                return;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                var body = await EvaluateAsync("document.body ? document.body.innerText : ''");
                throw new TimeoutException($"Waited {timeout} for {what} ({condition}). Page text:\n{body}\nConsole:\n{string.Join('\n', Console)}");
            }

            await Task.Delay(200);
        }
    }

    public async Task NavigateAsync(Uri url)
    {
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
        await WaitForAsync("document.readyState === 'complete' && location.href !== 'about:blank'", TimeSpan.FromSeconds(30), $"{url} to load");
    }

    /// <summary>Types into the focused element as a keyboard would (one insertText per string).</summary>
    public Task TypeAsync(string text) => SendAsync("Input.insertText", new JsonObject { ["text"] = text });

    /// <summary>Presses and releases a key (Enter, Escape, Tab) on the focused element.</summary>
    public async Task PressAsync(string key, int keyCode)
    {
        foreach (var type in new[] { "keyDown", "keyUp" })
        {
            var parameters = new JsonObject
            {
                ["type"] = type, ["key"] = key, ["code"] = key, ["windowsVirtualKeyCode"] = keyCode, ["nativeVirtualKeyCode"] = keyCode,
            };
            if (type == "keyDown" && key == "Enter")
            {
                parameters["text"] = "\r"; // what makes Enter submit a form
            }

            await SendAsync("Input.dispatchKeyEvent", parameters);
        }
    }

    /// <summary>Chooses files in an <c>&lt;input type=file&gt;</c> as the user's file picker would (the page gets its change event).</summary>
    public async Task SetFilesAsync(string selector, IEnumerable<string> paths)
    {
        var document = await SendAsync("DOM.getDocument", new JsonObject { ["depth"] = 0 });
        var node = await SendAsync("DOM.querySelector", new JsonObject { ["nodeId"] = document["root"]!["nodeId"]!.GetValue<int>(), ["selector"] = selector });
        await SendAsync("DOM.setFileInputFiles", new JsonObject
        {
            ["nodeId"] = node["nodeId"]!.GetValue<int>(),
            ["files"] = new JsonArray(paths.Select(p => (JsonNode)Path.GetFullPath(p)).ToArray()),
        });
    }

    /// <summary>Sets the viewport (CSS pixels; <paramref name="mobile"/>: a phone's meta-viewport handling and touch).</summary>
    public Task ResizeAsync(int width, int height, bool mobile) =>
        SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject
        {
            ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = mobile,
        });

    public async Task ScreenshotAsync(string path)
    {
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String((string)shot["data"]!));
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                var json = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length))!.AsObject();
                message.SetLength(0);
                if (json["id"] is { } id && _pending.TryRemove(id.GetValue<int>(), out var reply))
                {
                    reply.TrySetResult(json);
                }
                else if (json["method"] is { } method)
                {
                    Observe((string)method!, json["params"]?.AsObject());
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The browser went away or the page is being disposed.
        }

        foreach (var reply in _pending.Values)
        {
            reply.TrySetException(new InvalidOperationException("The DevTools connection closed."));
        }
    }

    private void Observe(string method, JsonObject? parameters)
    {
        switch (method)
        {
            case "Runtime.consoleAPICalled":
                var text = string.Join(' ', parameters?["args"]?.AsArray().Select(a => a?["value"]?.ToString() ?? a?["description"]?.ToString()) ?? []);
                Console.Enqueue(((string?)parameters?["type"] ?? "log", "console", text));
                break;
            case "Runtime.exceptionThrown":
                var details = parameters?["exceptionDetails"];
                Console.Enqueue(("error", "exception", (string?)details?["exception"]?["description"] ?? (string?)details?["text"] ?? "exception"));
                break;
            case "Log.entryAdded":
                var entry = parameters?["entry"];
                Console.Enqueue(((string?)entry?["level"] ?? "info", (string?)entry?["source"] ?? "other", $"{entry?["text"]} {entry?["url"]}".Trim()));
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _receive;
        }
        catch (OperationCanceledException)
        {
        }

        _socket.Dispose();
        _stop.Dispose();
        _send.Dispose();
    }
}
