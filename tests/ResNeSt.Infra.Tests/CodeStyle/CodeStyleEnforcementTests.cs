using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.CodeStyle;

/// <summary>
/// The build enforces <c>.editorconfig</c> (<c>EnforceCodeStyleInBuild</c>, warnings as errors): a probe project
/// inside the repository, so that its <c>Directory.Build.props</c> and <c>.editorconfig</c> apply as they do to every
/// project here, builds clean as written and fails with the rule's id once one convention is broken.
/// </summary>
public sealed class CodeStyleEnforcementTests : IDisposable
{
    private const string Clean = """
        using System.Text;

        namespace Probe;

        /// <summary>A type that follows the conventions.</summary>
        public sealed class Sample
        {
            private static readonly Encoding s_encoding = Encoding.UTF8;
            private int _calls;

            public int Calls => _calls;

            public async Task<int> LengthAsync(string text)
            {
                await Task.Yield();
                Interlocked.Increment(ref _calls);
                var bytes = s_encoding.GetBytes(text);
                return bytes.Length;
            }
        }
        """;

    private readonly string _probe = Directory.CreateDirectory(
        Path.Combine(Repository.Root, "artifacts", "style-probe", Guid.NewGuid().ToString("N"))).FullName;

    public static TheoryData<string, string, string> Violations => new()
    {
        { "IDE0161", "namespace Probe;", "namespace Probe\n{" }, // block-scoped namespace (closed below)
        { "IDE0005", "using System.Text;", "using System.Text;\nusing System.Net;" }, // unused using
        { "IDE1006", "_calls", "calls" }, // private field without its underscore
        { "IDE0011", "await Task.Yield();", "if (text.Length > 0) await Task.Yield();" }, // if without braces
    };

    [Fact]
    public async Task The_probe_builds_clean_as_written()
    {
        var build = await BuildAsync(Clean);
        Assert.True(build.ExitCode == 0, build.Describe());
    }

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task A_broken_convention_fails_the_build_with_its_rule(string rule, string find, string replace)
    {
        var source = Clean.Replace(find, replace, StringComparison.Ordinal);
        if (rule == "IDE0161")
        {
            source += "\n}";
        }

        Assert.NotEqual(Clean, source);
        var build = await BuildAsync(source);
        Assert.True(build.ExitCode != 0, build.Describe());
        Assert.Contains($"error {rule}:", build.StandardOutput, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_probe, recursive: true);

    private async Task<ProcessResult> BuildAsync(string source)
    {
        await File.WriteAllTextAsync(Path.Combine(_probe, "Probe.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\" />\n");
        await File.WriteAllTextAsync(Path.Combine(_probe, "Sample.cs"), source.ReplaceLineEndings("\n") + "\n");
        return await ProcessRunner.RunAsync(
            "dotnet",
            ["build", "Probe.csproj", "--nologo", "-consoleLoggerParameters:NoSummary"],
            _probe,
            new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
            TimeSpan.FromMinutes(3));
    }
}
