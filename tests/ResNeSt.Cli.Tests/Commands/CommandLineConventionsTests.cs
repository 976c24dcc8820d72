using System.Diagnostics;
using System.Text.Json;
using ResNeSt.TestSupport;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>What a shell user expects of every <c>resnest</c> and <c>resnest-dev</c> command, through the real command lines (<see cref="CliRun"/>).</summary>
public sealed class CommandLineConventionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resnest-conventions-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TinyModelFile()
    {
        var path = Path.Combine(_dir, "tiny.onnx");
        File.WriteAllBytes(path, TinyModel.WithCard().Bytes);
        return path;
    }

    [Fact]
    public async Task A_bare_resnest_prints_usage_on_stderr_and_exits_2()
    {
        var run = await CliRun.InvokeAsync();
        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Output);
        Assert.Contains("Usage:", run.Error, StringComparison.Ordinal);
        Assert.Contains("annotate", run.Error, StringComparison.Ordinal);
        Assert.Contains("Exit codes", run.Error, StringComparison.Ordinal);
    }

    public static TheoryData<string[]> BadNumbers => new()
    {
        { ["classify", "--model", "{model}", "--crop", "abc", "x.jpg"] },
        { ["classify", "--model", "{model}", "--crop", "0", "x.jpg"] },
        { ["classify", "--model", "{model}", "--top", "many", "x.jpg"] },
        { ["classify", "--model", "{model}", "--top", "1001", "x.jpg"] },
        { ["bench", "--model", "{model}", "--images", "{dir}", "--batch-size", "abc"] },
        { ["bench", "--model", "{model}", "--images", "{dir}", "--batch", "0"] },
        { ["bench", "--model", "{model}", "--images", "{dir}", "--seconds", "1.5x"] },
        { ["bench", "--model", "{model}", "--images", "{dir}", "--crop", "abc"] },
        { ["bench", "--model", "{model}", "--images", "{dir}", "--max-batch-delay-ms", "soon"] },
        { ["export", "--variant", "resnest50", "--random-weights", "--crop", "abc", "-o", "{dir}/x.onnx"] },
        { ["export", "--variant", "resnest50", "--random-weights", "--crop", "8", "-o", "{dir}/x.onnx"] },
        { ["export", "--variant", "resnest50", "--random-weights", "--seed", "x", "-o", "{dir}/x.onnx"] },
        { ["annotate", "{model}", "--variant", "v", "--crop", "abc", "-o", "{dir}/x.onnx"] },
        { ["annotate", "{model}", "--variant", "v", "--resize", "0", "-o", "{dir}/x.onnx"] },
        { ["load-test", "--count", "abc"] },
        { ["load-test", "--count", "0"] },
        { ["load-test", "--hostile-fraction", "lots"] },
        { ["pipeline-bench", "--model", "{model}", "--count", "abc"] },
        { ["tag", "--model", "{model}", "--concurrency", "abc"] },
        { ["classify", "--model", "{model}", "--provider", "gpu", "x.jpg"] },
        { ["classify", "--nonsense"] },
    };

    [Theory]
    [MemberData(nameof(BadNumbers))]
    public async Task A_usage_error_is_one_line_named_after_the_command_and_exits_2(string[] template)
    {
        var model = TinyModelFile();
        var args = template.Select(a => a.Replace("{model}", model, StringComparison.Ordinal).Replace("{dir}", _dir, StringComparison.Ordinal)).ToArray();

        var run = await CliRun.InvokeAsync(args);

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith($"{CliRun.ToolOf(args[0])} {args[0]}: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("..", line, StringComparison.Ordinal);
        Assert.Empty(run.Output);
    }

    [Fact]
    public async Task Demo_outside_the_repository_root_says_where_to_run_it()
    {
        // The test runs in its bin folder, where there is no samples/images.
        var run = await CliRun.InvokeAsync("demo", "--model", TinyModelFile());
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("resnest-dev demo: ", line, StringComparison.Ordinal);
        Assert.Contains("repository root", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tag")]
    [InlineData("worker")]
    public async Task A_pipeline_command_with_a_blank_storage_connection_says_which_setting_and_exits_2(string command)
    {
        // Blank rather than absent: the default comes from $ImageStorage, which the test machine may set.
        var hostJson = Path.Combine(_dir, "host.json");
        await File.WriteAllTextAsync(hostJson, "{}");
        string[] args = command == "tag"
            ? ["tag", "--connection", " ", "--model", TinyModelFile()]
            : ["worker", "--connection", " ", "--host-json", hostJson];

        var run = await CliRun.InvokeAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"resnest {command}: --connection (or $ImageStorage) is required.", Assert.Single(run.ErrorLines));
        Assert.Empty(run.Output);
    }

    [Theory]
    [InlineData("classify", "--model <FILE>")]
    [InlineData("bench", "--images <DIR>")]
    [InlineData("bench", "--batch-size <N>")]
    [InlineData("pipeline-bench", "--count <N>")]
    [InlineData("pipeline-bench", "--images, --samples <DIR>")]
    [InlineData("load-test", "--count <N>")]
    [InlineData("load-test", "--images, --samples <DIR>")]
    [InlineData("export", "-o, --output <FILE>")]
    [InlineData("annotate", "--labels <FILE>")]
    [InlineData("worker", "--model <FILE>")]
    public async Task Help_names_what_each_option_takes_and_the_exit_codes(string command, string expected)
    {
        var run = await CliRun.InvokeAsync(command, "--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(expected, run.Output, StringComparison.Ordinal);
        Assert.Contains("Exit codes: 0 success; 1 ", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_old_option_names_still_parse()
    {
        Assert.Empty(Program.CreateRoot().Parse(["bench", "--model", "m.onnx", "--images", _dir, "--batch", "4"]).Errors);
        var dev = DevTool.Program.CreateRoot();
        Assert.Empty(dev.Parse(["load-test", "--samples", _dir]).Errors);
        Assert.Empty(dev.Parse(["pipeline-bench", "--model", TinyModelFile(), "--samples", _dir]).Errors);
    }

    [Fact]
    public async Task Export_does_not_create_a_missing_output_folder()
    {
        var missing = Path.Combine(_dir, "no", "such");
        var run = await CliRun.InvokeAsync("export", "--variant", "resnest50", "--random-weights", "--crop", "32", "-o", Path.Combine(missing, "m.onnx"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "no")));
    }

    [Fact]
    public async Task Inspect_of_a_file_that_is_not_ONNX_says_so_without_protobuf_internals()
    {
        var garbage = Path.Combine(_dir, "notes.onnx");
        await File.WriteAllTextAsync(garbage, "garbage-garbage\n");
        var run = await CliRun.InvokeAsync("inspect", garbage);
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("is not an ONNX model", line, StringComparison.Ordinal);
        Assert.DoesNotContain("wire type", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Protocol message", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_writes_readable_JSON_with_apostrophes_as_they_are()
    {
        var run = await CliRun.InvokeAsync("classify", "--model", TinyModelFile(), "--provider", "cpu", "--top", "1000",
            Path.Combine(ClassifyCommandTests.SamplesDirectory(), "dog.jpg"));
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("\"label\":\"potter's wheel\"", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", run.Output, StringComparison.Ordinal);
        using var _ = JsonDocument.Parse(run.Output);
    }

    [Fact]
    public async Task Bench_reports_progress_on_stderr_and_only_its_summary_on_stdout()
    {
        var run = await CliRun.InvokeAsync("bench", "--model", TinyModelFile(), "--provider", "cpu", "--images", ClassifyCommandTests.SamplesDirectory(),
            "--batch-size", "2", "--seconds", "1");
        Assert.True(run.ExitCode == 0, run.Error);
        var progress = run.ErrorLines.Where(l => l.StartsWith("resnest bench [", StringComparison.Ordinal)).ToList();
        Assert.True(progress.Count >= 4, run.Error);
        Assert.Contains(progress, l => l.Contains("end to end for", StringComparison.Ordinal));
        using var summary = JsonDocument.Parse(run.Output);
        Assert.Equal(2, summary.RootElement.GetProperty("batch").GetInt32());
    }

    [Fact]
    public async Task Demo_sh_help_prints_usage_without_building_or_running_anything()
    {
        var root = Directory.GetParent(ClassifyCommandTests.SamplesDirectory())!.Parent!.FullName;
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "demo.sh"), "--help"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, error);
        Assert.Contains("Usage: ./demo.sh", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Azurite (in memory", output + error, StringComparison.Ordinal);
        Assert.DoesNotContain("Build succeeded", output + error, StringComparison.Ordinal);
    }
}
