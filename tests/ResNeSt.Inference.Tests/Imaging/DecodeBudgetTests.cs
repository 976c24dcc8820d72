using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using ResNeSt.Testing.Samples;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>The process-wide decode budget: weighted, first come first served, cancellable, never over its capacity.</summary>
public sealed class DecodeBudgetTests
{
    private static readonly PreprocessingSpec s_spec = new(PreprocessingRecipe.Hub, 32, 37, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    [Fact]
    public async Task A_decode_waits_while_others_hold_the_budget_and_a_cancelled_wait_holds_nothing()
    {
        var budget = new DecodeBudget(64L << 20);
        var preprocessor = new ImagePreprocessor(ImageLimits.Default, budget);
        var jpeg = File.ReadAllBytes(Path.Combine(SampleImages.FindDirectory(), "rocket.jpg"));
        var held = budget.Acquire(budget.Capacity, CancellationToken.None);

        using var cancel = new CancellationTokenSource();
        var waiting = Task.Run(() => preprocessor.Preprocess(jpeg, new float[s_spec.TensorLength], s_spec, cancel.Token));
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        var next = Task.Run(() => preprocessor.Preprocess(jpeg, new float[s_spec.TensorLength], s_spec));
        held.Dispose();
        await next;
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public async Task Callers_are_served_in_order_so_a_large_decode_is_not_starved()
    {
        var budget = new DecodeBudget(100);
        var first = budget.Acquire(60, CancellationToken.None);
        var large = Task.Run(() => budget.Acquire(100, CancellationToken.None));
        await Task.Delay(100);
        var small = Task.Run(() => budget.Acquire(10, CancellationToken.None)); // fits now, but queued behind the large one
        await Task.Delay(100);
        Assert.False(small.IsCompleted);
        first.Dispose();
        using (await large)
        {
            Assert.Equal(100, budget.InUse);
        }

        (await small).Dispose();
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void A_request_over_the_capacity_takes_all_of_it_rather_than_waiting_forever()
    {
        var budget = new DecodeBudget(100);
        using var lease = budget.Acquire(1_000, CancellationToken.None);
        Assert.Equal(100, lease.Bytes);
    }
}
