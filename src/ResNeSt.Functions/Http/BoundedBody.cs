using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ResNeSt.Functions.Http;

/// <summary>
/// A request body read into a pooled buffer, never past a limit: a declared Content-Length over the limit is refused
/// before a byte is read, and a chunked (or lying) body is cut off at limit + 1 bytes. The buffer is sized by what has
/// arrived (doubling from 64 KiB), not by what is declared. Dispose returns the buffer.
/// </summary>
public sealed class BoundedBody : IDisposable
{
    private const int InitialBuffer = 64 * 1024;

    private byte[]? _buffer;

    private BoundedBody(byte[]? buffer, int length, bool tooLarge)
    {
        _buffer = buffer;
        Length = length;
        TooLarge = tooLarge;
    }

    /// <summary>The body exceeded the limit (declared or as read); <see cref="Memory"/> is then empty.</summary>
    public bool TooLarge { get; }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => TooLarge || _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, Length);

    public static async Task<BoundedBody> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxBytes, Array.MaxLength - 1L);
        if (request.ContentLength > maxBytes)
        {
            return new BoundedBody(null, 0, tooLarge: true);
        }

        // The buffer grows with the bytes that arrive, never with the declared length: a slow client declaring 20 MiB
        // and sending a byte a minute would otherwise hold 20 MiB (64 of them: over 1 GiB) before sending anything.
        int limit = (int)maxBytes;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1L, Math.Min(request.ContentLength ?? InitialBuffer, InitialBuffer) + 1));
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1L, (long)buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                // Never ask for more than one byte past the limit: that byte is enough to know the body is too large.
                int read = await request.Body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit + 1) - length), cancellationToken)
                    .ConfigureAwait(false);
                if (read == 0)
                {
                    return new BoundedBody(buffer, length, tooLarge: false);
                }

                length += read;
                if (length > limit)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return new BoundedBody(null, 0, tooLarge: true);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Content types the API accepts, parsed (not prefix-matched: <c>application/octet-streamy</c> is not octet-stream).</summary>
public static class ContentTypes
{
    /// <summary><c>image/*</c> or <c>application/octet-stream</c>; a missing Content-Type is refused too.</summary>
    public static bool IsImage(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.SubType.Length > 0
        && !media.MatchesAllSubTypes
        && (media.Type.Equals("image", StringComparison.OrdinalIgnoreCase)
            || (media.Type.Equals("application", StringComparison.OrdinalIgnoreCase) && media.SubType.Equals("octet-stream", StringComparison.OrdinalIgnoreCase)));

    /// <summary><c>application/json</c> (optionally <c>; charset=utf-8</c>; JSON is UTF-8 by definition and no other charset is read).</summary>
    public static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));
}
