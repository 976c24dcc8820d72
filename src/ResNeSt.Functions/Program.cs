using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using ResNeSt.Functions.Hosting;
using ResNeSt.Functions.Http;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<ApiProblemMiddleware>();
builder.Services.AddResNeStFunctions(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
