using System.Text;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Checkpoints;
using static ResNeSt.TestSupport.HandMadeCheckpoints;

namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>
/// Checkpoints that are small on disk but ask the reader for gigabytes: views of stride 0, overlapping strides, many
/// views of one storage, memo and opcode floods. Each is refused with one line before anything large is allocated.
/// The reads are async, so their continuations may run on another thread: allocation is measured process-wide, with
/// this class run alone (its collection disables parallelisation) so that other tests' allocations do not count.
/// </summary>
[Collection(nameof(MeasuresAllocations))]
public sealed class CheckpointBombTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("resnest-bombs-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A pickled (size, stride) pair of 2-tuples of BININT values.</summary>
    private static string SizeAndStride(int rows, int columns, int rowStride, int columnStride) =>
        "J" + Int(rows) + "J" + Int(columns) + "\u0086J" + Int(rowStride) + "J" + Int(columnStride) + "\u0086";

    private static string Int(int value) => Encoding.Latin1.GetString(BitConverter.GetBytes(value));

    [Fact]
    public async Task A_view_of_stride_zero_is_refused_before_it_is_materialised()
    {
        // 493 bytes of zip on disk: one float, viewed as 16384×16384 (1 GiB of float32).
        var bytes = Zip(OneTensorPickle(1, SizeAndStride(16384, 16384, 0, 0)), new Dictionary<string, byte[]> { ["0"] = new byte[4] });
        long before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await ReadAsync(bytes);

        Assert.Contains("tensor 'w' [16384, 16384] with stride [0, 0] has a stride of 0", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20);
    }

    [Fact]
    public async Task A_view_with_overlapping_strides_is_refused_before_it_is_materialised()
    {
        // 185 KB of storage (46341 floats) viewed as 46340×46340 with strides (1, 1): 8.6 GB of float32.
        var bytes = Zip(OneTensorPickle(46341, SizeAndStride(46340, 46340, 1, 1)), new Dictionary<string, byte[]> { ["0"] = new byte[46341 * 4] });
        long before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await ReadAsync(bytes);

        Assert.Contains("has overlapping strides", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20);
    }

    [Fact]
    public async Task Small_overlaps_are_refused_too_not_only_large_ones()
    {
        // Within any size bound, still not what a state_dict holds: a 2×3 view of stride (1, 1) of 4 elements; a broadcast
        // row (torch.tensor([1., 2., 4.]).expand(2, 3)); the even and the odd elements of one storage as two tensors.
        Assert.Contains("has overlapping strides", (await ReadAsync(Zip(StateDictPickle(4, [("w", [2, 3], [1, 1], 0)]), Storage(4)))).Message, StringComparison.Ordinal);
        Assert.Contains("has a stride of 0", (await ReadAsync(Zip(StateDictPickle(3, [("w", [2, 3], [0, 1], 0)]), Storage(3)))).Message, StringComparison.Ordinal);
        var interleaved = await ReadAsync(Zip(StateDictPickle(8, [("even", [4], [2], 0), ("odd", [4], [2], 1)]), Storage(8)));
        Assert.Contains("tensors 'even' (elements 0-6) and 'odd' (elements 1-7) read the same elements of storage '0'", interleaved.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Views_of_one_storage_at_disjoint_offsets_are_read_whatever_their_strides()
    {
        // A flat buffer holding three tensors: one contiguous, one transposed, one every other element; and a dimension of
        // size 1 whose stride PyTorch leaves arbitrary (0 here).
        var values = Enumerable.Range(0, 20).Select(i => (float)i).ToArray();
        var pickle = StateDictPickle(20, [("a", [2, 3], [3, 1], 0), ("b", [3, 2], [1, 3], 6), ("c", [3], [2], 12), ("d", [1, 2], [0, 1], 18)]);
        string path = Path.Combine(_folder, "flat.pth");
        await File.WriteAllBytesAsync(path, Zip(pickle, new Dictionary<string, byte[]> { ["0"] = values.SelectMany(BitConverter.GetBytes).ToArray() }));

        var tensors = (await TorchCheckpointReader.ReadAsync(path)).Tensors;

        Assert.Equal([0f, 1, 2, 3, 4, 5], tensors["a"].Data);
        Assert.Equal([6f, 9, 7, 10, 8, 11], tensors["b"].Data);
        Assert.Equal([12f, 14, 16], tensors["c"].Data);
        Assert.Equal([18f, 19], tensors["d"].Data);
    }

    [Fact]
    public async Task A_state_dict_of_the_right_names_and_shapes_made_of_stride_0_views_is_refused()
    {
        // Every tensor of resnest50, each a stride-0 view of one stored float: a few KB that passes the spec's name and
        // shape check and used to be materialised (25.6 million values, 98 MB, all equal).
        var spec = StateDictSpec.For(ResNeStVariant.ResNeSt50);
        var pickle = StateDictPickle(1, spec.Entries.Select(e => (e.Key, e.Shape, (IReadOnlyList<int>)e.Shape.Select(_ => 0).ToArray(), 0)));
        string path = Path.Combine(_folder, "stride0-resnest50.pth");
        await File.WriteAllBytesAsync(path, Zip(pickle, Storage(1)));
        // Process-wide allocation counts whatever else runs meanwhile; the fewest bytes of three reads is this read's
        // (materialising would allocate 98 MB every time).
        var allocated = long.MaxValue;
        CheckpointException? error = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            error = await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpoint.LoadAsync(path, ResNeStVariant.ResNeSt50));
            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        Assert.Contains("has a stride of 0", error!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(allocated < 64L << 20, $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public async Task Many_tensors_viewing_the_same_elements_of_one_storage_are_refused()
    {
        // 2100 entries, each the whole of one 65536-element storage: 537 MiB materialised from 256 KiB of data.
        var pickle = new StringBuilder("\u0080\u0002}(");
        for (int i = 0; i < 2100; i++)
        {
            pickle.Append('X').Append(Int(6)).Append(CultureInfo(i)).Append(
                "ctorch._utils\n_rebuild_tensor_v2\n((X\u0007\0\0\0storagectorch\nFloatStorage\nX\u0001\0\0\00X\u0003\0\0\0cpuJ" + Int(65536) + "tQK\0" +
                "J" + Int(65536) + "\u0085K\u0001\u0085\u0089ccollections\nOrderedDict\n)RtR");
        }

        pickle.Append("u.");
        var error = await ReadAsync(Zip(Ascii(pickle.ToString()), new Dictionary<string, byte[]> { ["0"] = new byte[65536 * 4] }));

        Assert.Contains("read the same elements of storage '0'", error.Message, StringComparison.Ordinal);

        static string CultureInfo(int i) => i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_memo_flood_is_refused()
    {
        // 300,000 MEMOIZE of None: 600 KB that the unpickler would keep as 300,000 memo entries (16 MB asked for 2.2 GiB).
        var flood = new StringBuilder("\u0080\u0004");
        flood.Insert(flood.Length, "N\u0094", 300_000);
        var error = await ReadAsync(Zip(Ascii(flood.Append('.').ToString())));
        Assert.Contains($"more than {PickleScanner.MaxMemoSlots} memo slots", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_opcode_flood_is_refused()
    {
        var flood = new StringBuilder("\u0080\u0002");
        flood.Insert(flood.Length, "]", PickleScanner.MaxOpcodes + 1); // empty lists, each an object on the stack
        var error = await ReadAsync(Zip(Ascii(flood.Append('.').ToString())));
        Assert.Contains($"more than {PickleScanner.MaxOpcodes} opcodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_huge_stride_zero_tensor_the_variant_does_not_expect_is_refused_by_the_spec_before_materialising()
    {
        // 46340×46340 of stride 0: 8.6 GB of float32; the OutOfMemoryException used to escape the command.
        string path = Path.Combine(_folder, "huge.pth");
        await File.WriteAllBytesAsync(path, Zip(OneTensorPickle(1, SizeAndStride(46340, 46340, 0, 0)), new Dictionary<string, byte[]> { ["0"] = new byte[4] }));

        var error = await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpoint.LoadAsync(path, ResNeStVariant.ResNeSt50));

        Assert.Contains("does not match resnest50", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("S'torch'\n", true)]
    [InlineData("S\"torch\"\n", true)]
    [InlineData("S''torch''\n", false)] // one pair is stripped, as Python does: the module is 'torch', quoted, unknown
    [InlineData("Storch\n", false)]
    public async Task A_STRING_opcode_loses_exactly_one_pair_of_quotes(string module, bool accepted)
    {
        // STACK_GLOBAL of (module from a STRING opcode, 'FloatStorage'), then discarded: only the scanner's verdict matters.
        var pickle = Ascii("\u0080\u0004" + module + "\u008c\u000cFloatStorage\u0093}.");
        string path = Path.Combine(_folder, $"{Guid.NewGuid():N}.pth");
        await File.WriteAllBytesAsync(path, Zip(pickle));
        var error = await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpointReader.ReadAsync(path));
        if (accepted)
        {
            Assert.Contains("holds no tensors", error.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("holds no tensors", error.Message, StringComparison.Ordinal);
        }
    }

    private static Dictionary<string, byte[]> Storage(int floats) => new() { ["0"] = new byte[floats * 4] };

    private async Task<CheckpointException> ReadAsync(byte[] bytes)
    {
        string path = Path.Combine(_folder, $"{Guid.NewGuid():N}.pth");
        await File.WriteAllBytesAsync(path, bytes);
        return await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpointReader.ReadAsync(path));
    }
}
