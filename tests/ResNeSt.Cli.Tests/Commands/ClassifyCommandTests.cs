using System.CommandLine;
using System.Text.Json;
using ResNeSt.Cli.Commands;
using ResNeSt.TestSupport;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>The classify and bench commands end to end: real parsing, real ORT session, real image decoding.</summary>
public sealed class ClassifyCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resnest-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string SamplesDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var samples = Path.Combine(dir.FullName, "samples", "images");
            if (Directory.Exists(samples))
            {
                return samples;
            }
        }

        throw new DirectoryNotFoundException("samples/images not found above the test directory.");
    }

    private string WriteModel(TinyModel model, string name = "model.onnx")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, model.Bytes);
        return path;
    }

    internal static async Task<(int ExitCode, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var root = new RootCommand { ClassifyCommand.Create(), BenchCommand.Create() };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    private static JsonElement[] Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();

    [Fact]
    public async Task Prints_one_line_per_image_in_order_and_an_error_line_for_a_bad_file()
    {
        var model = WriteModel(TinyModel.WithCard(cropSize: 32));
        var samples = Directory.GetFiles(SamplesDirectory()).Order(StringComparer.Ordinal).ToArray();
        var garbage = Path.Combine(_dir, "garbage.jpg");
        await File.WriteAllTextAsync(garbage, "this is not an image");
        var missing = Path.Combine(_dir, "missing.png");

        string[] files = [samples[0], garbage, .. samples[1..], missing];
        var (exit, output, _) = await InvokeAsync(["classify", "--model", model, "--provider", "cpu", .. files]);

        Assert.Equal(ClassifyCommand.ExitSomeFailed, exit);
        var lines = Lines(output);
        Assert.Equal(files.Length, lines.Length);
        for (var i = 0; i < files.Length; i++)
        {
            Assert.Equal(files[i], lines[i].GetProperty("file").GetString());
            Assert.Equal("CPUExecutionProvider", lines[i].GetProperty("provider").GetString());
        }

        var bad = lines[1].GetProperty("error");
        Assert.Equal("unsupported_format", bad.GetProperty("code").GetString());
        Assert.False(lines[1].TryGetProperty("predictions", out _));
        Assert.Equal("unreadable", lines[^1].GetProperty("error").GetProperty("code").GetString());

        foreach (var good in lines.Where(l => !l.TryGetProperty("error", out _)))
        {
            var predictions = good.GetProperty("predictions").EnumerateArray().ToArray();
            Assert.Equal(5, predictions.Length);
            var probabilities = predictions.Select(p => p.GetProperty("probability").GetSingle()).ToArray();
            Assert.Equal(probabilities.OrderDescending(), probabilities);
            foreach (var p in predictions)
            {
                Assert.Equal(ModelCard.ImageNetClassNames[p.GetProperty("index").GetInt32()], p.GetProperty("label").GetString());
            }

            Assert.False(good.TryGetProperty("logits", out _));
            Assert.True(good.GetProperty("image").GetProperty("width").GetInt32() > 0);
        }
    }

    [Fact]
    public async Task Logits_and_top_k_are_consistent()
    {
        var model = WriteModel(TinyModel.WithCard(cropSize: 32));
        var image = Directory.GetFiles(SamplesDirectory(), "*.jpg")[0];
        var (exit, output, _) = await InvokeAsync("classify", "--model", model, "--provider", "cpu", "--top", "3", "--logits", image);

        Assert.Equal(ClassifyCommand.ExitOk, exit);
        var line = Assert.Single(Lines(output));
        var logits = line.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(1000, logits.Length);
        var expected = Enumerable.Range(0, 1000).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(3);
        Assert.Equal(expected, line.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task A_model_without_metadata_needs_a_crop_and_then_uses_ImageNet_defaults()
    {
        var model = WriteModel(TinyModel.Create(cropSize: 48), "exported.onnx");
        var image = Directory.GetFiles(SamplesDirectory(), "*.png")[0];

        var (refused, _, error) = await InvokeAsync("classify", "--model", model, "--provider", "cpu", image);
        Assert.Equal(ClassifyCommand.ExitModelUnusable, refused);
        Assert.Contains("--crop", error, StringComparison.Ordinal);

        var (exit, output, _) = await InvokeAsync("classify", "--model", model, "--provider", "cpu", "--crop", "48", "--recipe", "paper", "--no-exif-orientation", image);
        Assert.Equal(ClassifyCommand.ExitOk, exit);
        var line = Assert.Single(Lines(output));
        Assert.Equal(5, line.GetProperty("predictions").GetArrayLength());
    }

    [Fact]
    public async Task Demanding_cuda_without_it_fails_clearly()
    {
        var model = WriteModel(TinyModel.WithCard());
        var image = Directory.GetFiles(SamplesDirectory(), "*.png")[0];
        var (exit, output, error) = await InvokeAsync("classify", "--model", model, "--provider", "cuda", image);
        if (exit == ClassifyCommand.ExitModelUnusable)
        {
            Assert.Contains("CUDA", error, StringComparison.Ordinal);
            Assert.Empty(output);
        }
        else
        {
            // Only on a machine with a working CUDA provider.
            Assert.Equal("CUDAExecutionProvider", Assert.Single(Lines(output)).GetProperty("provider").GetString());
        }
    }

    [Fact]
    public async Task Bench_prints_a_summary_with_both_throughputs_and_their_ratio()
    {
        var model = WriteModel(TinyModel.WithCard(cropSize: 32));
        var (exit, output, error) = await InvokeAsync("bench", "--model", model, "--provider", "cpu", "--images", SamplesDirectory(), "--batch", "4", "--seconds", "1");
        Assert.True(exit == 0, error);
        var summary = Assert.Single(Lines(output));
        var endToEnd = summary.GetProperty("endToEnd");
        // A one-second window on a loaded CI machine may close before a second batch lands, so only completion is required.
        Assert.True(endToEnd.GetProperty("imagesCompleted").GetInt64() > 0);
        Assert.InRange(endToEnd.GetProperty("imagesInWindow").GetInt64(), 0, endToEnd.GetProperty("imagesCompleted").GetInt64());
        Assert.Equal(0, endToEnd.GetProperty("errors").GetInt64());
        Assert.True(summary.GetProperty("bareInference").GetProperty("imagesPerSecond").GetDouble() > 0);
        Assert.True(summary.GetProperty("endToEndOverBare").GetDouble() >= 0);
        Assert.True(summary.GetProperty("peakWorkingSetMb").GetDouble() > 0);
        var sizes = summary.GetProperty("batchSizes").EnumerateObject().ToArray();
        Assert.NotEmpty(sizes);
        Assert.All(sizes, s => Assert.InRange(int.Parse(s.Name, System.Globalization.CultureInfo.InvariantCulture), 1, 4));
        Assert.Equal(8, summary.GetProperty("concurrency").GetInt32());
    }
}
