using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResNeSt.Functions.Api;
using ResNeSt.Functions.Http;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>
/// Failures answer RFC 9457 problems that name the invocation and reveal nothing of storage, the runtime or the model
/// load.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class ProblemResponseTests(AzuriteFixture azurite)
{
    /// <summary>
    /// Runs a function as the host does: through <see cref="ApiProblemMiddleware"/>, the result written to the request's
    /// own response (so the invocation id the middleware attached is there).
    /// </summary>
    private static async Task<HttpTest.Response> InvokeAsync(PipelineHarness harness, HttpRequest request, string invocationId, Func<Task<IActionResult>> function)
    {
        var http = request.HttpContext;
        var context = new TestFunctionContext(invocationId, harness.Services);
        context.Items["HttpRequestContext"] = http;
        await new ApiProblemMiddleware().Invoke(context, async _ =>
        {
            var result = await function();
            await result.ExecuteResultAsync(new ActionContext(http, new RouteData(), new ActionDescriptor()));
        });
        var body = (MemoryStream)http.Response.Body;
        return new HttpTest.Response(http.Response.StatusCode, http.Response.ContentType ?? "", Encoding.UTF8.GetString(body.ToArray()), null);
    }

    [Fact]
    public async Task A_storage_failure_answers_500_problem_json_with_the_invocation_id_and_no_internals()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var capture = new CapturingLoggerProvider();
        harness.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        await harness.Storage.BatchJobs.DeleteAsync(); // a real storage error: the table is gone
        var api = Function<BatchesApi>(harness);

        // Without the middleware the function throws a storage exception full of internals ...
        var thrown = await Assert.ThrowsAsync<Azure.RequestFailedException>(async () => await api.StartAsync(Json("""{"prefix":"x/"}"""), default));
        Assert.Contains("TableNotFound", thrown.ToString(), StringComparison.Ordinal);

        // ... which the caller never sees. (The worker runs each invocation in a span of its own: here, a stand-in.)
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == nameof(ProblemResponseTests),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var spans = new ActivitySource(nameof(ProblemResponseTests));
        var request = Json("""{"prefix":"x/"}""");
        HttpTest.Response response;
        using (var invocation = spans.StartActivity("function StartBatch"))
        {
            response = await InvokeAsync(harness, request, "inv-500", () => api.StartAsync(request, default));
            Assert.Equal((ActivityStatusCode.Error, "internal_error"), (invocation!.Status, invocation.StatusDescription));
        }

        Assert.Equal(500, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
        Assert.Equal("internal_error", response.Root.GetProperty("code").GetString());
        Assert.Equal("inv-500", response.Root.GetProperty("invocationId").GetString());
        Assert.Equal("inv-500", request.HttpContext.Response.Headers[ApiProblemMiddleware.InvocationIdHeader].ToString());
        foreach (var leak in new[] { "devstoreaccount1", "127.0.0.1", "TableNotFound", "Exception", "Status:", " at ", "AccountKey", "RequestId", "x-ms-" })
        {
            Assert.DoesNotContain(leak, response.Body, StringComparison.OrdinalIgnoreCase);
        }

        // The exception goes to the log, once, with the status; the invocation id is left to the worker's scope
        // (AzureFunctions_InvocationId), which carries it to every exporter.
        var logged = Assert.Single(capture.Records, r => r.EventId == 2000);
        Assert.Equal((LogLevel.Error, "HTTP request failed; answered 500 without details."), (logged.Level, logged.Message));
        Assert.Equal(["Status"], logged.Properties);
        Assert.IsType<Azure.RequestFailedException>(logged.Exception);
    }

    [Fact]
    public async Task Every_problem_names_the_invocation_and_other_triggers_exceptions_pass_through()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var request = HttpTest.Get();
        request.HttpContext.Response.Body = new MemoryStream();
        var response = await InvokeAsync(harness, request, "inv-404", () => Function<ResultsApi>(harness).GetAsync(request, "missing.jpg", default));
        Assert.Equal((404, "inv-404"), (response.Status, response.Root.GetProperty("invocationId").GetString()));

        // Not HTTP (no request on the context): the host must see the exception to retry the message.
        var queueContext = new TestFunctionContext("inv-queue", harness.Services);
        await Assert.ThrowsAsync<InvalidOperationException>(() => new ApiProblemMiddleware().Invoke(queueContext, _ => throw new InvalidOperationException("queue fault")));
    }

    [Fact]
    public void A_model_that_cannot_be_loaded_is_503_with_a_retry_hint_and_nothing_of_the_load_error()
    {
        var problem = ApiProblemMiddleware.ProblemFor(new ModelUnavailableException(
            "The model is not available: FileNotFoundException: Model file '/secret-folder-name/model.onnx' does not exist."));
        Assert.Equal((503, "model_unavailable", 15), (problem.StatusCode, problem.Problem.Code, problem.RetryAfterSeconds));
        Assert.DoesNotContain("secret-folder-name", problem.Problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_anonymous_and_reveals_no_load_error()
    {
        var missing = Path.Combine(Path.GetTempPath(), "secret-folder-name", "model.onnx");
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { ["Model:Path"] = missing });
        var response = await (await Function<HealthApi>(harness).GetAsync(HttpTest.Get(), default)).ExecuteAsync();
        Assert.Equal(503, response.Status);
        Assert.Equal("model_not_found", response.Json(PipelineJsonContext.Default.HealthDocument).Error);
        Assert.NotNull(harness.Model.LastError); // the runtime knows why ...
        Assert.DoesNotContain("secret-folder-name", response.Body, StringComparison.Ordinal); // ... the probe does not
        Assert.DoesNotContain(harness.Model.LastError!, response.Body, StringComparison.Ordinal);
    }
}
