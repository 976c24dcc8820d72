using ResNeSt.Inference.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Tests.Imaging;

public sealed class JpegChromaUpsamplingTests
{
    [Theory]
    [InlineData(2, 2)]
    [InlineData(2, 1)]
    public void Redoing_a_region_gives_the_same_pixels_as_redoing_the_whole_image(int h, int v)
    {
        var bytes = File.ReadAllBytes(Fixtures.Image("odd-420-301x171.jpg"));
        using var whole = Image.Load<Rgb24>(bytes);
        using var part = Image.Load<Rgb24>(bytes);
        using var untouched = Image.Load<Rgb24>(bytes);
        JpegChromaUpsampling.Apply(whole, h, v, whole.Bounds());
        var region = new Rectangle(37, 21, 151, 88); // odd offsets: not aligned to the chroma blocks
        JpegChromaUpsampling.Apply(part, h, v, region);
        int changed = 0;
        for (int y = 0; y < whole.Height; y++)
        {
            for (int x = 0; x < whole.Width; x++)
            {
                if (region.Contains(x, y))
                {
                    Assert.Equal(whole[x, y], part[x, y]);
                    changed += whole[x, y] != untouched[x, y] ? 1 : 0;
                }
                else
                {
                    Assert.Equal(untouched[x, y], part[x, y]);
                }
            }
        }

        Assert.True(changed > region.Width * region.Height / 20, $"only {changed} pixels changed");
    }

    [Fact]
    public void A_grey_4_2_0_jpeg_stays_grey()
    {
        // Neutral chroma (128) must give R = G = B = Y through libjpeg's tables; a shifted table would tint it.
        using var grey = new Image<Rgb24>(64, 48);
        for (int y = 0; y < 48; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                byte l = (byte)(20 + (x * 3) + y);
                grey[x, y] = new Rgb24(l, l, l);
            }
        }

        using var stream = new MemoryStream();
        grey.SaveAsJpeg(stream, new JpegEncoder { Quality = 95, ColorType = JpegColorType.YCbCrRatio420 });
        using var decoded = Image.Load<Rgb24>(stream.ToArray());
        JpegChromaUpsampling.Apply(decoded, 2, 2, decoded.Bounds());
        for (int y = 0; y < 48; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                var p = decoded[x, y];
                Assert.InRange(Math.Abs(p.R - p.G) + Math.Abs(p.G - p.B), 0, 2);
            }
        }
    }
}
