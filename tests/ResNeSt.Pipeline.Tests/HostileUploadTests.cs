using Azure.Data.Tables;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.TestSupport;
using ResNeSt.Testing.Hostile;
using ResNeSt.Testing.Samples;
using Xunit.Abstractions;

namespace ResNeSt.Pipeline.Tests;

/// <summary>
/// The hostile corpus uploaded to the images container next to valid photos and run through the blob-trigger service,
/// all mixed in one concurrent run: each hostile blob ends as exactly one result (failed with its reason, or classified
/// where its class allows), no exception escapes, and the valid photos in the same batches are still classified.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class HostileUploadTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_hostile_upload_ends_as_one_result_with_its_reason_and_valid_uploads_still_classify()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var corpus = HostileCorpus.Generate(SampleImages.FindDirectory());
        var valid = SampleImages.Variants(SampleImages.FindDirectory(), 24, seed: 5);
        output.WriteLine($"generated in {clock.Elapsed.TotalSeconds:F1} s");
        await using var harness = await PipelineHarness.StartAsync(azurite);
        output.WriteLine($"started in {clock.Elapsed.TotalSeconds:F1} s");

        var expected = new Dictionary<string, HostileFile?>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(corpus, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (file, _) =>
            await harness.UploadAsync("hostile/" + file.Name, file.Content));
        await Parallel.ForEachAsync(valid, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (image, _) =>
            await harness.UploadAsync("valid/" + image.Name, image.Content));
        foreach (var file in corpus)
        {
            expected["hostile/" + file.Name] = file;
        }

        foreach (var (name, _) in valid)
        {
            expected["valid/" + name] = null;
        }

        output.WriteLine($"uploaded in {clock.Elapsed.TotalSeconds:F1} s");
        // One shuffled, concurrent run, as uploads arrive: valid photos share batches with hostile files.
        var names = expected.Keys.ToArray();
        new Random(11).Shuffle(names);
        var escaped = new System.Collections.Concurrent.ConcurrentBag<string>();
        var outcomes = new System.Collections.Concurrent.ConcurrentDictionary<string, ProcessingOutcome>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (name, ct) =>
        {
            try
            {
                outcomes[name] = await harness.Pipeline.ProcessAsync(harness.Images.GetBlobClient(name), "hostile-" + name, ct);
            }
#pragma warning disable CA1031 // any exception out of the service is the finding; collect them all with the blob's name
            catch (Exception ex)
#pragma warning restore CA1031
            {
                escaped.Add($"{name}: {ex.GetType().Name}: {ex.Message}");
            }
        });
        output.WriteLine($"processed in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(escaped.IsEmpty, string.Join(Environment.NewLine, escaped));

        var rows = new List<ResultEntity>();
        await foreach (var row in harness.Storage.Results.QueryAsync<ResultEntity>())
        {
            rows.Add(row);
        }

        var problems = new List<string>();
        var byBlob = rows.GroupBy(r => r.BlobName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, file) in expected)
        {
            if (!byBlob.TryGetValue(name, out var results) || results.Count != 1)
            {
                problems.Add($"{name}: {byBlob.GetValueOrDefault(name)?.Count ?? 0} result rows");
                continue;
            }

            var result = results[0];
            var outcome = outcomes[name];
            if (outcome.Kind == OutcomeKind.Skipped)
            {
                problems.Add($"{name}: skipped ({outcome.Detail})");
            }

            if (file is null)
            {
                if (result.Status != ResultStatus.Succeeded)
                {
                    problems.Add($"{name} (valid): {result.Status} {result.ErrorCode} {result.ErrorMessage}");
                }

                continue;
            }

            tally[$"{file.Class} → {(result.Status == ResultStatus.Failed ? result.ErrorCode : result.Status)}"] =
                tally.GetValueOrDefault($"{file.Class} → {(result.Status == ResultStatus.Failed ? result.ErrorCode : result.Status)}") + 1;
            switch (result.Status)
            {
                case ResultStatus.Succeeded when !file.Expected.MayClassify:
                    problems.Add($"{name}: classified, expected {file.Expected}");
                    break;
                case ResultStatus.Failed when !file.Expected.Reasons.Any(r => ImageRejectedException.ReasonCode(r) == result.ErrorCode):
                    problems.Add($"{name}: failed as {result.ErrorCode} ({result.ErrorMessage}), expected {file.Expected}");
                    break;
                case ResultStatus.Failed when string.IsNullOrWhiteSpace(result.ErrorMessage):
                    problems.Add($"{name}: failed without a message");
                    break;
                case not (ResultStatus.Succeeded or ResultStatus.Failed):
                    problems.Add($"{name}: left as {result.Status}");
                    break;
            }
        }

        output.WriteLine(string.Join(Environment.NewLine, tally.Select(t => $"{t.Key}: {t.Value}")));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.Equal(expected.Count, rows.Count);

        // One label-index row per classified blob, and the engine saw each non-empty blob exactly once.
        int indexRows = 0;
        await foreach (var _ in harness.Storage.LabelIndex.QueryAsync<TableEntity>(select: ["PartitionKey"]))
        {
            indexRows++;
        }

        Assert.Equal(rows.Count(r => r.Status == ResultStatus.Succeeded), indexRows);
        Assert.Equal(corpus.Count(f => f.Content.Length > 0) + valid.Count, harness.Inferences);
    }
}
