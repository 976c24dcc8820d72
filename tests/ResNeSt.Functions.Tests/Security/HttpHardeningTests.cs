using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResNeSt.Functions.Api;
using ResNeSt.Functions.Http;
using ResNeSt.Functions.Triggers;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.TestSupport;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>The HTTP functions' defences, exercised through the function classes and the app's middleware on Azurite.</summary>
[Collection(AzuriteFixture.Collection)]
public sealed class HttpHardeningTests(AzuriteFixture azurite)
{
    private static T Function<T>(PipelineHarness harness) where T : class => ActivatorUtilities.CreateInstance<T>(harness.Services);

    /// <summary>A body that must not be read at all: the request is to be refused from its headers.</summary>
    private sealed class UnreadableStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("The body was read.");
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw new InvalidOperationException("The body was read.");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A chunked upload that never ends; counts what the function pulled from it.</summary>
    private sealed class EndlessStream : Stream
    {
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, 4096);
            buffer[..n].Fill((byte)'{');
            BytesRead += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static HttpRequest Request(string method, Stream body, string? contentType, long? contentLength)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Body = body;
        context.Request.ContentType = contentType;
        context.Request.ContentLength = contentLength;
        context.Response.Body = new MemoryStream();
        return context.Request;
    }

    private static HttpRequest Json(string json, string? contentType = "application/json") =>
        Request("POST", new MemoryStream(Encoding.UTF8.GetBytes(json)), contentType, Encoding.UTF8.GetByteCount(json));

    /// <summary>
    /// Runs a function as the host does: through <see cref="ApiProblemMiddleware"/>, the result written to the request's
    /// own response (so the invocation id the middleware attached is there).
    /// </summary>
    private static async Task<HttpTest.Response> InvokeAsync(PipelineHarness harness, HttpRequest request, string invocationId, Func<Task<IActionResult>> function)
    {
        var http = request.HttpContext;
        var context = new TestFunctionContext(invocationId, harness.Services);
        context.Items["HttpRequestContext"] = http;
        await new ApiProblemMiddleware().Invoke(context, async _ =>
        {
            var result = await function();
            await result.ExecuteResultAsync(new ActionContext(http, new RouteData(), new ActionDescriptor()));
        });
        var body = (MemoryStream)http.Response.Body;
        return new HttpTest.Response(http.Response.StatusCode, http.Response.ContentType ?? "", Encoding.UTF8.GetString(body.ToArray()), null);
    }

    [Fact]
    public async Task Classify_refuses_oversized_bodies_before_reading_and_bounds_chunked_ones()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { ["Pipeline:MaxImageBytes"] = "100000" });
        var api = Function<ClassifyApi>(harness);

        // Declared too large: refused from the header, the body is never touched.
        var declared = await (await api.PostAsync(Request("POST", new UnreadableStream(), "image/jpeg", 1_000_000_000), default)).ExecuteAsync();
        Assert.Equal((413, "too_large"), (declared.Status, declared.Root.GetProperty("code").GetString()));

        // Chunked (no Content-Length) and endless: cut off one byte past the limit.
        var endless = new EndlessStream();
        var chunked = await (await api.PostAsync(Request("POST", endless, "image/jpeg", null), default)).ExecuteAsync();
        Assert.Equal(413, chunked.Status);
        Assert.InRange(endless.BytesRead, 100_001, 100_001);

        // A Content-Length that understates the body is no way around the limit either.
        var lying = new EndlessStream();
        Assert.Equal(413, (await (await api.PostAsync(Request("POST", lying, "image/jpeg", 10), default)).ExecuteAsync()).Status);
        Assert.Equal(100_001, lying.BytesRead);
    }

    [Fact]
    public async Task A_body_buffer_grows_with_the_bytes_that_arrive_not_with_the_declared_length()
    {
        // A client declaring 19 MB and sending 10 bytes (as a slow client does for minutes) must not make the worker hold
        // 19 MB: the old buffer was rented at the declared length before a byte arrived.
        var request = Request("POST", new MemoryStream(new byte[10]), "image/jpeg", 19_000_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var body = await BoundedBody.ReadAsync(request, 20L << 20, CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(10, body.Length);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated for a 10-byte body");
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_classification()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var api = Function<ClassifyApi>(harness);
        var request = HttpTest.Post(TestImages.Sample("camera.png"), "image/png");
        using var aborted = new CancellationTokenSource();
        request.HttpContext.RequestAborted = aborted.Token;
        await aborted.CancelAsync();

        // The invocation's own token is still live: only the request's says stop.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => api.PostAsync(request, CancellationToken.None));
    }

    [Fact]
    public async Task Classify_refuses_non_image_content_types_without_reading()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var api = Function<ClassifyApi>(harness);
        foreach (var contentType in new[] { null, "", "text/plain", "application/json", "application/octet-streamx", "image", "image/*", "*/*", "multipart/form-data; boundary=x" })
        {
            var response = await (await api.PostAsync(Request("POST", new UnreadableStream(), contentType, 100), default)).ExecuteAsync();
            Assert.Equal((415, "unsupported_media_type"), (response.Status, response.Root.GetProperty("code").GetString()));
            Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Classify_accepts_image_types_with_parameters_and_octet_stream()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var api = Function<ClassifyApi>(harness);
        var png = TestImages.Sample("camera.png");
        Assert.Equal(200, (await (await api.PostAsync(HttpTest.Post(png, "IMAGE/PNG; q=1"), default)).ExecuteAsync()).Status);
        Assert.Equal(200, (await (await api.PostAsync(HttpTest.Post(png, "application/octet-stream", declareLength: false), default)).ExecuteAsync()).Status);
    }

    [Fact]
    public async Task Batch_requests_are_bounded_json_with_only_a_prefix()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var api = Function<BatchesApi>(harness);
        async Task<HttpTest.Response> Start(HttpRequest request) => await (await api.StartAsync(request, default)).ExecuteAsync();

        Assert.Equal(413, (await Start(Request("POST", new UnreadableStream(), "application/json", 1_000_000))).Status);
        var endless = new EndlessStream();
        Assert.Equal(413, (await Start(Request("POST", endless, "application/json", null))).Status);
        Assert.Equal(8 * 1024 + 1, endless.BytesRead);

        foreach (var type in new[] { null, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1", "application/jsonp" })
        {
            var refused = await Start(Request("POST", new UnreadableStream(), type, 20));
            Assert.Equal((415, "unsupported_media_type"), (refused.Status, refused.Root.GetProperty("code").GetString()));
        }

        // Nothing but a prefix: a container, an account or a URL is refused, not silently ignored.
        foreach (var body in new[] { """{"prefix":"a/","container":"models"}""", """{"prefix":"a/","url":"https://example.com/x"}""", """{"prefix":"a/","connectionString":"UseDevelopmentStorage=true"}""" })
        {
            var refused = await Start(Json(body));
            Assert.Equal((400, "invalid_body"), (refused.Status, refused.Root.GetProperty("code").GetString()));
        }

        // The parser's own message is not echoed.
        var garbage = await Start(Json("{\"prefix\": tru"));
        Assert.Equal(400, garbage.Status);
        Assert.DoesNotContain("Path:", garbage.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("invalid start of a value", garbage.Body, StringComparison.OrdinalIgnoreCase);

        Assert.Equal(202, (await Start(Json("""{"prefix":"holiday/2024/"}""", "application/json; charset=utf-8"))).Status);
        Assert.Equal(202, (await Start(Request("POST", new MemoryStream(), null, 0))).Status); // empty body: the whole container
    }

    public static TheoryData<string> TraversalNames() =>
    [
        "../models/resnest50.onnx",
        "a/../../b.jpg",
        "./a.jpg",
        "a/./b.jpg",
        "..",
        "%2e%2e/models/resnest50.onnx",
        "%2E%2E%2Fmodels",
        "a/%2e%2e/%2e%2e/b",
        "%252e%252e/b",
        "a\\..\\b.jpg",
        "a\\b.jpg",
        "%5c..%5cb",
        "/models/resnest50.onnx",
        "%2fmodels",
        "https://evil.example/x.jpg",
        "http:x",
        "file:///etc/passwd",
        "ftp://host/x",
        "data:image/png;base64,AAAA",
        "C:\\windows\\win.ini",
        "a://b",
        "a\nb.jpg",
        "a%0d%0aInjected: yes",
        "a\u0000b",
        "a\u2028b",
    ];

    [Theory]
    [MemberData(nameof(TraversalNames))]
    public void Traversal_urls_and_control_characters_are_not_blob_names_or_prefixes(string value)
    {
        Assert.NotNull(BlobNameRules.Check(value));
        Assert.NotNull(BlobNameRules.Check(value, isPrefix: true));
    }

    [Fact]
    public async Task Results_and_batch_functions_refuse_every_traversal_name()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        foreach (string name in TraversalNames())
        {
            var get = await (await Function<ResultsApi>(harness).GetAsync(HttpTest.Get(), name, default)).ExecuteAsync();
            Assert.Equal((400, "invalid_blob_name"), (get.Status, get.Root.GetProperty("code").GetString()));

            var json = System.Text.Json.JsonSerializer.Serialize(new ResNeSt.Pipeline.Serialization.BatchRequest(name), ResNeSt.Pipeline.Serialization.PipelineJsonContext.Default.BatchRequest);
            var start = await (await Function<BatchesApi>(harness).StartAsync(Json(json), default)).ExecuteAsync();
            Assert.Equal((400, "invalid_prefix"), (start.Status, start.Root.GetProperty("code").GetString()));
        }

        // Nothing was started, nothing was looked up under another container.
        await foreach (var _ in harness.Storage.BatchJobs.QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            Assert.Fail("A refused prefix must not create a job.");
        }
    }

    [Theory]
    [InlineData("photo.jpg")]
    [InlineData("trips/2024/dog.jpg")]
    [InlineData("a..b/c...jpg")] // dots inside a segment are not traversal
    [InlineData("cat:1.jpg")]
    [InlineData("100% real.png")]
    [InlineData("bad%zzescape%")] // not an encoding of anything
    [InlineData("naïve/Ünïcødé 猫.png")]
    public void Ordinary_names_are_accepted(string name) => Assert.Null(BlobNameRules.Check(name));

    [Fact]
    public async Task A_storage_failure_answers_500_problem_json_with_the_invocation_id_and_no_internals()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        await harness.Storage.BatchJobs.DeleteAsync(); // a real storage error: the table is gone
        var api = Function<BatchesApi>(harness);

        // Without the middleware the function throws a storage exception full of internals ...
        var thrown = await Assert.ThrowsAsync<Azure.RequestFailedException>(async () => await api.StartAsync(Json("""{"prefix":"x/"}"""), default));
        Assert.Contains("TableNotFound", thrown.ToString(), StringComparison.Ordinal);

        // ... which the caller never sees.
        var request = Json("""{"prefix":"x/"}""");
        var response = await InvokeAsync(harness, request, "inv-500", () => api.StartAsync(request, default));
        Assert.Equal(500, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
        Assert.Equal("internal_error", response.Root.GetProperty("code").GetString());
        Assert.Equal("inv-500", response.Root.GetProperty("invocationId").GetString());
        Assert.Equal("inv-500", request.HttpContext.Response.Headers[ApiProblemMiddleware.InvocationIdHeader].ToString());
        foreach (var leak in new[] { "devstoreaccount1", "127.0.0.1", "TableNotFound", "Exception", "Status:", " at ", "AccountKey", "RequestId", "x-ms-" })
        {
            Assert.DoesNotContain(leak, response.Body, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Every_problem_names_the_invocation_and_other_triggers_exceptions_pass_through()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var request = HttpTest.Get();
        request.HttpContext.Response.Body = new MemoryStream();
        var response = await InvokeAsync(harness, request, "inv-404", () => Function<ResultsApi>(harness).GetAsync(request, "missing.jpg", default));
        Assert.Equal((404, "inv-404"), (response.Status, response.Root.GetProperty("invocationId").GetString()));

        // Not HTTP (no request on the context): the host must see the exception to retry the message.
        var queueContext = new TestFunctionContext("inv-queue", harness.Services);
        await Assert.ThrowsAsync<InvalidOperationException>(() => new ApiProblemMiddleware().Invoke(queueContext, _ => throw new InvalidOperationException("queue fault")));
    }

    [Fact]
    public void A_model_that_cannot_be_loaded_is_503_with_a_retry_hint_and_nothing_of_the_load_error()
    {
        var problem = ApiProblemMiddleware.ProblemFor(new ModelUnavailableException(
            "The model is not available: FileNotFoundException: Model file '/secret-folder-name/model.onnx' does not exist."));
        Assert.Equal((503, "model_unavailable", 15), (problem.StatusCode, problem.Problem.Code, problem.RetryAfterSeconds));
        Assert.DoesNotContain("secret-folder-name", problem.Problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_anonymous_and_reveals_no_load_error()
    {
        var missing = Path.Combine(Path.GetTempPath(), "secret-folder-name", "model.onnx");
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { ["Model:Path"] = missing });
        var response = await (await Function<HealthApi>(harness).GetAsync(HttpTest.Get(), default)).ExecuteAsync();
        Assert.Equal(503, response.Status);
        Assert.Equal("model_not_found", response.Json(PipelineJsonContext.Default.HealthDocument).Error);
        Assert.NotNull(harness.Model.LastError); // the runtime knows why ...
        Assert.DoesNotContain("secret-folder-name", response.Body, StringComparison.Ordinal); // ... the probe does not
        Assert.DoesNotContain(harness.Model.LastError!, response.Body, StringComparison.Ordinal);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider? _scopes;

        public List<string> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose() { }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var line = new StringBuilder(category).Append(": ").Append(formatter(state, exception));
                owner._scopes?.ForEachScope((scope, builder) => builder.Append(" | ").Append(scope), line);
                lock (owner.Lines)
                {
                    owner.Lines.Add(line.ToString());
                }
            }
        }
    }

    [Fact]
    public async Task Blob_names_with_line_breaks_cannot_forge_log_lines()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var capture = new CapturingLoggerProvider();
        harness.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        const string forged = "evil.png\r\n2026-01-01 00:00:00 CRITICAL forged\u2028line";

        // The blob trigger (a name that is not there: a real 404 from Azurite), a name in another container,
        // and the batch queue with a crafted message and a poisoned one.
        await Function<ClassifyUploadedImage>(harness).RunAsync(harness.Images.GetBlobClient(forged), new TestFunctionContext("inv-log", harness.Services), default);
        await harness.Pipeline.ProcessAsync(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("models").GetBlobClient(forged), "inv-log2", default);
        var job = await harness.Batches.StartAsync("x/", default);
        var message = System.Text.Json.JsonSerializer.Serialize(
            new ResNeSt.Pipeline.Serialization.BatchMessage("classify", job.Id, "../" + forged), ResNeSt.Pipeline.Serialization.PipelineJsonContext.Default.BatchMessage);
        await Function<BatchQueueFunctions>(harness).RunAsync(message, new TestFunctionContext("inv-q", harness.Services), default);
        await Function<BatchQueueFunctions>(harness).RunPoisonAsync(message, default);

        string[] lines;
        lock (capture.Lines)
        {
            lines = [.. capture.Lines];
        }

        // Our own lines (the storage SDK's request logs span several lines by design and carry names URL-encoded).
        Assert.DoesNotContain(lines, l => l.Contains("\r\n2026-01-01", StringComparison.Ordinal) || l.Contains("\n2026-01-01", StringComparison.Ordinal));
        var mentioning = lines.Where(l => l.StartsWith("ResNeSt.", StringComparison.Ordinal) && l.Contains("evil.png", StringComparison.Ordinal)).ToArray();
        // The wrong-container line and the invalid-name line of the batch message; the poisoned copy of that message is
        // dropped without repeating the name (it is not ours to count), and the trigger's 404 logs below Warning.
        Assert.True(mentioning.Length >= 2, string.Join('\n', lines));
        Assert.All(mentioning, l => Assert.DoesNotContain('\n', l));
        Assert.All(mentioning, l => Assert.DoesNotContain('\r', l));
        Assert.All(mentioning, l => Assert.DoesNotContain('\u2028', l));
        Assert.Contains(mentioning, l => l.Contains("evil.png2026-01-01 00:00:00 CRITICAL forgedline", StringComparison.Ordinal));
    }
}
