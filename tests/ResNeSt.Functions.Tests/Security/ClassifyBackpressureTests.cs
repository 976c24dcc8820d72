using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using ResNeSt.Functions.Api;
using ResNeSt.Functions.Http;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>
/// Synchronous classification holds no connection it cannot serve: a full inference queue answers 503 at once, and a
/// client that goes away cancels the work.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class ClassifyBackpressureTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Classify_answers_503_busy_with_Retry_After_when_the_inference_queue_is_full_instead_of_waiting()
    {
        // One place in the queue, held by an image whose slot writer waits for the test.
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { ["Inference:MaxBatchSize"] = "1", ["Inference:QueueCapacity"] = "1" });
        var counting = (ResNeSt.Testing.Counting.CountingClassifier)await harness.Model.GetClassifierAsync(default);
        var batcher = ((ResNeSt.Inference.Classification.ResNeStClassifier)counting.Inner).Batcher;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = Task.Run(() => batcher.SubmitAsync(0, (in int _, Span<float> _) =>
        {
            entered.Set();
            release.Wait();
            return 0;
        }));
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));
        try
        {
            // The old code waited for room until the function timeout; this token stands in for it.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var request = HttpTest.Post(TestImages.Sample("camera.png"), "image/png");
            var result = await Function<ClassifyApi>(harness).PostAsync(request, timeout.Token);
            var problem = Assert.IsType<ProblemResult>(result);
            Assert.Equal((503, "busy", 1), (problem.StatusCode, problem.Problem.Code, problem.RetryAfterSeconds));
            var context = new DefaultHttpContext { Response = { Body = new MemoryStream() } };
            await problem.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
            Assert.Equal("1", context.Response.Headers.RetryAfter.ToString());
        }
        finally
        {
            release.Set();
            await holder;
        }

        // Room again: the same request is classified.
        var classified = await (await Function<ClassifyApi>(harness).PostAsync(HttpTest.Post(TestImages.Sample("camera.png"), "image/png"), default)).ExecuteAsync();
        Assert.Equal(200, classified.Status);
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_classification()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var api = Function<ClassifyApi>(harness);
        var request = HttpTest.Post(TestImages.Sample("camera.png"), "image/png");
        using var aborted = new CancellationTokenSource();
        request.HttpContext.RequestAborted = aborted.Token;
        await aborted.CancelAsync();

        // The invocation's own token is still live: only the request's says stop.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => api.PostAsync(request, CancellationToken.None));
    }
}
