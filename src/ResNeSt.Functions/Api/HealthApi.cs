using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ResNeSt.Functions.Http;
using ResNeSt.Pipeline.Models;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Api;

/// <summary>
/// <c>GET /api/health</c> (anonymous, for probes): which model is loaded and whether it is warmed up. It reveals what a
/// probe needs and nothing else: no error messages, settings or storage names.
/// </summary>
public sealed class HealthApi(ModelRuntime model)
{
    public const string Name = "Health";

    [Function(Name)]
    public IActionResult Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request)
    {
        var classifier = model.Classifier;
        var document = new HealthDocument(
            model.IsReady,
            classifier?.Model.Variant,
            model.Model?.Sha256,
            classifier?.Model.CropSize,
            classifier?.ExecutionProvider,
            // Anonymous: the load error (which may name storage endpoints or files) stays in the logs.
            model.IsReady ? null : "The model is not loaded yet, or loading it failed (see the app's logs).");
        return ApiResults.Json(model.IsReady ? 200 : 503, document, PipelineJsonContext.Default.HealthDocument);
    }
}
