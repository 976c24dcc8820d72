using ResNeSt.Models.Architecture;
using ResNeSt.Models.Checkpoints;
using ResNeSt.TestSupport;

namespace ResNeSt.Models.Tests.Checkpoints;

public sealed class CheckpointReaderTests
{
    [Theory]
    [InlineData("reader-features.zip.pth")]
    [InlineData("reader-features.legacy.pth")]
    [InlineData("reader-features.protocol4.pth")]
    public async Task Every_dtype_offset_and_stride_comes_out_row_major_as_PyTorch_sees_it(string file)
    {
        var weights = await TorchCheckpointReader.ReadAsync(Fixtures.PathOf(file), cancellationToken: CancellationToken.None);

        Assert.Equal(Fixtures.Features.Tensors.Keys.Order(StringComparer.Ordinal), weights.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, expected) in Fixtures.Features.Tensors)
        {
            var tensor = weights[key];
            Assert.Equal(expected.Shape, tensor.Shape);
            Assert.Equal(expected.Values.Select(v => (float)v), tensor.Data);
        }
    }

    [Theory]
    [InlineData("reader-features.zip.pth", true)]
    [InlineData("reader-features.legacy.pth", false)]
    public async Task The_source_hash_is_the_files_SHA256(string file, bool zip)
    {
        var weights = await TorchCheckpointReader.ReadAsync(Fixtures.PathOf(file), cancellationToken: CancellationToken.None);

        Assert.Equal(zip ? Fixtures.Features.ZipSha256 : Fixtures.Features.LegacySha256, weights.SourceSha256);
    }

    [Fact]
    public async Task A_state_dict_wrapped_in_a_training_dict_is_found()
    {
        var weights = await TorchCheckpointReader.ReadAsync(Fixtures.PathOf("wrapped.zip.pth"), cancellationToken: CancellationToken.None);

        Assert.Equal(["w"], weights.Tensors.Keys);
        Assert.Equal([1f, 2f], weights["w"].Data);
    }

    [Fact]
    public async Task Both_formats_of_the_reduced_network_hold_identical_tensors_that_match_its_spec()
    {
        var ct = CancellationToken.None;
        var zip = await TorchCheckpointReader.ReadAsync(Fixtures.PathOf(Fixtures.Reduced.ZipCheckpoint), cancellationToken: ct);
        var legacy = await TorchCheckpointReader.ReadAsync(Fixtures.PathOf(Fixtures.Reduced.LegacyCheckpoint), cancellationToken: ct);
        var spec = StateDictSpec.For(Fixtures.ReducedVariant);

        CheckpointValidator.Validate(zip, spec);
        CheckpointValidator.Validate(legacy, spec);
        Assert.Equal(spec.Entries.Count, zip.Tensors.Count);
        foreach (var entry in spec.Entries)
        {
            Assert.Equal(entry.Shape, zip[entry.Key].Shape);
            Assert.Equal(entry.ElementCount, zip[entry.Key].Data.Length);
            Assert.True(zip[entry.Key].Data.AsSpan().SequenceEqual(legacy[entry.Key].Data), entry.Key);
        }

        Assert.Equal(Fixtures.Reduced.ZipSha256, zip.SourceSha256);
        Assert.Equal(Fixtures.Reduced.LegacySha256, legacy.SourceSha256);
        // The fixture's BatchNorm statistics are not the identity, so folding them is really exercised downstream.
        Assert.Contains(zip["layer3.0.bn3.running_var"].Data, v => MathF.Abs(v - 1f) > 0.05f);
        Assert.Contains(zip["layer3.0.bn3.running_mean"].Data, v => MathF.Abs(v) > 0.05f);
        Assert.True(zip["bn1.num_batches_tracked"].Data[0] >= 1f);
    }

    [Fact]
    public async Task Loading_with_a_named_variant_validates_and_an_unofficial_network_is_not_guessed()
    {
        var ct = CancellationToken.None;
        string path = Fixtures.PathOf(Fixtures.Reduced.ZipCheckpoint);

        var loaded = await TorchCheckpoint.LoadAsync(path, Fixtures.ReducedVariant, cancellationToken: ct);
        Assert.Equal(Fixtures.ReducedVariant, loaded.Variant);

        var error = await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpoint.LoadAsync(path, cancellationToken: ct));
        Assert.Contains("not one of the official variants", error.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 1, 1, 1] blocks per stage and stem width 16", error.Message, StringComparison.Ordinal);

        error = await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpoint.LoadAsync(path, ResNeStVariant.ResNeSt50, cancellationToken: ct));
        Assert.StartsWith("The checkpoint does not match resnest50:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conversion_reports_progress_up_to_the_total()
    {
        var reports = new List<(long Read, long? Total)>();
        var progress = new SynchronousProgress(reports.Add);

        await TorchCheckpointReader.ReadAsync(Fixtures.PathOf(Fixtures.Reduced.LegacyCheckpoint), progress, CancellationToken.None);

        Assert.NotEmpty(reports);
        Assert.Equal(reports[^1].Total, reports[^1].Read);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Read <= p.Second.Read));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("little")]
    [InlineData("big")]
    public async Task A_zip_checkpoints_byte_order_is_honoured(string? byteOrder)
    {
        float[] values = [1.5f, -2.25f, 3e-3f, 7f];
        byte[] data = new byte[16];
        for (int i = 0; i < values.Length; i++)
        {
            if (byteOrder == "big")
            {
                System.Buffers.Binary.BinaryPrimitives.WriteSingleBigEndian(data.AsSpan(i * 4), values[i]);
            }
            else
            {
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
            }
        }

        // A [2, 2] view transposed (strides 1, 2), so the general conversion path reads it.
        byte[] zip = HandMadeCheckpoints.Zip(
            HandMadeCheckpoints.OneTensorPickle(4, "K\u0002K\u0002\u0086K\u0001K\u0002\u0086"),
            new Dictionary<string, byte[]> { ["0"] = data },
            byteOrder);
        string path = Path.Combine(Path.GetTempPath(), $"resnest-byteorder-{Guid.NewGuid():N}.pth");
        await File.WriteAllBytesAsync(path, zip);
        try
        {
            var weights = await TorchCheckpointReader.ReadAsync(path);

            Assert.Equal([2, 2], weights["w"].Shape);
            Assert.Equal([1.5f, 3e-3f, -2.25f, 7f], weights["w"].Data);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Cancellation_stops_conversion()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => TorchCheckpointReader.ReadAsync(Fixtures.PathOf(Fixtures.Reduced.ZipCheckpoint), cancellationToken: cts.Token));
    }
}

/// <summary>Reports on the calling thread, so a test sees every report before the awaited call returns.</summary>
internal sealed class SynchronousProgress(Action<(long Read, long? Total)> report) : IProgress<(long read, long? total)>
{
    public void Report((long read, long? total) value) => report(value);
}
