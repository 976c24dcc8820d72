using ResNeSt.Functions.Uploads;
using ResNeSt.Pipeline.Blobs;

namespace ResNeSt.Functions.Tests.Uploads;

public sealed class UploadNamesTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 2, 23, 59, 0, TimeSpan.FromHours(-5));
    private static readonly Guid s_id = Guid.Parse("0123456789abcdef0123456789abcdef");

    [Theory]
    [InlineData("cat.jpg", "cat")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("C:\\Users\\me\\holiday photo.png", "holiday-photo")]
    [InlineData("..", "image")]
    [InlineData(".hidden", "hidden")]
    [InlineData("a..b...c.jpg", "a.b.c")]
    [InlineData("-rf --no-preserve-root.jpg", "rf-no-preserve-root")]
    [InlineData("Ça va?.jpeg", "a-va")]
    [InlineData("x\u0000y\r\nz.gif", "x-y-z")]
    [InlineData("https://evil.example/a.jpg", "a")]
    [InlineData("", "image")]
    [InlineData(null, "image")]
    public void The_original_name_becomes_a_safe_stem(string? original, string expected) =>
        Assert.Equal(expected, UploadNames.Sanitize(original));

    [Fact]
    public void A_long_name_is_cut_and_the_extension_is_the_contents()
    {
        var name = UploadNames.Create(new string('x', 5000) + ".exe", "jpeg", s_now, s_id);
        Assert.Equal($"uploads/2026/12/03/{s_id:N}-{new string('x', UploadNames.MaxOriginalLength)}.jpg", name);
        Assert.Null(BlobNameRules.Check(name));
    }

    [Theory]
    [InlineData("png", ".png")]
    [InlineData("webp", ".webp")]
    [InlineData("jpeg", ".jpg")]
    public void The_date_is_UTC_and_the_extension_follows_the_format(string format, string extension)
    {
        var name = UploadNames.Create("photo.bin", format, s_now, s_id);
        Assert.StartsWith("uploads/2026/12/03/", name, StringComparison.Ordinal); // 23:59 at UTC-5 is the 3rd in UTC
        Assert.EndsWith("-photo" + extension, name, StringComparison.Ordinal);
    }
}
