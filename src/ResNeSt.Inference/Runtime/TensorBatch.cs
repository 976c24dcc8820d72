using Microsoft.ML.OnnxRuntime;

namespace ResNeSt.Inference.Runtime;

/// <summary>
/// A reusable input and output tensor pair for one batch. The arrays live on the pinned object heap so that ORT reads
/// the input and writes the logits in place; the OrtValues for each batch size are created once and kept, so a run
/// allocates nothing.
/// </summary>
public sealed class TensorBatch : IDisposable
{
    private readonly InferenceEngine _engine;
    private readonly float[] _input;
    private readonly float[] _output;
    private readonly OrtValue[]?[] _inputs;
    private readonly OrtValue[]?[] _outputs;

    internal TensorBatch(InferenceEngine engine, int capacity)
    {
        _engine = engine;
        Capacity = capacity;
        _input = GC.AllocateArray<float>(capacity * engine.ImageElements, pinned: true);
        _output = GC.AllocateArray<float>(capacity * InferenceEngine.ClassCount, pinned: true);
        _inputs = new OrtValue[capacity + 1][];
        _outputs = new OrtValue[capacity + 1][];
        RunOptions = new RunOptions();
    }

    /// <summary>Images this batch can hold, padding included.</summary>
    public int Capacity { get; }

    internal RunOptions RunOptions { get; }

    /// <summary>The NCHW float32 memory of image <paramref name="index"/>: write the preprocessed image here.</summary>
    public Span<float> Slot(int index) => _input.AsSpan(CheckIndex(index) * _engine.ImageElements, _engine.ImageElements);

    /// <summary>The logits of image <paramref name="index"/> after a run.</summary>
    public ReadOnlySpan<float> Logits(int index) => _output.AsSpan(CheckIndex(index) * InferenceEngine.ClassCount, InferenceEngine.ClassCount);

    /// <summary>Moves image <paramref name="from"/> into slot <paramref name="to"/> (to close the gap a cancelled image leaves).</summary>
    internal void MoveSlot(int from, int to) => Slot(from).CopyTo(Slot(to));

    internal (OrtValue[] Inputs, OrtValue[] Outputs) ValuesFor(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, Capacity);
        var inputs = _inputs[batchSize] ??= [_engine.CreateInputValue(_input, batchSize)];
        var outputs = _outputs[batchSize] ??= [InferenceEngine.CreateOutputValue(_output, batchSize)];
        return (inputs, outputs);
    }

    public void Dispose()
    {
        foreach (var values in _inputs.Concat(_outputs))
        {
            values?[0].Dispose();
        }

        RunOptions.Dispose();
    }

    private int CheckIndex(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Capacity);
        return index;
    }
}
