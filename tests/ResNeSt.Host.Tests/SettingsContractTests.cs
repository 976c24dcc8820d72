using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Hosting;
using ResNeSt.Host.Tests.Infrastructure;

namespace ResNeSt.Host.Tests;

/// <summary>
/// The contract between the template and the app, checked without a host: the app settings of the compiled
/// <c>infra/main.bicep</c> (each hosting choice, the template's defaults, no model hash) and of
/// <c>local.settings.example.json</c>, read as environment variables the way the host and the worker read them, pass
/// the app's own start-up validation and resolve every <c>%expression%</c> of the function bindings.
/// </summary>
public sealed partial class SettingsContractTests
{
    public static TheoryData<string> Hostings => new(TemplateSettings.Hostings);

    [Theory]
    [MemberData(nameof(Hostings))]
    public async Task The_templates_app_settings_pass_the_apps_start_up_validation_and_resolve_every_binding_expression(string hosting)
    {
        var template = await TemplateSettings.ForHostingAsync(hosting);
        Assert.DoesNotContain("Model__Sha256", template.Keys); // the default: no hash pinned
        var settings = template.ToDictionary(s => s.Key, s => Concrete(s.Key, s.Value), StringComparer.Ordinal);
        AssertTheAppStartsWith(settings);
    }

    [Fact]
    public void The_local_settings_example_passes_the_apps_start_up_validation_and_resolves_every_binding_expression()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Repository.LocalSettingsExample));
        var settings = document.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        AssertTheAppStartsWith(settings);
    }

    private static void AssertTheAppStartsWith(IReadOnlyDictionary<string, string> settings)
    {
        var prefix = $"RESNEST_CONTRACT_{Guid.NewGuid():N}_";
        try
        {
            foreach (var (name, value) in settings)
            {
                Environment.SetEnvironmentVariable(prefix + name, value);
            }

            var configuration = new ConfigurationBuilder().AddEnvironmentVariables(prefix).Build();

            // The app's own wiring and its ValidateOnStart checks, exactly as Program.cs registers them.
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddResNeStFunctions(configuration);
            using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<IStartupValidator>().Validate();

            // Every %expression% the host will resolve at indexing time.
            var metadata = File.ReadAllText(Path.Combine(Repository.FunctionsOutput, "functions.metadata"));
            var expressions = Expression().Matches(metadata).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();
            Assert.NotEmpty(expressions);
            Assert.All(expressions, key => Assert.False(string.IsNullOrEmpty(configuration[key]), $"%{key}% does not resolve"));
        }
        finally
        {
            foreach (var name in settings.Keys)
            {
                Environment.SetEnvironmentVariable(prefix + name, null);
            }
        }
    }

    /// <summary>Deployment-time values (ARM expressions) stand in as what Azure would put there; validation reads their shape.</summary>
    private static string Concrete(string name, string value)
    {
        if (!(value.StartsWith('[') && value.EndsWith(']')))
        {
            return value;
        }

        foreach (var service in new[] { "blob", "queue", "table" })
        {
            if (name.EndsWith($"__{service}ServiceUri", StringComparison.Ordinal))
            {
                return $"https://account.{service}.core.windows.net";
            }
        }

        return name switch
        {
            _ when name.EndsWith("__clientId", StringComparison.Ordinal) || name == "AZURE_CLIENT_ID" => "00000000-0000-0000-0000-0000000000c3",
            "APPLICATIONINSIGHTS_CONNECTION_STRING" => "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/",
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" => "Authorization=AAD;ClientId=00000000-0000-0000-0000-0000000000c3",
            _ => throw new InvalidOperationException($"App setting {name} has a deployment-time value ({value}) this test does not know."),
        };
    }

    [GeneratedRegex("\"[^\"]*%([^%\"]+)%[^\"]*\"")]
    private static partial Regex Expression();
}
