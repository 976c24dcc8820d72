using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace ResNeSt.DevTool.LoadTest;

/// <summary>What <c>resnest-dev load-test</c> runs.</summary>
/// <param name="Images">Uploads in total, hostile ones included.</param>
/// <param name="HostileFraction">Share of the uploads taken from the hostile corpus (files that must be refused).</param>
/// <param name="Concurrency">Concurrent blob-trigger invocations (and concurrent uploads).</param>
/// <param name="Duplicates">Deliveries of each BlobCreated event (Event Grid delivers at least once).</param>
/// <param name="TimeLimit">The whole run (uploads, deliveries, checks) is stopped after this.</param>
/// <param name="ModelPath">The ONNX model; null: a reduced ResNeSt with seeded random weights, written for the run.</param>
/// <param name="SamplesDirectory">Sample photos the uploads and the hostile files are derived from.</param>
/// <param name="Seed">Seeds the image variants, the hostile picks and the delivery schedule.</param>
internal sealed record LoadTestOptions(
    int Images,
    double HostileFraction,
    int Concurrency,
    int Duplicates,
    TimeSpan TimeLimit,
    string? ModelPath,
    string SamplesDirectory,
    int Seed,
    int MaxBatchSize) : IValidatableObject
{
    /// <summary>
    /// The command's usage errors, worded with the flags the user typed. Here and not as [Range]: the generated validator
    /// ignores a [Range]'s ErrorMessage (dotnet/runtime#123137), and these lines are what <c>load-test</c> prints.
    /// Reported without member names, so that each failure is the bare sentence.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Images is < 1 or > 1_000_000)
        {
            yield return new ValidationResult("--count must be between 1 and 1000000.");
        }

        if (HostileFraction is < 0 or > 1 || double.IsNaN(HostileFraction))
        {
            yield return new ValidationResult("--hostile-fraction must be between 0 and 1.");
        }

        if (Concurrency is < 1 or > 256)
        {
            yield return new ValidationResult("--concurrency must be between 1 and 256.");
        }

        if (Duplicates is < 1 or > 10)
        {
            yield return new ValidationResult("--duplicates must be between 1 and 10.");
        }

        if (TimeLimit <= TimeSpan.Zero)
        {
            yield return new ValidationResult("--seconds must be positive.");
        }

        if (MaxBatchSize is < 1 or > 256)
        {
            yield return new ValidationResult("--batch-size must be between 1 and 256.");
        }
    }
}

/// <summary>The rules of <see cref="LoadTestOptions"/> (the command's usage errors), checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class LoadTestOptionsValidator : IValidateOptions<LoadTestOptions>;

/// <summary>
/// The JSON summary <c>resnest-dev load-test</c> prints; <see cref="Passed"/> decides the exit code. Latencies: from an
/// upload's completion to its result being stored (queueing behind the backlog included), from each event's emission
/// to its delivery's end, and of each invocation alone (the function body, <c>ProcessAsync</c>).
/// <see cref="ImagesPerSecond"/> counts blobs with a final result over the wall time from the first upload to the last
/// delivery's end (uploads overlap processing, as they do in production).
/// </summary>
internal sealed record LoadTestSummary(
    bool Passed,
    IReadOnlyList<string> Problems,
    string Model,
    string ExecutionProvider,
    int Uploaded,
    int Hostile,
    int Deliveries,
    int Concurrency,
    int DeliveriesPerEvent,
    int Succeeded,
    int Failed,
    IReadOnlyDictionary<string, int> FailedByReason,
    int Lost,
    int DuplicateResults,
    int DuplicatedInferences,
    long ClassifierCalls,
    long OnnxImages,
    long OnnxRuns,
    double MeanBatchSize,
    IReadOnlyDictionary<string, int> DeliveryOutcomes,
    int Retries,
    double UploadSeconds,
    double WallSeconds,
    double ImagesPerSecond,
    double LatencyP50Ms,
    double LatencyP95Ms,
    double LatencyP99Ms,
    double DeliveryP95Ms,
    double InvocationP50Ms,
    double InvocationP95Ms,
    double PeakWorkingSetMb,
    bool TimedOut);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(LoadTestSummary))]
internal sealed partial class LoadTestJsonContext : JsonSerializerContext;
