using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ResNeSt.Inference.Runtime;

/// <summary>Which ONNX Runtime execution provider to ask for.</summary>
public enum ExecutionProviderPreference
{
    /// <summary>CUDA when it can be loaded, otherwise CPU (the reason is logged once).</summary>
    Auto,
    /// <summary>CUDA or a start-up failure: for GPU workers, where silently running on CPU would be a fault.</summary>
    Cuda,
    Cpu,
}

/// <summary>cuDNN convolution algorithm search (ORT's <c>cudnn_conv_algo_search</c>).</summary>
public enum CudnnConvAlgorithmSearch
{
    /// <summary>Benchmark every algorithm once per input shape: slowest first run, fastest afterwards.</summary>
    Exhaustive,
    Heuristic,
    Default,
}

/// <summary>Settings of the inference engine and its batcher; bound from configuration section <see cref="SectionName"/>.</summary>
public sealed class InferenceOptions : IValidatableObject
{
    public const string SectionName = "Inference";

    [EnumDataType(typeof(ExecutionProviderPreference), ErrorMessage = "ExecutionProvider must be auto, cuda or cpu.")]
    public ExecutionProviderPreference ExecutionProvider { get; set; } = ExecutionProviderPreference.Auto;

    [Range(0, 64)]
    public int CudaDeviceId { get; set; }

    [EnumDataType(typeof(CudnnConvAlgorithmSearch), ErrorMessage = "CudnnConvAlgorithmSearch must be exhaustive, heuristic or default.")]
    public CudnnConvAlgorithmSearch CudnnConvAlgorithmSearch { get; set; } = CudnnConvAlgorithmSearch.Exhaustive;

    /// <summary>Upper bound of the CUDA memory arena in bytes; 0 leaves ORT's default (no limit).</summary>
    [Range(0L, long.MaxValue)]
    public long GpuMemoryLimitBytes { get; set; }

    /// <summary>ORT intra-op threads on CPU; 0 = one per core.</summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ORT's CPU worker threads spin while waiting for work. Off by default: spinning threads burn the
    /// cores that the callers need to decode the next batch, and a batch of convolutions is long enough that the
    /// wake-up latency of sleeping workers does not show.
    /// </summary>
    public bool CpuThreadSpinning { get; set; }

    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>How long the batcher waits for a batch to fill after its first image is ready.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Images admitted (reserved, queued or running) at once; further callers wait.</summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 64;

    /// <summary>
    /// Batch sizes the CUDA provider sees; a batch is padded up to the next one so that cuDNN tunes a few shapes
    /// once instead of every size from 1 to <see cref="MaxBatchSize"/>. Unused on CPU, where padding only costs.
    /// </summary>
    [MinLength(1)]
    public IList<int> CudaPaddedBatchSizes { get; set; } = [1, 2, 4, 8, 16, 32];

    /// <summary>Run each padded batch size once at start-up so that the first callers do not pay for tuning.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem; for callers without DI.</summary>
    public void Validate()
    {
        var result = new InferenceOptionsValidator().Validate(null, this);
        if (result.Failed)
        {
            throw new OptionsValidationException(SectionName, typeof(InferenceOptions), result.Failures);
        }
    }

    /// <summary>The rules that relate several settings (the single ones are attributes).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (CudaPaddedBatchSizes.Any(s => s < 1))
        {
            yield return new ValidationResult("CudaPaddedBatchSizes must all be positive.", [nameof(CudaPaddedBatchSizes)]);
        }
        else if (CudaPaddedBatchSizes.Count > 0 && CudaPaddedBatchSizes.Max() < MaxBatchSize)
        {
            yield return new ValidationResult($"CudaPaddedBatchSizes must include a size of at least MaxBatchSize ({MaxBatchSize}).", [nameof(CudaPaddedBatchSizes)]);
        }

        if (QueueCapacity < MaxBatchSize)
        {
            yield return new ValidationResult($"QueueCapacity must be at least MaxBatchSize ({MaxBatchSize}), or no batch could ever fill.", [nameof(QueueCapacity)]);
        }
    }

    /// <summary>The padded size for a batch of <paramref name="count"/> images on CUDA.</summary>
    internal int PaddedBatchSize(int count)
    {
        var best = int.MaxValue;
        foreach (var size in CudaPaddedBatchSizes)
        {
            if (size >= count && size < best)
            {
                best = size;
            }
        }

        return best == int.MaxValue ? count : best;
    }
}

/// <summary>The rules of <see cref="InferenceOptions"/> (attributes and <c>Validate</c>), checked by generated code, without reflection.</summary>
[OptionsValidator]
public sealed partial class InferenceOptionsValidator : IValidateOptions<InferenceOptions>;
