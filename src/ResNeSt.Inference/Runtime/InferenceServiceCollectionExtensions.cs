using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ResNeSt.Inference.Runtime;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="InferenceOptions"/> from <paramref name="section"/> (e.g. the <c>Inference</c> section) and
    /// validates them when the host starts, so a bad setting stops the worker at start-up rather than at the first image.
    /// </summary>
    public static OptionsBuilder<InferenceOptions> AddInferenceOptions(this IServiceCollection services, IConfiguration section) =>
        services.AddValidatedOptions<InferenceOptions, InferenceOptionsValidator>(section);
}
