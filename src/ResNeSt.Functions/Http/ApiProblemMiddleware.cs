using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResNeSt.Inference.Batching;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Http;

/// <summary>
/// For HTTP invocations: tags the request and response with the invocation id and turns an unhandled exception into a
/// problem document that says nothing about it — no message, no type, no stack, no storage URL or account — and names
/// the invocation id instead; the exception itself goes to the log, and a 5xx marks the invocation's span as failed.
/// Other triggers' exceptions pass through untouched, because the host retries those.
/// </summary>
public sealed partial class ApiProblemMiddleware : IFunctionsWorkerMiddleware
{
    /// <summary>Request item holding the invocation id, read by <see cref="ProblemResult"/>.</summary>
    public const string InvocationIdItem = "ResNeSt.InvocationId";

    /// <summary>Response header naming the invocation, on every HTTP response.</summary>
    public const string InvocationIdHeader = "x-resnest-invocation-id";

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (context.GetHttpContext() is not { } http)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        http.Items[InvocationIdItem] = context.InvocationId;
        http.Response.Headers[InvocationIdHeader] = context.InvocationId;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!http.Response.HasStarted && !(ex is OperationCanceledException && http.RequestAborted.IsCancellationRequested))
        {
            var logger = context.InstanceServices.GetService<ILoggerFactory>()?.CreateLogger<ApiProblemMiddleware>();
            var result = ProblemFor(ex);
            if (logger is not null)
            {
                Unhandled(logger, ex, result.StatusCode);
            }

            // The worker's span of this invocation would end as a success: the exception stops here. A 5xx is a failure
            // of the service, so the span says so, with the problem's code (the exception is in the log record above).
            if (result.StatusCode >= 500)
            {
                Activity.Current?.SetStatus(ActivityStatusCode.Error, result.Problem.Code);
            }

            await result.ExecuteResultAsync(new ActionContext(http, http.GetRouteData() ?? new RouteData(), new ActionDescriptor())).ConfigureAwait(false);
        }
    }

    /// <summary>What the caller learns about a failure: a status and a fixed sentence, chosen by kind, never by message.</summary>
    public static ProblemResult ProblemFor(Exception exception) => exception switch
    {
        InferenceQueueFullException => new ProblemResult(new ProblemDocument("Busy", 503, "The classifier's queue is full; retry shortly.", "busy")) { RetryAfterSeconds = 1 },
        ModelUnavailableException => new ProblemResult(new ProblemDocument(
            "Model unavailable", 503, "The model is not loaded yet, or loading it failed; retry later.", "model_unavailable")) { RetryAfterSeconds = 15 },
        OperationCanceledException => ApiResults.Problem(503, "Cancelled", "The request was cancelled before it completed; retry it.", "cancelled"),
        _ => ApiResults.Problem(500, "Internal error", "The request could not be completed. Quote the invocation id when reporting this.", "internal_error"),
    };

    // No invocation id in the text: the worker's invocation scope carries it to the exporters (faas.invocation_id; the
    // host test ProblemLogTests reads it there), and the host's "Executed … (Id=…)" line names it on its console.
    [LoggerMessage(2000, LogLevel.Error, "HTTP request failed; answered {Status} without details.")]
    private static partial void Unhandled(ILogger logger, Exception exception, int status);
}
