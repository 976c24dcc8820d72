using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ResNeSt.Functions.Http;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Api;

/// <summary>
/// <c>GET /api/health</c> (anonymous, for probes): which model is loaded and whether it is warmed up; 503 with a
/// failure code (<c>model_not_found</c>, <c>model_hash_mismatch</c>, <c>model_invalid</c>, <c>model_load_failed</c>,
/// <c>cuda_driver_not_found</c>, <c>cuda_driver_too_old</c>)
/// while it is not, and nothing else: no error messages, settings or storage names. A probe of an app without a model
/// tries the load again (at most once per <c>Model:ReloadInterval</c>), so a fixed model is picked up even when no
/// invocation arrives.
/// </summary>
public sealed class HealthApi(ModelRuntime model)
{
    public const string Name = "Health";

    [Function(Name)]
    public async Task<IActionResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (!model.IsReady)
        {
            try
            {
                await model.GetClassifierAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelUnavailableException)
            {
                // Reported below, with the reason.
            }
        }

        var classifier = model.Classifier;
        var document = new HealthDocument(
            model.IsReady,
            classifier?.Model.Variant,
            model.Model?.Sha256,
            classifier?.Model.CropSize,
            classifier?.ExecutionProvider,
            // Anonymous: the load error itself (which may name storage endpoints or files) stays in the logs.
            model.IsReady ? null : model.LastFailureCode ?? "model_not_loaded");
        return ApiResults.Json(model.IsReady ? 200 : 503, document, PipelineJsonContext.Default.HealthDocument);
    }
}
