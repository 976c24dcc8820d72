using System.Security.Cryptography;
using System.Text.Json;

namespace ResNeSt.TestSupport;

/// <summary>
/// A checkpoint committed as a recipe instead of its .pth (tools/make-torch-parity-fixture.sh describes the format):
/// a JSON list of tensors and a blob holding one small base storage, which the float16 tensors are strided views of,
/// and the bytes of every other tensor.
/// </summary>
public sealed class CheckpointRecipe
{
    public const string Format = "resnest-checkpoint-recipe/1";

    private CheckpointRecipe(string baseDType, int baseElements, IReadOnlyList<RecipeTensor> tensors, byte[] blob, string contentSha256)
    {
        BaseDType = baseDType;
        BaseElements = baseElements;
        Tensors = tensors;
        Blob = blob;
        ContentSha256 = contentSha256;
    }

    public string BaseDType { get; }

    public int BaseElements { get; }

    /// <summary>In state_dict order.</summary>
    public IReadOnlyList<RecipeTensor> Tensors { get; }

    /// <summary>The base storage from byte 0, then the other tensors' bytes.</summary>
    public byte[] Blob { get; }

    /// <summary>SHA-256 (hex) of the JSON and the blob together: what names an expansion of this recipe.</summary>
    public string ContentSha256 { get; }

    /// <summary>Bytes per element of a recipe dtype.</summary>
    public static int ElementSize(string dtype) => dtype switch
    {
        "float16" => 2,
        "float32" => 4,
        "float64" or "int64" => 8,
        _ => throw new InvalidDataException($"unknown recipe dtype '{dtype}'"),
    };

    public static async Task<CheckpointRecipe> LoadAsync(string jsonPath, CancellationToken cancellationToken = default)
    {
        byte[] json = await File.ReadAllBytesAsync(jsonPath, cancellationToken);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        string format = root.GetProperty("format").GetString()!;
        if (format != Format)
        {
            throw new InvalidDataException($"{jsonPath}: format '{format}', expected '{Format}'");
        }

        string blobPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!, root.GetProperty("blob").GetString()!);
        byte[] blob = await File.ReadAllBytesAsync(blobPath, cancellationToken);
        // The JSON's offsets mean nothing against another blob (a regenerated .bin committed without its .json).
        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(blob)), root.GetProperty("blobSha256").GetString(), StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{blobPath} is not the blob {jsonPath} was written with (SHA-256 differs)");
        }

        var tensors = root.GetProperty("tensors").EnumerateArray().Select(t =>
        {
            int[] shape = t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            if (t.TryGetProperty("view", out var view))
            {
                int[] strides = view.GetProperty("strides").EnumerateArray().Select(s => s.GetInt32()).ToArray();
                return new RecipeTensor(t.GetProperty("key").GetString()!, t.GetProperty("dtype").GetString()!, shape, view.GetProperty("offset").GetInt32(), strides, 0, 0);
            }

            var bytes = t.GetProperty("bytes");
            return new RecipeTensor(t.GetProperty("key").GetString()!, t.GetProperty("dtype").GetString()!, shape, 0, null, bytes[0].GetInt32(), bytes[1].GetInt32());
        }).ToList();

        var baseStorage = root.GetProperty("base");
        string contentSha256 = Convert.ToHexStringLower(SHA256.HashData([.. json, .. blob]));
        var recipe = new CheckpointRecipe(baseStorage.GetProperty("dtype").GetString()!, baseStorage.GetProperty("elements").GetInt32(), tensors, blob, contentSha256);
        recipe.Check(jsonPath);
        return recipe;
    }

    /// <summary>The tensor's values, contiguous (row-major), as the bytes of a storage of its own.</summary>
    public byte[] StorageBytes(RecipeTensor tensor)
    {
        if (tensor.ViewStrides is null)
        {
            return Blob.AsSpan(tensor.ByteStart, tensor.ByteLength).ToArray();
        }

        int size = ElementSize(tensor.DType);
        var storage = new byte[tensor.ElementCount * size];
        var shape = tensor.Shape;
        var strides = tensor.ViewStrides;
        var index = new int[shape.Count];
        int source = tensor.ViewOffset;
        for (int i = 0; i < tensor.ElementCount; i++)
        {
            Blob.AsSpan(source * size, size).CopyTo(storage.AsSpan(i * size));
            // Odometer over the shape, last axis fastest; `source` follows the strides.
            for (int axis = shape.Count - 1; axis >= 0; axis--)
            {
                source += strides[axis];
                if (++index[axis] < shape[axis])
                {
                    break;
                }

                source -= strides[axis] * shape[axis];
                index[axis] = 0;
            }
        }

        return storage;
    }

    private void Check(string jsonPath)
    {
        int baseBytes = BaseElements * ElementSize(BaseDType);
        foreach (var t in Tensors)
        {
            long extent = t.ViewStrides is { } strides
                ? (t.ViewOffset + t.Shape.Select((d, axis) => (long)(d - 1) * strides[axis]).Sum() + 1) * ElementSize(t.DType)
                : t.ByteStart + (long)t.ByteLength;
            bool fits = t.ViewStrides is { } s
                ? t.DType == BaseDType && s.Count == t.Shape.Count && t.ViewOffset >= 0 && extent <= baseBytes
                : t.ByteStart >= baseBytes && t.ByteLength == (long)t.ElementCount * ElementSize(t.DType) && extent <= Blob.Length;
            if (!fits)
            {
                throw new InvalidDataException($"{jsonPath}: tensor {t.Key} does not fit the recipe's blob");
            }
        }
    }
}
