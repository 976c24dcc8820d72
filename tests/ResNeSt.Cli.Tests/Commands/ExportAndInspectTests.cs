using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Cli.Tests.Commands;

public sealed class ExportAndInspectTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("resnest-cli-").FullName;

    [Fact]
    public async Task Export_writes_a_model_that_onnx_runtime_runs_and_inspect_describes()
    {
        var path = Path.Combine(_folder, "r50.onnx");

        var export = await CliRun.InvokeAsync(
            "export", "--variant", "resnest50", "--random-weights", "--seed", "3", "--crop", "64",
            "--precision", "fp16", "--recipe", "paper", "--output", path);

        Assert.Equal(0, export.ExitCode);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Contains($"sha256 {sha256}", export.Output, StringComparison.Ordinal);
        Assert.Contains("building resnest50: 16/16 blocks", export.Error, StringComparison.Ordinal); // progress goes to stderr

        using (var session = new InferenceSession(path))
        {
            var card = ModelCard.FromMetadata(session.ModelMetadata.CustomMetadataMap);
            Assert.Equal(("resnest50", 64, ModelPrecision.Fp16, PreprocessingRecipe.Paper, "random(seed=3)"), (card.Variant, card.CropSize, card.Precision, card.Recipe, card.WeightSource));
            var input = new DenseTensor<float>(new float[2 * 3 * 64 * 64], [2, 3, 64, 64]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(ModelCard.InputName, input)]);
            Assert.Equal([2, 1000], results.Single().AsTensor<float>().Dimensions.ToArray());
        }

        var inspect = await CliRun.InvokeAsync("inspect", path);

        Assert.Equal(0, inspect.ExitCode);
        Assert.Equal(string.Empty, inspect.Error);
        var lines = inspect.Output.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("input     input: float[N,3,64,64]", lines);
        Assert.Contains("output    logits: float[N,1000]", lines);
        Assert.Contains(lines, l => l.StartsWith("format    ONNX IR 8, opsets ai.onnx 17", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("resnest.class_names", StringComparison.Ordinal) && l.EndsWith("1000 names: tench | goldfish | great white shark | … | toilet tissue", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("resnest.recipe", StringComparison.Ordinal) && l.EndsWith("paper", StringComparison.Ordinal));
        Assert.Contains("card      valid: resnest50, fp16, paper recipe, crop 64, resize 73", lines);
        Assert.True(lines.Length < 30, "inspect summarises; it does not print 1000 class names");
    }

    [Fact]
    public async Task The_same_seed_exports_the_same_bytes()
    {
        var first = Path.Combine(_folder, "a.onnx");
        var second = Path.Combine(_folder, "b.onnx");

        var a = await CliRun.InvokeAsync("export", "--variant", "resnest50", "--random-weights", "--seed", "9", "--crop", "32", "-o", first);
        var b = await CliRun.InvokeAsync("export", "--variant", "resnest50", "--random-weights", "--seed", "9", "--crop", "32", "-o", second);

        Assert.Equal((0, 0), (a.ExitCode, b.ExitCode));
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    public static TheoryData<string[]> MalformedExports => new()
    {
        new[] { "export", "--variant", "resnest50", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--random-weights", "--download", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--random-weights", "--checkpoint", "{garbage}", "-o", "{out}" },
        new[] { "export", "--variant", "resnest51", "--random-weights", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--random-weights", "--crop", "16", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--random-weights", "--precision", "fp8", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--random-weights", "--recipe", "timm", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--random-weights", "--seed", "abc", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--download", "--seed", "3", "-o", "{out}" },
        new[] { "export", "--variant", "resnest50", "--random-weights" },
        new[] { "export", "--variant", "resnest50", "--checkpoint", "{missing}", "-o", "{out}" },
        new[] { "inspect" },
        new[] { "inspect", "{missing}" },
        new[] { "inspect", "{garbage}" },
    };

    [Theory]
    [MemberData(nameof(MalformedExports))]
    public async Task Malformed_command_lines_fail_with_one_error_line(string[] template)
    {
        var garbage = Path.Combine(_folder, "garbage.bin");
        await File.WriteAllBytesAsync(garbage, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02]);
        var outputPath = Path.Combine(_folder, "out.onnx");
        var args = template.Select(a => a
            .Replace("{out}", outputPath, StringComparison.Ordinal)
            .Replace("{garbage}", garbage, StringComparison.Ordinal)
            .Replace("{missing}", Path.Combine(_folder, "missing.file"), StringComparison.Ordinal)).ToArray();

        var run = await CliRun.InvokeAsync(args);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Single(run.ErrorLines);
        Assert.Equal(string.Empty, run.Output);
        Assert.False(File.Exists(outputPath));
    }

    [Fact]
    public async Task A_checkpoint_that_is_not_one_fails_with_one_error_line()
    {
        var garbage = Path.Combine(_folder, "not-a-checkpoint.pth");
        await File.WriteAllTextAsync(garbage, "hello");
        var outputPath = Path.Combine(_folder, "out.onnx");

        var run = await CliRun.InvokeAsync("export", "--variant", "resnest50", "--checkpoint", garbage, "-o", outputPath);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("resnest export: ", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.False(File.Exists(outputPath));
    }

    [Fact]
    public async Task A_checkpoint_of_stride_0_views_fails_with_one_error_line_before_materialising()
    {
        // resnest50's names and shapes, every tensor a stride-0 view of one stored float: a few KB that the spec check
        // passes and that used to be exported as a model of 25.6 million equal weights.
        var spec = ResNeSt.Models.Architecture.StateDictSpec.For(ResNeSt.Models.Architecture.ResNeStVariant.ResNeSt50);
        var pickle = ResNeSt.TestSupport.HandMadeCheckpoints.StateDictPickle(
            1, spec.Entries.Select(e => (e.Key, e.Shape, (IReadOnlyList<int>)e.Shape.Select(_ => 0).ToArray(), 0)));
        var checkpoint = Path.Combine(_folder, "stride0.pth");
        await File.WriteAllBytesAsync(checkpoint, ResNeSt.TestSupport.HandMadeCheckpoints.Zip(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[4] }));
        var outputPath = Path.Combine(_folder, "out.onnx");

        var run = await CliRun.InvokeAsync("export", "--variant", "resnest50", "--checkpoint", checkpoint, "-o", outputPath);

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines, l => l.StartsWith("resnest export: ", StringComparison.Ordinal));
        Assert.Contains("has a stride of 0", line, StringComparison.Ordinal);
        Assert.DoesNotContain(run.ErrorLines, l => l.Contains("Exception", StringComparison.Ordinal));
        Assert.False(File.Exists(outputPath));
    }

    [Fact]
    public async Task A_checkpoint_of_another_network_is_refused_naming_the_keys()
    {
        // A real PyTorch checkpoint (tools/make-checkpoint-fixtures.py) of a reduced ResNeSt: not resnest50's state_dict.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ResNeSt.Functions.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var checkpoint = Path.Combine(dir.FullName, "tests", "ResNeSt.Models.Tests", "fixtures", "reduced.zip.pth");
        var outputPath = Path.Combine(_folder, "out.onnx");

        var run = await CliRun.InvokeAsync("export", "--variant", "resnest50", "--checkpoint", checkpoint, "-o", outputPath);

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines, l => l.StartsWith("resnest export: ", StringComparison.Ordinal));
        Assert.Contains("resnest50", line, StringComparison.Ordinal);
        Assert.Contains("shape", line, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(outputPath));
    }

    [Fact]
    public async Task Download_with_no_reachable_server_fails_fast_with_one_line()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        int port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        Environment.SetEnvironmentVariable("RESNEST_WEIGHTS_URL", $"http://127.0.0.1:{port}/weights/");
        Environment.SetEnvironmentVariable("RESNEST_CACHE", Path.Combine(_folder, "cache"));
        try
        {
            var outputPath = Path.Combine(_folder, "out.onnx");
            var run = await CliRun.InvokeAsync("export", "--variant", "resnest50", "--download", "-o", outputPath);

            Assert.Equal(1, run.ExitCode);
            Assert.Contains("--checkpoint", Assert.Single(run.ErrorLines, l => l.StartsWith("resnest export: ", StringComparison.Ordinal)), StringComparison.Ordinal);
            Assert.False(File.Exists(outputPath));
        }
        finally
        {
            Environment.SetEnvironmentVariable("RESNEST_WEIGHTS_URL", null);
            Environment.SetEnvironmentVariable("RESNEST_CACHE", null);
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
