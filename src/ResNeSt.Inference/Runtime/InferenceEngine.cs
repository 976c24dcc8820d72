using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ResNeSt.Inference.Diagnostics;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Runtime;

/// <summary>
/// One ONNX Runtime session for one model: loaded and verified once, warmed up, then shared by every caller
/// (<see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue})"/> is thread-safe).
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    public const string CudaProviderName = "CUDAExecutionProvider";
    public const string CpuProviderName = "CPUExecutionProvider";
    public const int ClassCount = 1000;

    private readonly InferenceSession _session;
    private readonly int? _fixedBatch;

    private InferenceEngine(InferenceSession session, ModelCard card, string sha256, string provider, int? fixedBatch, InferenceOptions options)
    {
        _session = session;
        Card = card;
        ModelSha256 = sha256;
        ExecutionProvider = provider;
        _fixedBatch = fixedBatch;
        Options = options;
        MaxBatchSize = Math.Min(options.MaxBatchSize, fixedBatch ?? int.MaxValue);
        ImageElements = 3 * card.CropSize * card.CropSize;
    }

    /// <summary>The model's card: from its metadata, or ImageNet defaults when a crop size was given for a model without one.</summary>
    public ModelCard Card { get; }

    /// <summary>Lower-case hex SHA-256 of the model file's bytes.</summary>
    public string ModelSha256 { get; }

    /// <summary><see cref="CudaProviderName"/> or <see cref="CpuProviderName"/>: the provider actually in use.</summary>
    public string ExecutionProvider { get; }

    public bool IsCuda => ExecutionProvider == CudaProviderName;

    public InferenceOptions Options { get; }

    /// <summary>The largest number of images in one run: the option, limited by a model with a fixed batch dimension.</summary>
    public int MaxBatchSize { get; }

    /// <summary>Floats per image in the input tensor (3·S·S).</summary>
    public int ImageElements { get; }

    /// <summary>The batch size a run of <paramref name="count"/> images is padded to.</summary>
    public int PaddedBatchSize(int count) => _fixedBatch ?? (IsCuda ? Options.PaddedBatchSize(count) : count);

    public static InferenceEngine Load(string modelPath, InferenceOptions options, ModelLoadOptions? load = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(modelPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelContractException($"Cannot read model file '{modelPath}': {ex.Message}", ex);
        }

        return Load(bytes, options, load, logger);
    }

    /// <summary>Loads from a stream (e.g. a blob download); the whole model is read because ORT parses it from memory.</summary>
    public static async Task<InferenceEngine> LoadAsync(Stream modelStream, InferenceOptions options, ModelLoadOptions? load = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelStream);
        byte[] bytes;
        if (modelStream.CanSeek)
        {
            bytes = new byte[checked((int)(modelStream.Length - modelStream.Position))];
            await modelStream.ReadExactlyAsync(bytes, cancellationToken);
        }
        else
        {
            using var copy = new MemoryStream();
            await modelStream.CopyToAsync(copy, cancellationToken);
            bytes = copy.ToArray();
        }

        return Load(bytes, options, load, logger);
    }

    public static InferenceEngine Load(byte[] modelBytes, InferenceOptions options, ModelLoadOptions? load = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(modelBytes);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        load ??= ModelLoadOptions.None;
        logger ??= NullLogger.Instance;
        var started = Stopwatch.GetTimestamp();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(modelBytes));

        var (session, provider) = CreateSession(modelBytes, options, logger);
        try
        {
            // The card first: a model exported by another tool lacks it and has other I/O names, and what its owner
            // needs to hear is the one command that fixes both.
            var card = ReadCard(session, load, logger);
            var (fixedBatch, inputSide) = VerifyContract(session);
            if (inputSide is { } side && side != card.CropSize)
            {
                throw new ModelContractException($"The model's input is {side}×{side} but its card says crop {card.CropSize}.");
            }

            if (fixedBatch is { } fixedSize)
            {
                RuntimeLog.FixedBatch(logger, fixedSize);
            }

            var engine = new InferenceEngine(session, card, sha256, provider, fixedBatch, options);
            if (options.WarmUp)
            {
                engine.WarmUp(logger);
            }

            var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            InferenceTelemetry.ModelLoad.Record(
                elapsedMs / 1000,
                new KeyValuePair<string, object?>(InferenceTelemetry.VariantTag, card.Variant),
                new KeyValuePair<string, object?>(InferenceTelemetry.ProviderTag, provider));
            RuntimeLog.ModelLoaded(logger, card.Variant, sha256, provider, card.CropSize, card.Recipe, engine.MaxBatchSize, elapsedMs);
            return engine;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>A batch buffer sized for the largest padded batch of this engine. Callers own it and dispose it.</summary>
    public TensorBatch CreateBatch() => new(this, PaddedBatchSize(MaxBatchSize));

    /// <summary>
    /// Runs the first <paramref name="count"/> images of <paramref name="batch"/> (padded as configured); their logits
    /// land in <see cref="TensorBatch.Logits(int)"/>. Padding slots hold whatever they held before: their outputs are never read.
    /// </summary>
    public void Run(TensorBatch batch, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxBatchSize);
        var padded = PaddedBatchSize(count);
        var (inputs, outputs) = batch.ValuesFor(padded);
        _session.Run(batch.RunOptions, s_inputNames, inputs, s_outputNames, outputs);
    }

    public void Dispose() => _session.Dispose();

    private static readonly string[] s_inputNames = [ModelCard.InputName];
    private static readonly string[] s_outputNames = [ModelCard.OutputName];

    internal OrtValue CreateInputValue(float[] buffer, int batchSize) =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, batchSize * ImageElements),
            [batchSize, 3, Card.CropSize, Card.CropSize]);

    internal static OrtValue CreateOutputValue(float[] buffer, int batchSize) =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, batchSize * ClassCount), [batchSize, ClassCount]);

    private void WarmUp(ILogger logger)
    {
        // On CUDA every padded size is a separate cuDNN tuning; do them all now rather than in the first requests.
        // On CPU the first run prepacks weights whatever the batch size, so one image is enough.
        var sizes = IsCuda
            ? Options.CudaPaddedBatchSizes.Select(PaddedBatchSize).Where(s => s <= PaddedBatchSize(MaxBatchSize)).Distinct().Order().ToArray()
            : [PaddedBatchSize(1)];
        using var batch = CreateBatch();
        foreach (var size in sizes)
        {
            var started = Stopwatch.GetTimestamp();
            var (inputs, outputs) = batch.ValuesFor(size);
            _session.Run(batch.RunOptions, s_inputNames, inputs, s_outputNames, outputs);
            var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            RuntimeLog.WarmedUp(logger, size, elapsedMs);
        }
    }

    private static (InferenceSession Session, string Provider) CreateSession(byte[] model, InferenceOptions options, ILogger logger)
    {
        if (options.ExecutionProvider != ExecutionProviderPreference.Cpu)
        {
            var demanded = options.ExecutionProvider == ExecutionProviderPreference.Cuda;
            SessionOptions? cudaOptions = null;
            try
            {
                Diagnostics.CudaDriverCheck.Ensure(Diagnostics.CudaDriver.Probe(), logger);
                cudaOptions = CreateSessionOptions(options, withCuda: true);
                return (new InferenceSession(model, cudaOptions), CudaProviderName);
            }
            catch (Exception ex) when (IsProviderFailure(ex))
            {
                if (demanded)
                {
                    throw new ExecutionProviderUnavailableException(
                        $"The CUDA execution provider was requested but cannot be used: {FirstLine(ex.Message)} "
                        + "(it needs an NVIDIA driver, CUDA 13 and cuDNN 9 libraries on the library path).", ex);
                }

                var reason = ShortProviderFailure(ex.Message);
                RuntimeLog.CudaUnavailable(logger, reason);
                RuntimeLog.CudaUnavailableDetail(logger, ex.Message);
            }
            finally
            {
                cudaOptions?.Dispose();
            }
        }

        using var cpuOptions = CreateSessionOptions(options, withCuda: false);
        try
        {
            return (new InferenceSession(model, cpuOptions), CpuProviderName);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelContractException($"ONNX Runtime cannot load the model: {FirstLine(ex.Message)}", ex);
        }
    }

    /// <summary>
    /// The gist of ONNX Runtime's provider failure: "libcublasLt.so.13 not found" out of the 480 characters of
    /// "[ErrorCode:Fail] /onnxruntime_src/... Failed to load library ... with error: libcublasLt.so.13: cannot open shared object file".
    /// </summary>
    internal static string ShortProviderFailure(string message)
    {
        var line = FirstLine(message);
        const string marker = "with error: ";
        var at = line.LastIndexOf(marker, StringComparison.Ordinal);
        if (at >= 0)
        {
            var detail = line[(at + marker.Length)..];
            var library = detail.Split(':')[0].Trim();
            return detail.Contains("cannot open shared object file", StringComparison.Ordinal) ? $"{library} not found" : Truncate(detail);
        }

        return Truncate(line);

        static string Truncate(string text) => text.Length <= 120 ? text : $"{text[..117]}...";
    }

    private static bool IsProviderFailure(Exception ex) =>
        ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or CudaDriverUnsuitableException;

    private static SessionOptions CreateSessionOptions(InferenceOptions options, bool withCuda)
    {
        var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
        };
        try
        {
            so.AddSessionConfigEntry("session.intra_op.allow_spinning", options.CpuThreadSpinning ? "1" : "0");
            so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            if (withCuda)
            {
                using var cuda = new OrtCUDAProviderOptions();
                var settings = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["device_id"] = options.CudaDeviceId.ToString(CultureInfo.InvariantCulture),
                    ["cudnn_conv_algo_search"] = options.CudnnConvAlgorithmSearch.ToString().ToUpperInvariant(),
                    // Copies on the compute stream keep host→device input copies ordered with the kernels that read them.
                    ["do_copy_in_default_stream"] = "1",
                };
                if (options.GpuMemoryLimitBytes > 0)
                {
                    settings["gpu_mem_limit"] = options.GpuMemoryLimitBytes.ToString(CultureInfo.InvariantCulture);
                    // Growing by exactly what is asked keeps a limited arena from failing on a doubling step.
                    settings["arena_extend_strategy"] = "kSameAsRequested";
                }

                cuda.UpdateOptions(settings);
                so.AppendExecutionProvider_CUDA(cuda);
            }

            return so;
        }
        catch
        {
            so.Dispose();
            throw;
        }
    }

    /// <summary>The command that gives a model exported by another tool the card and the I/O names this engine needs.</summary>
    public const string AnnotateCommand = "resnest annotate MODEL.onnx --variant NAME -o OUT.onnx";

    private const string RenameHint = " ('resnest annotate' renames a PyTorch export's input and output to these.)";

    /// <summary>Checks input <c>input</c> float [N,3,S,S] and output <c>logits</c> float [N,1000]; returns a fixed batch size and side if the model has them.</summary>
    private static (int? FixedBatch, int? Side) VerifyContract(InferenceSession session)
    {
        if (session.InputMetadata.Count != 1 || !session.InputMetadata.TryGetValue(ModelCard.InputName, out var input))
        {
            throw new ModelContractException(
                $"The model must have exactly one input named '{ModelCard.InputName}'; it has: {string.Join(", ", session.InputMetadata.Keys.Select(k => $"'{k}'"))}.{RenameHint}");
        }

        if (!session.OutputMetadata.TryGetValue(ModelCard.OutputName, out var output))
        {
            throw new ModelContractException(
                $"The model has no output named '{ModelCard.OutputName}'; it has: {string.Join(", ", session.OutputMetadata.Keys.Select(k => $"'{k}'"))}.{RenameHint}");
        }

        RequireFloatTensor(ModelCard.InputName, input, rank: 4);
        RequireFloatTensor(ModelCard.OutputName, output, rank: 2);
        var inDims = input.Dimensions;
        var outDims = output.Dimensions;
        if (inDims[1] != 3)
        {
            throw new ModelContractException($"Input '{ModelCard.InputName}' must have 3 channels (NCHW RGB); its shape is {FormatShape(input)}.");
        }

        if (inDims[2] != inDims[3] && inDims[2] > 0 && inDims[3] > 0)
        {
            throw new ModelContractException($"Input '{ModelCard.InputName}' must be square; its shape is {FormatShape(input)}.");
        }

        if (outDims[1] != ClassCount)
        {
            throw new ModelContractException($"Output '{ModelCard.OutputName}' must be [N,{ClassCount}]; its shape is {FormatShape(output)}.");
        }

        int? fixedBatch = inDims[0] > 0 ? inDims[0] : null;
        if (outDims[0] > 0 && outDims[0] != (fixedBatch ?? outDims[0]))
        {
            throw new ModelContractException($"Input and output batch dimensions disagree: {FormatShape(input)} vs {FormatShape(output)}.");
        }

        return (fixedBatch, inDims[2] > 0 ? inDims[2] : null);
    }

    private static void RequireFloatTensor(string name, NodeMetadata node, int rank)
    {
        if (node.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR || node.ElementDataType != TensorElementType.Float)
        {
            throw new ModelContractException($"'{name}' must be a float32 tensor (fp16 models keep float32 inputs and outputs); it is {node.OnnxValueType} of {node.ElementDataType}.");
        }

        if (node.Dimensions.Length != rank)
        {
            throw new ModelContractException($"'{name}' must have rank {rank}; its shape is {FormatShape(node)}.");
        }
    }

    private static string FormatShape(NodeMetadata node) =>
        "[" + string.Join(",", node.Dimensions.Select((d, i) => d > 0 ? d.ToString(CultureInfo.InvariantCulture)
            : string.IsNullOrEmpty(node.SymbolicDimensions[i]) ? "?" : node.SymbolicDimensions[i])) + "]";

    private static ModelCard ReadCard(InferenceSession session, ModelLoadOptions load, ILogger logger)
    {
        var metadata = session.ModelMetadata.CustomMetadataMap;
        ModelCard card;
        if (metadata.Keys.Any(k => k.StartsWith("resnest.", StringComparison.Ordinal)))
        {
            try
            {
                card = ModelCard.FromMetadata(metadata);
            }
            catch (InvalidModelCardException ex)
            {
                throw new ModelContractException($"The model's ResNeSt metadata is unusable: {ex.Message}", ex);
            }

            if (load.CropSize is { } crop && crop != card.CropSize)
            {
                card = card with { CropSize = crop, ResizeSize = ModelCard.ConventionalResize(crop) };
            }
        }
        else if (load.CropSize is { } crop)
        {
            RuntimeLog.NoMetadata(logger, crop);
            var name = string.IsNullOrWhiteSpace(session.ModelMetadata.GraphName) ? "unknown" : session.ModelMetadata.GraphName;
            card = ModelCard.ForImageNet(name, crop);
        }
        else
        {
            throw new ModelContractException(
                "The model carries no ResNeSt model card (resnest.* metadata), so its crop size, preprocessing and labels are unknown. "
                + $"Write one into it with '{AnnotateCommand}' (docs/models.md, \"Bring your own model\"); "
                + "the resnest CLI also accepts --crop to assume ImageNet defaults.");
        }

        if (load.Recipe is { } recipe)
        {
            card = card with { Recipe = recipe };
        }

        if (card.ClassNames.Count != ClassCount)
        {
            throw new ModelContractException($"The model card lists {card.ClassNames.Count} class names; the output has {ClassCount}.");
        }

        return card;
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? message : message[..end]).Trim();
    }
}
