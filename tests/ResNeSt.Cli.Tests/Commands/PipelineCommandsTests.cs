using System.CommandLine;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using ResNeSt.Cli.Commands;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Local;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary><c>resnest tag</c> and <c>resnest demo</c> end to end: real parsing, a private Azurite, a reduced random-weights ResNeSt.</summary>
public sealed class PipelineCommandsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resnest-cli-pipeline-").FullName;
    private Azurite? _azurite;
    private string _model = "";

    public async Task InitializeAsync()
    {
        _azurite = await Azurite.StartAsync();
        var variant = ResNeStVariant.Reduced([1, 1, 1, 1], stemWidth: 8, cropSize: 64);
        _model = Path.Combine(_dir, "reduced.onnx");
        var card = ModelCard.ForImageNet(variant.Name, variant.CropSize) with { WeightSource = "random(seed=3)" };
        ModelWriter.Save(ResNeStOnnxBuilder.Build(variant, RandomWeights.Create(variant, 3), card, ModelPrecision.Fp32), _model);
    }

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private static async Task<(int ExitCode, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var root = new RootCommand { TagCommand.Create(), DemoCommand.Create() };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Tag_classifies_and_tags_every_blob_under_the_prefix_and_reports_the_job()
    {
        var blobs = new BlobServiceClient(_azurite!.ConnectionString).GetBlobContainerClient("photos");
        await blobs.CreateIfNotExistsAsync();
        var samples = Directory.GetFiles(ClassifyCommandTests.SamplesDirectory()).Order(StringComparer.Ordinal).ToArray();
        foreach (var file in samples)
        {
            await blobs.GetBlobClient($"2024/{Path.GetFileName(file)}").UploadAsync(file);
        }

        await blobs.GetBlobClient("2025/not-included.jpg").UploadAsync(samples[0]);

        var (exit, output, error) = await InvokeAsync("tag", "--connection", _azurite.ConnectionString, "--container", "photos", "--prefix", "2024/", "--model", _model);

        Assert.True(exit == 0, error);
        var job = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(samples.Length, job.GetProperty("queued").GetInt32());
        Assert.Equal(samples.Length, job.GetProperty("succeeded").GetInt32());
        Assert.Equal("completed", job.GetProperty("status").GetString());
        var tags = (await blobs.GetBlobClient($"2024/{Path.GetFileName(samples[0])}").GetTagsAsync()).Value.Tags;
        Assert.True(tags.ContainsKey("resnest-label"));
        Assert.Empty((await blobs.GetBlobClient("2025/not-included.jpg").GetTagsAsync()).Value.Tags);
        var results = new TableServiceClient(_azurite.ConnectionString).GetTableClient(ResourceNames.Default.Tables.Results);
        Assert.Equal(samples.Length, results.Query<TableEntity>().Count());
    }

    [Fact]
    public async Task Demo_prints_a_succeeded_result_for_every_sample()
    {
        var (exit, output, error) = await InvokeAsync("demo", "--model", _model, "--images", ClassifyCommandTests.SamplesDirectory(), "--json");

        Assert.True(exit == 0, error);
        foreach (var file in Directory.GetFiles(ClassifyCommandTests.SamplesDirectory()))
        {
            Assert.Matches($@"samples/{System.Text.RegularExpressions.Regex.Escape(Path.GetFileName(file))}\s+succeeded", output);
        }

        var documents = output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(Directory.GetFiles(ClassifyCommandTests.SamplesDirectory()).Length, documents.Length);
        Assert.All(documents, d => Assert.Equal(5, d.GetProperty("predictions").GetArrayLength()));
    }
}
