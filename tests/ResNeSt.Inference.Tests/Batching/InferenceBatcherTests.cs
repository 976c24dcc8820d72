using ResNeSt.Inference.Batching;
using ResNeSt.Inference.Runtime;
using ResNeSt.Inference.Tests.Runtime;
using ResNeSt.TestSupport;

namespace ResNeSt.Inference.Tests.Batching;

/// <summary>
/// Batcher semantics on a real ORT session with the tiny model. Every image is a constant <c>c</c>, so each caller can
/// check it got the logits of its own image back. No test depends on how fast anything runs: batches are made full by
/// a long delay, or have a single caller.
/// </summary>
public sealed class InferenceBatcherTests
{
    private static readonly TimeSpan s_long = TimeSpan.FromSeconds(10);
    private static readonly TinyModel s_model = TinyModel.WithCard(cropSize: 16);

    private static InferenceEngine Engine(int maxBatch, TimeSpan delay, int queue = 64) => InferenceEngine.Load(s_model.Bytes, new InferenceOptions
    {
        ExecutionProvider = ExecutionProviderPreference.Cpu,
        IntraOpThreads = 1,
        MaxBatchSize = maxBatch,
        MaxBatchDelay = delay,
        QueueCapacity = queue,
    });

    private static readonly InferenceRequest s_withLogits = new(TopK: 3, IncludeLogits: true);

    private static Task<SubmitResult<float>> Submit(InferenceBatcher batcher, float value, CancellationToken cancellationToken = default) =>
        Task.Run(() => batcher.SubmitAsync(value, static (in float v, Span<float> slot) => { slot.Fill(v); return v; }, s_withLogits, cancellationToken), CancellationToken.None);

    private static void AssertOwnResult(SubmitResult<float> result)
    {
        InferenceEngineTests.AssertClose(s_model.ExpectedLogits(result.Written), result.Output.Logits);
        var best = Array.IndexOf(result.Output.Logits!, result.Output.Logits!.Max());
        Assert.Equal(best, result.Output.Predictions[0].Index);
        Assert.Equal(3, result.Output.Predictions.Count);
    }

    [Fact]
    public async Task Coalesces_concurrent_callers_into_one_run_and_gives_each_its_own_logits()
    {
        using var engine = Engine(maxBatch: 4, delay: s_long);
        await using var batcher = new InferenceBatcher(engine);
        var results = await Task.WhenAll(Submit(batcher, 1f), Submit(batcher, -2f), Submit(batcher, 3f), Submit(batcher, 0.25f));

        foreach (var result in results)
        {
            AssertOwnResult(result);
            Assert.Equal(4, result.Output.BatchSize);
        }

        var stats = batcher.Statistics;
        Assert.Equal(1, stats.Runs);
        Assert.Equal(4, stats.Images);
        Assert.Equal(1, stats.BatchSizes[4]);
    }

