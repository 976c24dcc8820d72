using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Inference.Runtime;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.TestSupport;
using ResNeSt.Testing.Storage;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>
/// <c>resnest annotate</c> on models exported by PyTorch's torch.onnx.export (tools/make-torch-onnx-fixture.sh),
/// loaded afterwards by the app's own model loader (the pipeline's <see cref="ModelRuntime"/> on Azurite).
/// </summary>
public sealed class AnnotateCommandTests : IDisposable
{
    private static readonly string s_fixtureDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "torch-export");
    private static readonly string s_fixed = Path.Combine(s_fixtureDir, "tiny-resnest-b1.onnx");
    private static readonly string s_dynamic = Path.Combine(s_fixtureDir, "tiny-resnest-dynamic.onnx");
    private readonly string _dir = Directory.CreateTempSubdirectory("resnest-annotate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Reference(string File, IReadOnlyList<(int Index, double Probability)> Top5);

    private static IReadOnlyList<Reference> References() =>
        [.. File.ReadAllLines(Path.Combine(s_fixtureDir, "reference.jsonl")).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            return new Reference(
                root.GetProperty("file").GetString()!,
                [.. root.GetProperty("predictions").EnumerateArray().Select(p => (p.GetProperty("index").GetInt32(), p.GetProperty("probability").GetDouble()))]);
        })];

    [Fact]
    public async Task A_PyTorch_export_annotated_is_loaded_by_the_app_and_classifies_the_samples_as_PyTorch_does()
    {
        var annotated = Path.Combine(_dir, "annotated.onnx");
        var run = await CliRun.InvokeAsync("annotate", s_fixed, "--variant", "resnest50", "-o", annotated);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("input 'input.1' -> 'input'", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(s_fixed), "the source model is left alone");

        await using var azurite = await Azurite.StartAsync();
        using var host = await PipelineHost.StartAsync(
            new PipelineSettings { StorageConnection = azurite.ConnectionString, ModelPath = annotated, TaggingEnabled = false, MaxBatchSize = 4 }, CancellationToken.None);
        var runtime = host.Services.GetRequiredService<ModelRuntime>();
        var classifier = await runtime.GetClassifierAsync(CancellationToken.None);
        Assert.True(runtime.IsReady, runtime.LastError);
        foreach (var reference in References())
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(ClassifyCommandTests.SamplesDirectory(), reference.File));
            var result = await classifier.ClassifyAsync(bytes);
            Assert.Equal(reference.Top5.Select(p => p.Index), result.Predictions.Select(p => p.Index));
            foreach (var (expected, actual) in reference.Top5.Zip(result.Predictions))
            {
                Assert.InRange(actual.Probability, expected.Probability - 0.002, expected.Probability + 0.002);
            }

            Assert.Equal(ModelCard.ImageNetClassNames[reference.Top5[0].Index], result.Predictions[0].Label);
        }
    }

    [Fact]
    public async Task The_app_refuses_the_unannotated_export_and_says_which_command_fixes_it()
    {
        await using var azurite = await Azurite.StartAsync();
        using var host = await PipelineHost.StartAsync(
            new PipelineSettings { StorageConnection = azurite.ConnectionString, ModelPath = s_fixed, TaggingEnabled = false, MaxBatchSize = 4 }, CancellationToken.None);
        var runtime = host.Services.GetRequiredService<ModelRuntime>();
        var ex = await Assert.ThrowsAsync<ModelUnavailableException>(async () => await runtime.GetClassifierAsync(CancellationToken.None));
        Assert.Equal("model_invalid", runtime.LastFailureCode);
        Assert.Contains("resnest annotate", ex.Message, StringComparison.Ordinal);
        Assert.Contains("resnest annotate", runtime.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Labels_recipe_and_resize_go_into_the_card_and_a_symbolic_batch_stays_symbolic()
    {
        var labels = Path.Combine(_dir, "labels.txt");
        await File.WriteAllLinesAsync(labels, Enumerable.Range(0, 1000).Select(i => $"thing's class {i}"));
        var annotated = Path.Combine(_dir, "dynamic.onnx");
        var run = await CliRun.InvokeAsync("annotate", s_dynamic, "--variant", "my-finetuned-resnest", "--recipe", "paper", "--resize", "80", "--labels", labels, "-o", annotated);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("input 'images' -> 'input', output 'scores' -> 'logits'", run.Output, StringComparison.Ordinal);

        var info = OnnxModelInfo.Read(annotated);
        var card = ModelCard.FromMetadata(info.Metadata);
        Assert.Equal(("my-finetuned-resnest", 64, 80, PreprocessingRecipe.Paper), (card.Variant, card.CropSize, card.ResizeSize, card.Recipe));
        Assert.Equal("thing's class 999", card.ClassNames[999]);
        Assert.Equal("input: float[batch,3,64,64]", Assert.Single(info.Inputs).ToString());
        Assert.Equal("logits: float[batch,1000]", Assert.Single(info.Outputs).ToString());

        var classify = await CliRun.InvokeAsync("classify", "--model", annotated, "--provider", "cpu", Path.Combine(ClassifyCommandTests.SamplesDirectory(), "dog.jpg"));
        Assert.True(classify.ExitCode == 0, classify.Error);
        Assert.Contains("\"label\":\"thing's class ", classify.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Annotating_twice_replaces_the_card_and_keeps_the_names()
    {
        var once = Path.Combine(_dir, "once.onnx");
        Assert.Equal(0, (await CliRun.InvokeAsync("annotate", s_fixed, "--variant", "first", "-o", once)).ExitCode);
        var twice = await CliRun.InvokeAsync("annotate", once, "--variant", "second", "-o", once);
        Assert.True(twice.ExitCode == 0, twice.Error);
        Assert.Contains("replaced", twice.Error, StringComparison.Ordinal);
        Assert.Equal("second", ModelCard.FromMetadata(OnnxModelInfo.Read(once).Metadata).Variant);
        using var engine = InferenceEngine.Load(once, new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, WarmUp = false });
        Assert.Equal(1, engine.MaxBatchSize);
    }

    public static TheoryData<string, string[]> Refusals => new()
    {
        { "fixed at 64", ["annotate", s_fixed, "--variant", "resnest50", "--crop", "32", "-o", "{out}"] },
        { "smaller than the crop", ["annotate", s_dynamic, "--variant", "resnest50", "--resize", "60", "-o", "{out}"] },
        { "1000 non-empty lines", ["annotate", s_fixed, "--variant", "resnest50", "--labels", "{labels}", "-o", "{out}"] },
        { "does not exist", ["annotate", s_fixed, "--variant", "resnest50", "-o", "{missing}/out.onnx"] },
        { "not an ONNX model", ["annotate", "{garbage}", "--variant", "resnest50", "-o", "{out}"] },
        { "1000 classes", ["annotate", "{tenclasses}", "--variant", "resnest50", "-o", "{out}"] },
        { "float32", ["annotate", "{doubleinput}", "--variant", "resnest50", "-o", "{out}"] },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Refuses_what_the_app_could_not_use_with_one_line_and_exit_2(string expected, string[] template)
    {
        var labels = Path.Combine(_dir, "short-labels.txt");
        await File.WriteAllLinesAsync(labels, Enumerable.Range(0, 999).Select(i => $"c{i}"));
        var garbage = Path.Combine(_dir, "garbage.onnx");
        await File.WriteAllTextAsync(garbage, "this is not a protobuf message at all");
        var tenClasses = Path.Combine(_dir, "ten.onnx");
        await File.WriteAllBytesAsync(tenClasses, TinyModel.Create(cropSize: 32, classes: 10, inputName: "x", outputName: "y").Bytes);
        var doubleInput = Path.Combine(_dir, "double.onnx");
        await File.WriteAllBytesAsync(doubleInput, WithDoubleInput(File.ReadAllBytes(s_fixed)));
        var output = Path.Combine(_dir, "out.onnx");
        var args = template.Select(a => a
            .Replace("{out}", output, StringComparison.Ordinal)
            .Replace("{labels}", labels, StringComparison.Ordinal)
            .Replace("{missing}", Path.Combine(_dir, "missing"), StringComparison.Ordinal)
            .Replace("{garbage}", garbage, StringComparison.Ordinal)
            .Replace("{tenclasses}", tenClasses, StringComparison.Ordinal)
            .Replace("{doubleinput}", doubleInput, StringComparison.Ordinal)).ToArray();

        var run = await CliRun.InvokeAsync(args);

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("resnest annotate: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("wire type", line, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.False(Directory.Exists(Path.Combine(_dir, "missing")));
    }

    private static byte[] WithDoubleInput(byte[] model)
    {
        var proto = Onnx.ModelProto.Parser.ParseFrom(model);
        proto.Graph.Input[0].Type.TensorType.ElemType = (int)Onnx.TensorProto.Types.DataType.Double;
        return ModelWriter.ToBytes(proto);
    }
}
