using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.ModelLoading;

namespace ResNeSt.Functions.Hosting;

/// <summary>The app's service registration, separate from <c>Program</c> so tests build exactly this wiring.</summary>
public static class FunctionsAppSetup
{
    public static IServiceCollection AddResNeStFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        // One classifier (model session + batcher) per worker process, loaded and warmed up by a hosted service at
        // start-up; every trigger shares it, so concurrent uploads coalesce into large batches.
        // Telemetry first: its hosted service then starts before the pipeline's, so the model load is measured too.
        services.AddResNeStTelemetry(configuration);
        services.AddLogging(logging => logging
            .AddProvider(new OutOfInvocationConsoleLoggerProvider())
            .AddFilter<OutOfInvocationConsoleLoggerProvider>(null, LogLevel.Warning)
            .AddFilter<OutOfInvocationConsoleLoggerProvider>("ResNeSt", LogLevel.Information)
            // Azure.Core reports every expected 404/409 of a create-if-missing as a warning; real faults surface as exceptions.
            .AddFilter<OutOfInvocationConsoleLoggerProvider>("Azure", LogLevel.Error));
        services.AddClassificationPipeline(configuration);

        // Thumbnails decode under the classifier's own limits: no file costs more to show than to classify.
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PipelineOptions>>().Value;
            return new ThumbnailEncoder(EngineClassifier.UploadLimits(options.MaxImageBytes, options.DecodeTimeout));
        });
        return services;
    }
}
