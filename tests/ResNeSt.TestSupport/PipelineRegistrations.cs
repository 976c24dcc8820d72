using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Pipeline.Hosting;

namespace ResNeSt.TestSupport;

/// <summary>
/// Compares a host's service registrations with the pipeline's own (<see cref="PipelineServiceCollectionExtensions"/>),
/// so that a test fails when a host (the app, <c>resnest tag</c>, <c>resnest worker</c>, the harness) wires the pipeline
/// differently: a service, an options binding or validator, or a start-up check missing or replaced.
/// </summary>
public static class PipelineRegistrations
{
    /// <summary>The pipeline's registrations on their own.</summary>
    public static IServiceCollection Reference()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new PipelineSettings { StorageConnection = "UseDevelopmentStorage=true" }.ToConfiguration())
            .Build();
        return new ServiceCollection().AddClassificationPipeline(configuration);
    }

    /// <summary>
    /// Registrations of <paramref name="reference"/> that <paramref name="services"/> lacks, and pipeline services for
    /// which another registration wins there (the last one is what the container resolves). Only what is about the
    /// pipeline counts: a type of ours or of the Azure SDK as the service, a type argument (options, validators,
    /// client factories) or the implementation; a host's own logging and hosting services do not. Classifier
    /// factories compare as "a factory": hosts may wrap the engine (counting, auditing).
    /// </summary>
    public static IReadOnlyList<string> Differences(IServiceCollection reference, IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(services);
        var differences = new List<string>();
        var available = services.Where(IsPipeline).GroupBy(Describe).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var group in reference.Where(IsPipeline).GroupBy(Describe))
        {
            if (available.GetValueOrDefault(group.Key) < group.Count())
            {
                differences.Add($"missing: {group.Key}");
            }
        }

        foreach (var type in reference.Select(d => d.ServiceType).Where(IsOurs).Distinct())
        {
            var expected = Describe(reference.Last(d => d.ServiceType == type));
            var actual = services.LastOrDefault(d => d.ServiceType == type) is { } last ? Describe(last) : "nothing";
            if (!string.Equals(expected, actual, StringComparison.Ordinal))
            {
                differences.Add($"{type.FullName} resolves to {actual}, not {expected}");
            }
        }

        return differences;
    }

    private static bool IsPipeline(ServiceDescriptor d) =>
        IsOurs(d.ServiceType) || d.ServiceType.GenericTypeArguments.Any(IsOurs)
        || (!d.IsKeyedService && d.ImplementationType is { } type && IsOurs(type));

    private static bool IsOurs(Type type) =>
        type.Namespace is { } ns && (ns.StartsWith("ResNeSt.", StringComparison.Ordinal) || ns.StartsWith("Azure.", StringComparison.Ordinal));

    private static string Describe(ServiceDescriptor d)
    {
        string implementation = d.IsKeyedService
            ? d.KeyedImplementationType?.FullName ?? d.KeyedImplementationInstance?.GetType().FullName ?? "factory"
            : d.ImplementationType?.FullName ?? d.ImplementationInstance?.GetType().FullName ?? "factory";
        return $"{d.ServiceType.FullName} ({d.Lifetime}{(d.IsKeyedService ? $", key {d.ServiceKey}" : "")}) → {implementation}";
    }
}
