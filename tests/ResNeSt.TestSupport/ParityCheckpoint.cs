using System.IO.Compression;
using ResNeSt.Models.Architecture;

namespace ResNeSt.TestSupport;

/// <summary>
/// The torch-parity checkpoint as a file: its committed <see cref="CheckpointRecipe"/> expanded into a torch.save-style
/// zip .pth (each tensor in a storage of its own, of the storage class its dtype names), which the tests then read
/// through the project's checkpoint reader like any user's file. The 21 MB file is not committed; it is written once
/// per recipe content into the temp directory and reused.
/// </summary>
public static class ParityCheckpoint
{
    // Part of the file name: a change to how the file is written must not reuse files written the old way.
    private const string WriterVersion = "w1";

    /// <summary>The network the parity checkpoints are weights of: two blocks in the first stage, the real block types.</summary>
    public static ResNeStVariant Variant { get; } = ResNeStVariant.Reduced([2, 1, 1, 1], stemWidth: 16, cropSize: 64);

    /// <summary>The expansion of the recipe at <paramref name="recipePath"/> (a .recipe.json), written if missing.</summary>
    /// <param name="cacheDirectory">Where expansions are kept; by default resnest-parity-checkpoints in the temp directory.</param>
    public static async Task<string> ExpandAsync(string recipePath, string? cacheDirectory = null, CancellationToken cancellationToken = default)
    {
        var recipe = await CheckpointRecipe.LoadAsync(recipePath, cancellationToken);
        cacheDirectory ??= Path.Combine(Path.GetTempPath(), "resnest-parity-checkpoints");
        string name = Path.GetFileName(recipePath).Replace(".recipe.json", "", StringComparison.Ordinal);
        string path = Path.Combine(cacheDirectory, $"{name}-{recipe.ContentSha256[..16]}-{WriterVersion}.pth");
        if (File.Exists(path))
        {
            return path;
        }

        Directory.CreateDirectory(cacheDirectory);
        // Several test processes (and test classes of one process) may expand at once: each writes its own temp file
        // and moves it into place, so no reader ever sees a partial file; a loser of the race keeps the winner's file,
        // which has the same content.
        string temp = Path.Combine(cacheDirectory, $"{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                Write(recipe, stream);
            }

            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
            }
        }
        finally
        {
            File.Delete(temp);
        }

        return path;
    }

    /// <summary>The recipe as a zip .pth: a state_dict pickle whose tensor i is storage i, viewed contiguously.</summary>
    public static void Write(CheckpointRecipe recipe, Stream destination)
    {
        var tensors = recipe.Tensors.Select((t, i) => new PickledTensor(
            t.Key, StorageType(t.DType), i.ToString(System.Globalization.CultureInfo.InvariantCulture), t.ElementCount, t.Shape, ContiguousStrides(t.Shape), 0));
        using var archive = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        HandMadeCheckpoints.Add(archive, "archive/data.pkl", HandMadeCheckpoints.StateDictPickle(tensors));
        for (int i = 0; i < recipe.Tensors.Count; i++)
        {
            HandMadeCheckpoints.Add(archive, $"archive/data/{i}", recipe.StorageBytes(recipe.Tensors[i]));
        }

        HandMadeCheckpoints.Add(archive, "archive/version", HandMadeCheckpoints.Ascii("3\n"));
        HandMadeCheckpoints.Add(archive, "archive/byteorder", HandMadeCheckpoints.Ascii("little"));
    }

    private static string StorageType(string dtype) => dtype switch
    {
        "float16" => "HalfStorage",
        "float32" => "FloatStorage",
        "float64" => "DoubleStorage",
        "int64" => "LongStorage",
        _ => throw new InvalidDataException($"unknown recipe dtype '{dtype}'"),
    };

    private static int[] ContiguousStrides(IReadOnlyList<int> shape)
    {
        var strides = new int[shape.Count];
        int stride = 1;
        for (int axis = shape.Count - 1; axis >= 0; axis--)
        {
            strides[axis] = stride;
            stride *= shape[axis];
        }

        return strides;
    }
}
