using System.Text.Json;
using ResNeSt.Inference.Imaging;
using ResNeSt.Testing.Samples;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>
/// <c>resnest load-test</c> at CI size: hundreds of uploads with hostile files mixed in, every event delivered twice at
/// 16-way concurrency through the blob-trigger service on a private Azurite, the real ONNX Runtime underneath.
/// (The full 2,000-image run is a command in docs/hostile-and-load.md; it takes minutes on two cores.)
/// </summary>
public sealed class LoadTestCommandTests
{
    private const int Images = 300;

    [Fact]
    public async Task Every_upload_ends_as_exactly_one_result_and_no_image_is_inferred_twice()
    {
        var run = await CliRun.InvokeAsync(
            "load-test", "--count", $"{Images}", "--hostile-fraction", "0.05", "--concurrency", "16", "--duplicates", "2",
            "--seconds", "540", "--samples", SampleImages.FindDirectory(), "--seed", "3");

        using var summary = JsonDocument.Parse(run.Output);
        var root = summary.RootElement;
        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.True(root.GetProperty("passed").GetBoolean());
        Assert.Empty(root.GetProperty("problems").EnumerateArray());
        Assert.Equal(Images, root.GetProperty("uploaded").GetInt32());
        Assert.Equal(15, root.GetProperty("hostile").GetInt32());
        Assert.Equal(2 * Images, root.GetProperty("deliveries").GetInt32());
        Assert.Equal(0, root.GetProperty("lost").GetInt32());
        Assert.Equal(0, root.GetProperty("duplicateResults").GetInt32());
        Assert.Equal(0, root.GetProperty("duplicatedInferences").GetInt32());

        // Every hostile upload failed with a reason; every valid one was classified, by one ONNX Runtime inference each.
        int failed = root.GetProperty("failed").GetInt32();
        int succeeded = root.GetProperty("succeeded").GetInt32();
        Assert.Equal(15, failed);
        Assert.Equal(Images - 15, succeeded);
        Assert.Equal(succeeded, root.GetProperty("onnxImages").GetInt64());
        var codes = Enum.GetValues<ImageRejectionReason>().Select(ImageRejectedException.ReasonCode).ToHashSet(StringComparer.Ordinal);
        Assert.All(root.GetProperty("failedByReason").EnumerateObject(), reason => Assert.Contains(reason.Name, codes));

        // Half the deliveries were duplicates, and each was recognised as one (joined in flight or found done).
        var outcomes = root.GetProperty("deliveryOutcomes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
        Assert.Equal(Images, outcomes.GetValueOrDefault("skipped:already_classified") + outcomes.GetValueOrDefault("skipped:duplicate_in_flight"));
        Assert.True(root.GetProperty("latencyP95Ms").GetDouble() > 0);
        Assert.True(root.GetProperty("peakWorkingSetMb").GetDouble() > 0);
    }

    [Theory]
    [InlineData("--hostile-fraction", "1.5")]
    [InlineData("--concurrency", "0")]
    [InlineData("--duplicates", "0")]
    [InlineData("--count", "0")]
    public async Task Out_of_range_options_are_refused_before_anything_starts(string option, string value)
    {
        var run = await CliRun.InvokeAsync("load-test", option, value, "--samples", SampleImages.FindDirectory());

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(option, run.Error, StringComparison.Ordinal);
        Assert.Equal("", run.Output);
    }
}
