using System.Text;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Checkpoints;
using static ResNeSt.Models.Tests.Checkpoints.HandMadeCheckpoints;

namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>
/// Checkpoints that are small on disk but ask the reader for gigabytes: views of stride 0, many views of one storage,
/// memo and opcode floods. Each is refused with one line before anything large is allocated.
/// </summary>
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
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = await ReadAsync(bytes);

        Assert.Contains("would materialise 268435456 values from 1 stored elements", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20);
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

        Assert.Contains("from 65536 stored elements", error.Message, StringComparison.Ordinal);

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

    private async Task<CheckpointException> ReadAsync(byte[] bytes)
    {
        string path = Path.Combine(_folder, $"{Guid.NewGuid():N}.pth");
        await File.WriteAllBytesAsync(path, bytes);
        return await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpointReader.ReadAsync(path));
    }
}
