using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ResNeSt.Functions.Hosting;
using ResNeSt.Pipeline.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// One classifier (model session + batcher) per worker process, loaded and warmed up by a hosted service before the
// first invocation; every trigger shares it, so concurrent uploads coalesce into large batches.
builder.Services.AddClassificationPipeline(builder.Configuration, services => model => ClassifierWiring.Create(model, services));
await builder.Build().RunAsync().ConfigureAwait(false);
