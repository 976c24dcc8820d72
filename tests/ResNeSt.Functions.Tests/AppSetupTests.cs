using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Hosting;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Storage;
using ResNeSt.TestSupport;

namespace ResNeSt.Functions.Tests;

/// <summary>The app's own registration (<see cref="FunctionsAppSetup"/>): bad settings stop the host at start-up.</summary>
[Collection(AzuriteFixture.Collection)]
public sealed class AppSetupTests(AzuriteFixture azurite)
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddResNeStFunctions(builder.Configuration);
        return builder.Build();
    }

    private Dictionary<string, string?> Valid() => new()
    {
        ["ImageStorage"] = azurite.ConnectionString,
        ["Model:Path"] = TestModel.Path,
        ["Pipeline:ImagesContainer"] = "uploads",
    };

    [Theory]
    [InlineData("Pipeline:ImagesContainer", "Not_A_Container")]
    [InlineData("Pipeline:MaxImageBytes", "0")]
    [InlineData("Pipeline:ClaimTimeout", "00:00:00")]
    [InlineData("Model:Sha256", "xyz")]
    [InlineData("Model:BlobName", "resnest50.onnx")] // both a path and a blob
    [InlineData("Preprocessing:Decode", "7")] // binds, but is neither Exact nor Fast
    public async Task Invalid_settings_stop_the_host_at_start_up(string key, string value)
    {
        var settings = Valid();
        settings[key] = value;
        using var host = Build(settings);
        await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    /// <summary>The hosts outside the app (<c>resnest tag</c>, <c>resnest worker</c>, the dev tool, the harness) refuse the same settings.</summary>
    [Theory]
    [InlineData("Pipeline:ImagesContainer", "Not_A_Container")]
    [InlineData("Pipeline:MaxImageBytes", "0")]
    [InlineData("Pipeline:ClaimTimeout", "00:00:00")]
    [InlineData("Model:Sha256", "xyz")]
    [InlineData("Model:BlobName", "resnest50.onnx")]
    [InlineData("Preprocessing:Decode", "7")]
    public async Task Invalid_settings_stop_the_hosts_outside_the_app_too(string key, string value)
    {
        var settings = Valid();
        settings[key] = value;
        using var host = PipelineHost.CreateBuilder(new PipelineSettings(), settings, readEnvironment: false).Build();
        await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    [Fact]
    public void The_app_registers_the_pipeline_as_the_hosts_outside_it_do()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Valid()).Build();
        var services = new ServiceCollection().AddResNeStFunctions(configuration);
        Assert.Empty(PipelineRegistrations.Differences(PipelineRegistrations.Reference(), services));
    }

    [Theory]
    [InlineData(null, DecodeMode.Fast)] // the default: uploads are paid per image
    [InlineData("Exact", DecodeMode.Exact)]
    [InlineData("fast", DecodeMode.Fast)]
    public async Task Preprocessing_Decode_reaches_the_classifier(string? setting, DecodeMode expected)
    {
        var settings = Valid();
        if (setting is not null)
        {
            settings["Preprocessing:Decode"] = setting;
        }

        using var host = Build(settings);
        var model = new LocalModel(TestModel.Path, "", new FileInfo(TestModel.Path).Length, "test");
        await using var classifier = (ResNeStClassifier)EngineClassifier.FromServices(host.Services)(model);
        Assert.Equal(expected, classifier.DecodeMode);
    }

    [Fact]
    public void A_missing_storage_connection_is_refused_with_the_setting_names()
    {
        var settings = Valid();
        settings.Remove("ImageStorage");
        var error = Assert.Throws<InvalidOperationException>(() => Build(settings));
        Assert.Contains("ImageStorage__blobServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_based_connections_use_the_service_uris()
    {
        var settings = Valid();
        settings.Remove("ImageStorage");
        settings["ImageStorage:blobServiceUri"] = "https://acct.blob.core.windows.net";
        settings["ImageStorage:queueServiceUri"] = "https://acct.queue.core.windows.net";
        settings["ImageStorage:tableServiceUri"] = "https://acct.table.core.windows.net";
        settings["ImageStorage:clientId"] = "00000000-0000-0000-0000-000000000001";
        using var host = Build(settings);
        var storage = host.Services.GetRequiredService<PipelineStorage>();
        Assert.Equal("https://acct.blob.core.windows.net/uploads", storage.Images.Uri.ToString().TrimEnd('/'));
        Assert.Equal("acct.table.core.windows.net", storage.Results.Uri.Host);
        Assert.Equal("acct.queue.core.windows.net", storage.ClassifyQueue.Uri.Host);
    }

    [Fact]
    public async Task Valid_settings_start_the_host_and_create_the_storage_resources()
    {
        await azurite.ResetAsync();
        using var host = Build(Valid());
        await host.StartAsync();
        var storage = host.Services.GetRequiredService<PipelineStorage>();
        Assert.True(await storage.Images.ExistsAsync());
        Assert.True(await storage.ClassifyQueue.ExistsAsync());
        Assert.NotNull(host.Services.GetRequiredService<ModelRuntime>());
        await host.StopAsync();
    }
}
