using ResNeSt.Models.Architecture;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Checkpoints;

/// <summary>A checkpoint's weights, checked against the variant they belong to.</summary>
public sealed record ValidatedCheckpoint(ResNeStVariant Variant, StateDict Weights);

/// <summary>The path users take: read a <c>.pth</c> file, work out or check its variant, and validate every tensor.</summary>
public static class TorchCheckpoint
{
    /// <param name="path">A PyTorch state_dict file (zip or legacy format).</param>
    /// <param name="variant">The variant the user named; <c>null</c> recognises an official one from the keys.</param>
    /// <param name="progress">Storage bytes converted so far, of the total.</param>
    /// <param name="cancellationToken">Stops between storages.</param>
    public static async Task<ValidatedCheckpoint> LoadAsync(
        string path,
        ResNeStVariant? variant = null,
        IProgress<(long read, long? total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        // Names and shapes are checked against the variant before any tensor is materialised, so a checkpoint can only
        // make the reader allocate what the variant's own weights take.
        var expected = variant;
        CheckpointException? mismatch = null;
        StateDict weights;
        try
        {
            weights = await TorchCheckpointReader.ReadAsync(
                path,
                shapes =>
                {
                    try
                    {
                        expected ??= CheckpointValidator.DetectVariant(shapes);
                        CheckpointValidator.Validate(shapes, StateDictSpec.For(expected));
                    }
                    catch (CheckpointException ex)
                    {
                        mismatch = ex;
                        throw;
                    }
                },
                progress,
                cancellationToken);
        }
        catch (CheckpointException ex) when (mismatch is not null && ex.InnerException == mismatch)
        {
            // The reader names the file in front of what it read; a mismatch with the variant reads as it always has.
            throw mismatch;
        }

        return new ValidatedCheckpoint(expected!, weights);
    }
}
