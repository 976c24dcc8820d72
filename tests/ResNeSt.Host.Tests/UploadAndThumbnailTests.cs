using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using ResNeSt.Host.Tests.Infrastructure;
using ResNeSt.Testing.Hostile;
using SixLabors.ImageSharp;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>
/// The web page's functions in the real host under hostile input: the upload (sizes, types by content, names), the
/// thumbnail (bounded work, never the raw bytes), the tags read, and the anonymous page itself (headers, paths).
/// </summary>
[Collection(ServingApp.Name)]
public sealed partial class UploadAndThumbnailTests(ServingAppFixture fixture, ITestOutputHelper output)
{
    private static byte[] Dog => File.ReadAllBytes(Path.Combine(Samples.Directory, "dog.jpg"));

    private static long MaxImageBytes(HostedApp app) =>
        app.Settings.TryGetValue("Pipeline__MaxImageBytes", out var value) ? long.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : 20L * 1024 * 1024;

    private static ByteArrayContent Body(byte[] bytes, string contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private static async Task<HttpResponseMessage> UploadAsync(HostedApp app, HttpContent content, string? fileName = null, string? key = "")
    {
        var request = HostedApp.Request(HttpMethod.Post, "api/uploads", key == "" ? app.Host.Keys.Function : key, content);
        if (fileName is not null)
        {
            request.Headers.TryAddWithoutValidation("x-resnest-file-name", fileName);
        }

        return await app.Http.SendAsync(request);
    }

    private static async Task<int> UploadedCountAsync(HostedApp app)
    {
        await app.Images.CreateIfNotExistsAsync();
        int count = 0;
        await foreach (var _ in app.Images.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "uploads/", CancellationToken.None))
        {
            count++;
        }

        return count;
    }

    [SkippableFact]
    public async Task An_upload_is_stored_under_a_generated_name_whatever_the_file_name_says()
    {
        var app = fixture.App;
        foreach (var hostileName in new[] { "../../etc/passwd", "..%2F..%2Fx.jpg", "C:\\Users\\me\\Ça va?.png", "%00%0d%0a.jpg", "https://evil.example/x.jpg", ".hidden", new string('a', 2000) })
        {
            using var response = await UploadAsync(app, Body(Dog, "image/png"), Uri.EscapeDataString(hostileName));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var body = await HostedApp.JsonAsync(response);
            var name = (string)body["name"]!;
            output.WriteLine($"{hostileName[..Math.Min(40, hostileName.Length)]} → {name}");
            Assert.Matches(GeneratedName(), name);
            Assert.DoesNotContain("..", name, StringComparison.Ordinal);
            Assert.Equal("jpeg", (string?)body["format"]); // the content decides, not the declared image/png
            var properties = (await app.Images.GetBlobClient(name).GetPropertiesAsync()).Value;
            Assert.Equal("image/jpeg", properties.ContentType);
            Assert.Equal(Dog.Length, properties.ContentLength);
            Assert.Equal("/api/results/" + HostedApp.EscapePath(name), response.Headers.Location?.OriginalString);
        }
    }