    [Fact]
    public async Task A_caller_answered_finds_its_image_already_counted_in_the_statistics()
    {
        // The batcher used to answer callers before it counted the run, so a caller (the load test's exactly-once check)
        // could read statistics that missed its own image. Every image asks for all 1000 classes, which makes answering
        // the later images of a batch slow enough for the first answered caller to look before the old code counted.
        using var engine = Engine(maxBatch: 8, delay: s_long);
        await using var batcher = new InferenceBatcher(engine);
        var everything = new InferenceRequest(TopK: InferenceEngine.ClassCount);
        for (int round = 1; round <= 10; round++)
        {
            var seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                await batcher.SubmitAsync(i, static (in int v, Span<float> slot) => { slot.Fill(v); return v; }, everything);
                return batcher.Statistics.Images;
            })));
            Assert.All(seen, images => Assert.Equal(8L * round, images));
        }
    }

    [Fact]
    public async Task A_lone_caller_does_not_wait_for_a_full_batch()
    {
        using var engine = Engine(maxBatch: 8, delay: TimeSpan.FromMilliseconds(2));
        await using var batcher = new InferenceBatcher(engine);
        var result = await Submit(batcher, 1.5f);
        AssertOwnResult(result);
        Assert.Equal(1, result.Output.BatchSize);
        Assert.Equal(1, result.Output.PaddedBatchSize); // no padding on CPU
        Assert.Equal(1, batcher.Statistics.BatchSizes[1]);
    }

    [Fact]
    public async Task A_failing_image_fails_only_its_caller_and_leaves_the_batch()
    {
        using var engine = Engine(maxBatch: 4, delay: s_long);
        await using var batcher = new InferenceBatcher(engine);
        var failing = Task.Run(() => batcher.SubmitAsync<int, int>(0, static (in int _, Span<float> _) => throw new FormatException("bad image")));
        var good = new[] { Submit(batcher, 1f), Submit(batcher, 2f), Submit(batcher, -1f) };

        await Assert.ThrowsAsync<FormatException>(() => failing);
        foreach (var result in await Task.WhenAll(good))
        {
            AssertOwnResult(result);
            Assert.Equal(3, result.Output.BatchSize); // the failed slot was taken out of the run
        }

        Assert.Equal(1, batcher.Statistics.Runs);
    }

    [Fact]
    public async Task A_caller_cancelled_while_queued_is_removed_from_the_run()
    {
        using var engine = Engine(maxBatch: 4, delay: s_long);
        await using var batcher = new InferenceBatcher(engine);
        using var cancel = new CancellationTokenSource();
        var first = Submit(batcher, 1f);
        var cancelled = Submit(batcher, 5f, cancel.Token);
        var third = Submit(batcher, 2f);
        // The batch cannot run before a fourth image arrives (10 s delay), so cancelling now is "before the run".
        await WaitUntil(() => batcher.InFlight == 3);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        var fourth = Submit(batcher, -3f);

        foreach (var result in await Task.WhenAll(first, third, fourth))
        {
            AssertOwnResult(result); // also proves the slots were moved correctly when the gap was closed
            Assert.Equal(3, result.Output.BatchSize);
        }

        Assert.Equal(1, batcher.Statistics.BatchSizes[3]);
    }

    [Fact]
    public async Task A_full_queue_pushes_back_on_callers()
    {
        using var engine = Engine(maxBatch: 2, delay: TimeSpan.FromMilliseconds(20), queue: 2);
        await using var batcher = new InferenceBatcher(engine);
        using var release = new ManualResetEventSlim();
        using var entered = new CountdownEvent(2);
        var state = (release, entered);
        Task<SubmitResult<int>> Blocked() => Task.Run(() => batcher.SubmitAsync(state, static (in (ManualResetEventSlim Release, CountdownEvent Entered) s, Span<float> slot) =>
        {
            s.Entered.Signal();
            s.Release.Wait();
            slot.Fill(1f);
            return 0;
        }));

        var blocked = new[] { Blocked(), Blocked() };
        entered.Wait(TimeSpan.FromSeconds(30));
        Assert.Equal(2, batcher.InFlight);

        // Fail-fast callers are told at once; waiting callers wait.
        await Assert.ThrowsAsync<InferenceQueueFullException>(() =>
            batcher.SubmitAsync(1f, static (in float v, Span<float> slot) => { slot.Fill(v); return v; }, new InferenceRequest(WaitWhenFull: false)));
        var waiting = Submit(batcher, 2f);
        using var giveUp = new CancellationTokenSource();
        var givingUp = Submit(batcher, 3f, giveUp.Token);
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => givingUp);

        release.Set();
        await Task.WhenAll(blocked);
        var result = await waiting;
        AssertOwnResult(result);
        Assert.Equal(0, batcher.InFlight);
    }

    [Fact]
    public async Task Many_callers_are_all_answered_with_their_own_image_in_batches_no_larger_than_the_maximum()
    {
        using var engine = Engine(maxBatch: 4, delay: TimeSpan.FromMilliseconds(1), queue: 6);
        await using var batcher = new InferenceBatcher(engine);
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Submit(batcher, (i % 7) - 3f)));
        foreach (var result in results)
        {
            AssertOwnResult(result);
            Assert.InRange(result.Output.BatchSize, 1, 4);
        }

        var stats = batcher.Statistics;
        Assert.Equal(40, stats.Images);
        Assert.Equal(40, stats.BatchSizes.Select((runs, size) => runs * size).Sum());
    }

    [Fact]
    public async Task Disposing_finishes_work_in_progress_and_refuses_new_work()
    {
        using var engine = Engine(maxBatch: 4, delay: s_long);
        var batcher = new InferenceBatcher(engine);
        var pending = Submit(batcher, 1f);
        await WaitUntil(() => batcher.InFlight == 1);
        await batcher.DisposeAsync();
        AssertOwnResult(await pending);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Submit(batcher, 1f));
    }

    [Fact]
    public async Task Disposing_while_callers_are_being_answered_gives_each_its_result_or_ObjectDisposedException_only()
    {
        // Results complete callers asynchronously, so callers still run their own epilogue after the consumer stopped;
        // disposal must not pull anything from under them (this raced once on CI).
        using var engine = Engine(maxBatch: 4, delay: TimeSpan.FromMilliseconds(1), queue: 8);
        for (var round = 0; round < 200; round++)
        {
            var batcher = new InferenceBatcher(engine);
            var callers = Enumerable.Range(0, 12).Select(i => Submit(batcher, i - 6f)).ToArray();
            await Task.Delay(round % 4);
            await batcher.DisposeAsync();
            foreach (var caller in callers)
            {
                try
                {
                    AssertOwnResult(await caller);
                }
                catch (ObjectDisposedException ex)
                {
                    Assert.Equal(typeof(InferenceBatcher).FullName, ex.ObjectName);
                }
            }
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 3000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
