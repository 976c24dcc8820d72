using Microsoft.AspNetCore.Http;
using ResNeSt.Functions.Api;
using ResNeSt.Functions.Http;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>
/// Request bodies: refused from their headers where they can be, read no further than the limit, of an allowed content
/// type, held as they arrive.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class RequestBodyTests(AzuriteFixture azurite)
{
    /// <summary>A request body as the host hands it over: read forward only; what each body yields is up to the subclass.</summary>
    private abstract class RequestBodyStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A body that must not be read at all: the request is to be refused from its headers.</summary>
    private sealed class UnreadableStream : RequestBodyStream
    {
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("The body was read.");
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw new InvalidOperationException("The body was read.");
    }

    /// <summary>A chunked upload that never ends; counts what the function pulled from it.</summary>
    private sealed class EndlessStream : RequestBodyStream
    {
        public long BytesRead { get; private set; }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, 4096);
            buffer[..n].Fill((byte)'{');
            BytesRead += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
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

    [Theory]
    [InlineData(nameof(ClassifyApi))]
    [InlineData(nameof(UploadsApi))]
    public async Task A_function_holds_what_arrived_not_what_the_client_declared(string function)
    {
        // The same slow client at the function: 19 MB declared, 10 bytes sent (refused as not an image after reading).
        await using var harness = await PipelineHarness.StartAsync(azurite);
        await harness.Model.GetClassifierAsync(default); // loaded before the measurement
        var request = Request("POST", new MemoryStream(new byte[10]), "image/jpeg", 19_000_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var pending = function == nameof(ClassifyApi)
            ? Function<ClassifyApi>(harness).PostAsync(request, default)
            : Function<UploadsApi>(harness).PostAsync(request, default);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before; // the body is read before the first real await
        var response = await (await pending).ExecuteAsync();

        Assert.Equal(415, response.Status);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated for a 10-byte body");
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
}