    [SkippableFact]
    public async Task Uploads_that_are_not_images_too_large_or_not_authorised_are_refused_and_store_nothing()
    {
        var app = fixture.App;
        long max = MaxImageBytes(app);
        int before = await UploadedCountAsync(app);
        var truncated = Dog[..(Dog.Length / 2)];
        var cases = new (string What, Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status, string? Code)[]
        {
            ("text named like a photo", () => UploadAsync(app, Body("#!/bin/sh\nrm -rf /\n"u8.ToArray()), "photo.jpg"), HttpStatusCode.UnsupportedMediaType, "unsupported_format"),
            ("a truncated JPEG", () => UploadAsync(app, Body(truncated)), HttpStatusCode.UnprocessableEntity, "corrupt"),
            ("an empty body", () => UploadAsync(app, Body([])), HttpStatusCode.BadRequest, "empty"),
            ("a form instead of a body", () => UploadAsync(app, Body(Dog, "multipart/form-data; boundary=x")), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type"),
            ("one byte over the limit", () => UploadAsync(app, Body(new byte[max + 1])), HttpStatusCode.RequestEntityTooLarge, "too_large"),
            ("over the limit, chunked", () => UploadAsync(app, new StreamContent(new MemoryStream(new byte[max + 4096])) { Headers = { ContentType = new("application/octet-stream") } }), HttpStatusCode.RequestEntityTooLarge, "too_large"),
            ("no key", () => UploadAsync(app, Body(Dog), key: null), HttpStatusCode.Unauthorized, null),
            ("a wrong key", () => UploadAsync(app, Body(Dog), key: "wrong"), HttpStatusCode.Unauthorized, null),
        };
        foreach (var (what, send, status, code) in cases)
        {
            if (what.EndsWith("chunked", StringComparison.Ordinal))
            {
                // StreamContent over a MemoryStream computes a length; send it without one.
                var request = HostedApp.Request(HttpMethod.Post, "api/uploads", app.Host.Keys.Function, new StreamContent(new MemoryStream(new byte[max + 4096])));
                request.Content!.Headers.ContentType = new("application/octet-stream");
                request.Headers.TransferEncodingChunked = true;
                using var chunked = await app.Http.SendAsync(request);
                Assert.True(status == chunked.StatusCode, $"{what}: {chunked.StatusCode} {await chunked.Content.ReadAsStringAsync()}");
                continue;
            }

            using var response = await send();
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"{what}: {response.StatusCode} {text}");
            if (code is not null)
            {
                Assert.Equal(code, (string?)(await HostedApp.JsonAsync(response))["code"]);
            }
        }

        Assert.Equal(before, await UploadedCountAsync(app));
    }

    [SkippableFact]
    public async Task Hostile_files_get_a_clear_answer_from_the_upload_and_the_thumbnail_and_never_a_server_error()
    {
        var app = fixture.App;
        var corpus = HostileCorpus.Generate(Samples.Directory)
            .Where(f => f.Class is HostileClass.HugeDimensions or HostileClass.Bomb or HostileClass.NotAnImage or HostileClass.Empty or HostileClass.Polyglot or HostileClass.Truncated)
            .GroupBy(f => f.Class).SelectMany(g => g.Take(8)).ToList();
        await app.Images.CreateIfNotExistsAsync();
        foreach (var file in corpus)
        {
            using (var upload = await UploadAsync(app, Body(file.Content), file.Name))
            {
                Assert.True(upload.StatusCode is HttpStatusCode.Created or HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType or HttpStatusCode.UnprocessableEntity or HttpStatusCode.RequestEntityTooLarge,
                    $"upload {file.Name} ({file.Class}): {upload.StatusCode} {await upload.Content.ReadAsStringAsync()}");
            }

            // Straight into storage, as any uploader with storage access could: the thumbnail must cope alone.
            var name = "hostile-thumbs/" + file.Name;
            await app.Images.GetBlobClient(name).UploadAsync(new BinaryData(file.Content), overwrite: true);
            using var thumbnail = await app.SendAsync(HttpMethod.Get, "api/thumbnails/" + HostedApp.EscapePath(name));
            output.WriteLine($"{file.Class} {file.Name}: thumbnail {(int)thumbnail.StatusCode}");
            if (thumbnail.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
                var jpeg = await thumbnail.Content.ReadAsByteArrayAsync();
                var info = Image.Identify(jpeg);
                Assert.True(info.Width <= 256 && info.Height <= 256);
            }
            else
            {
                Assert.True(thumbnail.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.RequestEntityTooLarge,
                    $"thumbnail {file.Name} ({file.Class}): {thumbnail.StatusCode} {await thumbnail.Content.ReadAsStringAsync()}");
                Assert.Equal("application/problem+json", thumbnail.Content.Headers.ContentType?.MediaType);
            }
        }
    }

    [SkippableFact]
    public async Task A_thumbnail_is_a_small_reencoded_jpeg_with_a_cache_header_and_never_the_upload_itself()
    {
        var app = fixture.App;
        long max = MaxImageBytes(app);
        var png = File.ReadAllBytes(Path.Combine(Samples.Directory, "camera.png"));
        await app.UploadAsync("thumbs/camera.png", png);
        using var response = await app.SendAsync(HttpMethod.Get, "api/thumbnails/thumbs/camera.png?size=128");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl is { Private: true, MaxAge.TotalSeconds: 300 }, $"Cache-Control: {response.Headers.CacheControl}");
        var jpeg = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal([0xFF, 0xD8, 0xFF], jpeg[..3]);
        var info = Image.Identify(jpeg);
        Assert.Equal(128, Math.Max(info.Width, info.Height));
        Assert.True(jpeg.Length < png.Length / 4, $"{jpeg.Length} bytes of thumbnail for {png.Length} of PNG");

