using ResNeSt.Functions.Api;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>
/// The query parameters each route takes: any other is a 400 that names it and says what the route takes, except
/// <c>code</c>, the function key's query form, which every route lets through.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class QueryParameterTests(AzuriteFixture azurite)
{
    private static Task<Microsoft.AspNetCore.Mvc.IActionResult> CallAsync(PipelineHarness harness, string route, string query) => route switch
    {
        "tags" => Function<TagsApi>(harness).GetAsync(HttpTest.Get(query), null, default),
        "results" => Function<ResultsApi>(harness).ListAsync(HttpTest.Get(query), default),
        "thumbnails" => Thumbnails(harness).GetAsync(HttpTest.Get(query), null, default),
        _ => throw new ArgumentOutOfRangeException(nameof(route), route, null),
    };

    [Theory]
    [InlineData("tags", "?blob=a.jpg&raw=1", "'raw' is not supported; use blob.")]
    [InlineData("results", "?blob=a.jpg&label=tabby", "'label' is not supported with blob.")]
    [InlineData("results", "?labels=tabby", "'labels' is not supported; use label, minProbability, top, continuationToken (or blob alone).")]
    [InlineData("thumbnails", "?blob=a.jpg&width=64", "'width' is not supported; use size (and blob).")]
    public async Task An_unknown_query_parameter_is_a_400_naming_it_and_what_the_route_takes(string route, string query, string detail)
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var response = await (await CallAsync(harness, route, query)).ExecuteAsync();
        Assert.Equal((400, "invalid_query"), (response.Status, response.Root.GetProperty("code").GetString()));
        Assert.Equal(detail, response.Root.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("tags")]
    [InlineData("results")]
    [InlineData("thumbnails")]
    public async Task The_function_key_in_the_query_is_not_an_unknown_parameter(string route)
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var response = await (await CallAsync(harness, route, "?code=key&blob=missing.jpg")).ExecuteAsync();
        Assert.Equal((404, "not_found"), (response.Status, response.Root.GetProperty("code").GetString()));
    }
}
