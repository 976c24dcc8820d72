using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Pipeline.Tests.Infrastructure;

/// <summary>
/// TEMPORARY stand-in for ResNeStClassifier until the inference engine is merged to main: decodes with ImageSharp
/// (so bad images are rejected for real) and derives a deterministic top-5 from the pixels. Replaced by the real
/// engine on a reduced random-weights ResNeSt in <see cref="TestModel"/> as soon as it lands.
/// </summary>
internal sealed class ProvisionalClassifier : IImageClassifier
{
    public ModelCard Model { get; } = ModelCard.ForImageNet("provisional", 64);

    public string ExecutionProvider => "CPUExecutionProvider";

    public Task<Classification> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default)
    {
        if (encodedImage.IsEmpty)
        {
            throw new ImageRejectedException(ImageRejectionReason.Empty, "empty");
        }

        ImageInfo info;
        Image<Rgb24> image;
        try
        {
            var bytes = encodedImage.ToArray();
            var identified = Image.Identify(bytes, out var format);
            if (identified is null || format is null)
            {
                throw new ImageRejectedException(ImageRejectionReason.UnsupportedFormat, "not an image");
            }

            if ((long)identified.Width * identified.Height > 40_000_000)
            {
                throw new ImageRejectedException(ImageRejectionReason.PixelBudgetExceeded, "too many pixels");
            }

            info = new ImageInfo(format.Name.ToLowerInvariant(), identified.Width, identified.Height);
            image = Image.Load<Rgb24>(bytes);
        }
        catch (Exception ex) when (ex is ImageFormatException or InvalidImageContentException)
        {
            throw new ImageRejectedException(ImageRejectionReason.Corrupt, ex.Message, ex);
        }

        using (image)
        {
            long sum = 0;
            image.ProcessPixelRows(rows =>
            {
                for (int y = 0; y < rows.Height; y++)
                {
                    foreach (var p in rows.GetRowSpan(y))
                    {
                        sum += p.R + (p.G * 3) + (p.B * 7);
                    }
                }
            });
            int first = (int)(sum % 1000);
            var predictions = Enumerable.Range(0, 5)
                .Select(i => new Prediction((first + (i * 37)) % 1000, Model.ClassNames[(first + (i * 37)) % 1000], 0.5f / (i + 1)))
                .ToArray();
            return Task.FromResult(new Classification(
                predictions, info, Model.Variant, null, Model.Recipe, Model.CropSize, ExecutionProvider, new StageTimings(1, 0, 1, 1)));
        }
    }
}