        // Revalidation by ETag.
        var again = HostedApp.Request(HttpMethod.Get, "api/thumbnails/thumbs/camera.png?size=128", app.Host.Keys.Function);
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using (var notModified = await app.Http.SendAsync(again))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }

        // A blob over the limit is refused without being decoded; so are bad names, sizes and keys.
        await app.UploadAsync("thumbs/huge.jpg", [.. Dog, .. new byte[max]]);
        var refusals = new (string Path, string? Key, HttpStatusCode Status)[]
        {
            ("api/thumbnails/thumbs/huge.jpg", app.Host.Keys.Function, HttpStatusCode.RequestEntityTooLarge),
            ("api/thumbnails/thumbs/missing.jpg", app.Host.Keys.Function, HttpStatusCode.NotFound),
            // A name with '..' segments would leave the container once in a storage URL: refused. It can only arrive
            // in the query (a client or the host resolves '..' in a path).
            ("api/thumbnails?blob=" + Uri.EscapeDataString("thumbs/../../models/" + app.ModelBlob.Name), app.Host.Keys.Function, HttpStatusCode.BadRequest),
            ("api/tags?blob=" + Uri.EscapeDataString("../models/" + app.ModelBlob.Name), app.Host.Keys.Function, HttpStatusCode.BadRequest),
            // Double-encoded, the path holds a literal '%2e%2e' name: a blob name like any other, escaped again in the
            // storage URL, so it addresses that (missing) blob and nothing else.
            ("api/thumbnails/thumbs/%252e%252e/%252e%252e/secrets", app.Host.Keys.Function, HttpStatusCode.NotFound),
            ("api/thumbnails/thumbs/camera.png?blob=thumbs/camera.png", app.Host.Keys.Function, HttpStatusCode.BadRequest),
            ("api/thumbnails/thumbs/camera.png?size=4096", app.Host.Keys.Function, HttpStatusCode.BadRequest),
            ("api/thumbnails/thumbs/camera.png?size=-1", app.Host.Keys.Function, HttpStatusCode.BadRequest),
            ("api/thumbnails/thumbs/camera.png?raw=true", app.Host.Keys.Function, HttpStatusCode.BadRequest),
            ("api/thumbnails/thumbs/camera.png", null, HttpStatusCode.Unauthorized),
            ("api/tags/thumbs/camera.png", null, HttpStatusCode.Unauthorized),
            ("api/tags/thumbs/missing.jpg", app.Host.Keys.Function, HttpStatusCode.NotFound),
        };
        foreach (var (path, key, status) in refusals)
        {
            using var refused = await app.Http.SendAsync(HostedApp.Request(HttpMethod.Get, path, key));
            Assert.True(status == refused.StatusCode, $"{path}: {refused.StatusCode} {await refused.Content.ReadAsStringAsync()}");
        }
    }

    [SkippableFact]
    public async Task The_page_is_anonymous_embedded_and_locked_down_by_its_headers()
    {
        var app = fixture.App;
        foreach (var (path, type) in new[] { ("api/ui/", "text/html"), ("api/ui/app.js", "text/javascript"), ("api/ui/app.css", "text/css"), ("api/ui/icon.svg", "image/svg+xml") })
        {
            using var response = await app.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode}");
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            var csp = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'none'", csp);
            Assert.Contains("script-src 'self'", csp);
            Assert.DoesNotContain("unsafe", csp);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
            Assert.NotNull(response.Headers.ETag);
        }

        using (var page = await app.Http.GetAsync("api/ui/"))
        {
            var html = await page.Content.ReadAsStringAsync();
            Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "", StringComparison.Ordinal), StringComparison.Ordinal);
            Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<script>", html, StringComparison.Ordinal); // no inline script: the policy would block it
        }

        foreach (var path in new[] { "api/ui/missing.js", "api/ui/../host.json", "api/ui/%2e%2e/%2e%2e/ResNeSt.Functions.dll", "api/ui/Ui/Assets/app.js" })
        {
            using var response = await app.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
        }
    }

    [GeneratedRegex(@"^uploads/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}-[A-Za-z0-9][A-Za-z0-9._-]{0,59}\.jpg$")]
    private static partial Regex GeneratedName();
}
