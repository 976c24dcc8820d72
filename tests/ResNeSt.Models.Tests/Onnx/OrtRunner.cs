using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using ResNeSt.Models.Onnx;

namespace ResNeSt.Models.Tests.Onnx;

/// <summary>Runs built models in ONNX Runtime's CPU provider.</summary>
internal sealed class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;

    public OrtRunner(ModelProto model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 };
        _session = new InferenceSession(ModelWriter.ToBytes(model), options);
    }

    public InferenceSession Session => _session;

    /// <summary>Runs a batch and returns logits as [batch][class].</summary>
    public float[][] Run(float[] input, int batch, int crop)
    {
        var tensor = new DenseTensor<float>(input, [batch, 3, crop, crop]);
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        var output = results.Single(r => r.Name == "logits").AsTensor<float>();
        Assert.Equal([batch, 1000], output.Dimensions.ToArray());
        var logits = new float[batch][];
        for (int n = 0; n < batch; n++)
        {
            logits[n] = new float[1000];
            for (int c = 0; c < 1000; c++)
            {
                logits[n][c] = output[n, c];
            }
        }

        return logits;
    }

    /// <summary>Deterministic inputs of ImageNet-normalised scale: a smooth pattern plus noise, different per image.</summary>
    public static float[] Images(int batch, int crop, int seed)
    {
        var random = new Random(seed);
        var data = new float[batch * 3 * crop * crop];
        for (int n = 0; n < batch; n++)
        {
            double fx = 1 + random.Next(6), fy = 1 + random.Next(6), phase = random.NextDouble() * 6;
            for (int c = 0; c < 3; c++)
            {
                for (int y = 0; y < crop; y++)
                {
                    for (int x = 0; x < crop; x++)
                    {
                        double pattern = Math.Sin((fx * x / crop * Math.PI * 2) + phase + c) * Math.Cos(fy * y / crop * Math.PI * 2);
                        data[(((n * 3) + c) * crop * crop) + (y * crop) + x] = (float)((1.2 * pattern) + (0.5 * ((random.NextDouble() * 2) - 1)));
                    }
                }
            }
        }

        return data;
    }

    public void Dispose() => _session.Dispose();
}
