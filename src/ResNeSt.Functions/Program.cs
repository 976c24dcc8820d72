using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using ResNeSt.Functions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddResNeStFunctions(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
