using ResNeSt.Models.Checkpoints;
using static ResNeSt.TestSupport.HandMadeCheckpoints;

namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>Untrusted or broken files: each gives one <see cref="CheckpointException"/> with a clear one-line message.</summary>
public sealed class MalformedCheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("resnest-malformed-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    [InlineData(0.01)]
    public async Task A_truncated_zip_checkpoint_is_refused(double keep)
    {
        byte[] bytes = File.ReadAllBytes(Fixtures.PathOf(Fixtures.Reduced.ZipCheckpoint));

        var error = await ReadAsync(bytes[..(int)(bytes.Length * keep)]);

        Assert.Contains("truncated or corrupt", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".).", error.Message, StringComparison.Ordinal); // the zip reader's sentence ends in its own full stop
    }

    [Theory]
    [InlineData(20, "the protocol version ends early")]          // inside the header pickles
    [InlineData(2000, "the main pickle")]        // inside the main pickle
    [InlineData(-1000, "truncated")]        // inside the last storage's data
    [InlineData(-1, "truncated")]
    public async Task A_truncated_legacy_checkpoint_is_refused(int keep, string expected)
    {
        byte[] bytes = File.ReadAllBytes(Fixtures.PathOf(Fixtures.Reduced.LegacyCheckpoint));

        var error = await ReadAsync(bytes[..(keep >= 0 ? keep : bytes.Length + keep)]);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_JPEG_is_not_a_checkpoint()
    {
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9];

        var error = await ReadAsync(jpeg);

        Assert.EndsWith("it is a JPEG image, not a PyTorch checkpoint.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Random_bytes_and_an_empty_file_are_not_checkpoints()
    {
        var random = new Random(42);
        byte[] noise = new byte[4096];
        random.NextBytes(noise);
        noise[0] = 0x13;

        Assert.Contains("neither a zip archive nor a pickle stream", (await ReadAsync(noise)).Message, StringComparison.Ordinal);
        Assert.EndsWith("the file is empty.", (await ReadAsync([])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_named()
    {
        string path = Path.Combine(_folder, "absent.pth");

        var error = await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpointReader.ReadAsync(path));

        Assert.Equal($"Checkpoint file '{path}' does not exist.", error.Message);
    }

    [Fact]
    public async Task A_pickle_that_calls_os_system_is_refused_in_the_legacy_format()
    {
        // os.system('echo pwned') as the main pickle, after a genuine legacy header.
        byte[] evil = [.. Ascii("\u0080\u0002cos\nsystem\nX\u000a\0\0\0echo pwned\u0085R.")];

        var error = await ReadAsync([.. LegacyHeader(), .. evil]);

        Assert.Contains("refused: the main pickle references 'os.system'", error.Message, StringComparison.Ordinal);
        Assert.Contains("may be malicious", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_protocol_4_pickle_that_reaches_builtins_eval_is_refused_in_the_zip_format()
    {
        // STACK_GLOBAL('builtins', 'eval')('print(1)') with memoised strings, as Python's pickler writes it.
        byte[] evil = [.. Ascii("\u0080\u0004\u008c\u0008builtins\u0094\u008c\u0004eval\u0094\u0093\u0094\u008c\u0008print(1)\u0094\u0085R.")];

        var error = await ReadAsync(Zip(evil));

        Assert.Contains("refused: data.pkl references 'builtins.eval'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_global_recalled_from_the_memo_is_resolved_and_refused()
    {
        // The strings reach STACK_GLOBAL through BINGET, not as literals.
        byte[] evil = [.. Ascii("\u0080\u0004\u008c\u0002os\u0094\u008c\u0006system\u0094\u00300h\u0000h\u0001\u0093)R.")];

        var error = await ReadAsync(Zip(evil));

        Assert.Contains("'os.system'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\u0080\u0004K\u0001\u008c\u0004eval\u0093.", "cannot be checked")]            // module name is not a known string
    [InlineData("\u0080\u0002\u0082\u0001.", "extension registry")]                        // EXT1
    [InlineData("\u0080\u0002(ios\nsystem\n.", "'os.system'")]                        // INST
    [InlineData("\u0080\u0002c__main__\nResNeSt\n)\u0081.", "torch.save(model.state_dict(), path)")] // a whole pickled model
    [InlineData("\u0080\u0002ctorch\nIntStorage\n.", "only float32, float16, float64 and int64")]
    [InlineData("\u0080\u0002\u00ff.", "not a pickle opcode")]
    [InlineData("\u0080\u0002h\u0005.", "memo slot 5")]
    [InlineData("\u0080\u0002X\u00ff\u00ff\u00ff\u007f", "more than the file holds")]
    [InlineData("\u0080\u0002K\u0001.", "holds a number, not a state_dict")]
    [InlineData("\u0080\u0002}X\u0001\0\0\0aK\u0001s.", "entry 'a' is a number, not a tensor")]
    [InlineData("\u0080\u0002)R.", "not a valid object stream")]
    public async Task Hostile_or_broken_pickles_give_one_clear_error(string pickle, string expected)
    {
        var error = await ReadAsync(Zip(Ascii(pickle)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain("..", error.Message, StringComparison.Ordinal); // an inner message's full stop is not repeated
        Assert.DoesNotContain(".).", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tensor_that_reaches_past_its_storage_is_refused()
    {
        // One float32 storage of 4 elements, viewed as [2, 3].
        byte[] pickle = OneTensorPickle(4, "K\u0002K\u0003\u0086K\u0003K\u0001\u0086");

        var error = await ReadAsync(Zip(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[16] }));

        Assert.Contains("tensor 'w' reaches element 5 of storage '0', which has 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_storage_larger_than_the_file_is_refused_before_reading_it()
    {
        byte[] pickle = OneTensorPickle(int.MaxValue, "K\u0002\u0085K\u0001\u0085");

        var error = await ReadAsync(Zip(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[8] }));

        Assert.Contains("claims 2147483647 elements, more than the file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_legacy_storage_view_is_honoured_and_bounded()
    {
        // Old PyTorch pickled views of storages: ('storage', type, key, location, numel, (view key, offset, size)).
        // Storage '0' holds 0..5; the view covers elements 2..4; tensor 'w' starts 1 into it with 2 elements.
        static byte[] File(string shape) => [.. LegacyHeader(), .. Ascii(
            "\u0080\u0002}X\u0001\0\0\0wctorch._utils\n_rebuild_tensor_v2\n((X\u0007\0\0\0storagectorch\nFloatStorage\nX\u0001\0\0\00X\u0003\0\0\0cpuK\u0006" +
            "(X\u0001\0\0\01K\u0002K\u0003ttQK\u0001" + shape + "\u0089ccollections\nOrderedDict\n)RtRs." +
            "\u0080\u0002](X\u0001\0\0\00e."),
            .. BitConverter.GetBytes(6L), .. new float[] { 0, 1, 2, 3, 4, 5 }.SelectMany(BitConverter.GetBytes)];
        string path = Path.Combine(_folder, "view.pth");

        await System.IO.File.WriteAllBytesAsync(path, File("K\u0002\u0085K\u0001\u0085"));
        var weights = await TorchCheckpointReader.ReadAsync(path);
        Assert.Equal([3f, 4f], weights["w"].Data);

        // Three elements from 1 into a 3-element window run past it, although the storage itself is longer.
        var error = await ReadAsync(File("K\u0003\u0085K\u0001\u0085"));
        Assert.Contains("tensor 'w' reaches element 5 of storage '0', which has 5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Random_corruption_only_ever_gives_a_checkpoint_error()
    {
        // Deterministic fuzzing of small real checkpoints: any outcome but an unexplained exception type is fine.
        var random = new Random(2024);
        foreach (string name in new[] { "reader-features.zip.pth", "reader-features.legacy.pth", "reader-features.protocol4.pth" })
        {
            byte[] original = File.ReadAllBytes(Fixtures.PathOf(name));
            for (int trial = 0; trial < 150; trial++)
            {
                byte[] bytes = (byte[])original.Clone();
                int flips = random.Next(1, 4);
                for (int f = 0; f < flips; f++)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                string path = Path.Combine(_folder, "fuzz.pth");
                await File.WriteAllBytesAsync(path, bytes);
                try
                {
                    await TorchCheckpointReader.ReadAsync(path);
                }
                catch (CheckpointException)
                {
                }
            }
        }
    }

    private async Task<CheckpointException> ReadAsync(byte[] bytes)
    {
        string path = Path.Combine(_folder, $"{Guid.NewGuid():N}.pth");
        await File.WriteAllBytesAsync(path, bytes);
        var error = await Assert.ThrowsAsync<CheckpointException>(() => TorchCheckpointReader.ReadAsync(path));
        Assert.StartsWith($"Cannot read checkpoint '{path}': ", error.Message, StringComparison.Ordinal);
        return error;
    }
}
