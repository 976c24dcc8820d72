using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Container;

/// <summary>
/// The final stage's `ldd` check, run here as written in the Dockerfile (its two directories pointed at temporary
/// ones): no Docker daemon is needed to see that it fails on a missing library or symbol version and passes otherwise.
/// </summary>
public sealed class LibraryCheckTests : IDisposable
{
    private static readonly string s_providerDirectory = Path.GetDirectoryName(Repository.OnnxRuntimeCudaProvider)!;

    private readonly string _root = Directory.CreateTempSubdirectory("resnest-ldd-").FullName;

    private string CudaLib => Path.Combine(_root, "cuda");

    private string WwwRoot => Path.Combine(_root, "wwwroot");

    public LibraryCheckTests()
    {
        Directory.CreateDirectory(CudaLib);
        Directory.CreateDirectory(WwwRoot);
    }

    [Fact]
    public void The_final_stage_checks_the_copied_libraries_with_ldd_before_dropping_root()
    {
        var final = Dockerfile.Parse(File.ReadAllText(Repository.Dockerfile)).Final.Instructions.ToList();
        var check = final.FindIndex(i => i.Keyword == "RUN" && i.Arguments.Contains("ldd ", StringComparison.Ordinal));
        Assert.True(check >= 0, "no ldd check in the final stage");
        Assert.True(check > final.FindLastIndex(i => i.Keyword == "COPY"), "the check must run after every COPY");
        Assert.True(check < final.FindLastIndex(i => i.Keyword == "USER"));
    }

    [Fact]
    public async Task Fails_the_build_when_a_cuda_library_the_provider_links_is_missing()
    {
        File.Copy(Repository.OnnxRuntimeCudaProvider, Path.Combine(WwwRoot, "libonnxruntime_providers_cuda.so"));
        File.Copy(SystemLibrary("libz.so.1"), Path.Combine(CudaLib, "libcudart.so.13"));

        var result = await RunCheckAsync();

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("libcublasLt.so.13 => not found", result.StandardOutput, StringComparison.Ordinal);
        // The driver is mounted at run time: never reported.
        Assert.DoesNotContain("libcuda.so.1", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fails_the_build_when_a_library_is_present_but_lacks_the_symbol_version_the_provider_needs()
    {
        File.Copy(Repository.OnnxRuntimeCudaProvider, Path.Combine(WwwRoot, "libonnxruntime_providers_cuda.so"));
        foreach (var soname in new[] { "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10" })
        {
            File.Copy(SystemLibrary("libz.so.1"), Path.Combine(CudaLib, soname));
        }

        var result = await RunCheckAsync();

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("version `libcublas.so.13' not found", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Passes_when_every_dependency_resolves()
    {
        File.Copy(SystemLibrary("libz.so.1"), Path.Combine(CudaLib, "libz.so.1"));
        File.Copy(Path.Combine(s_providerDirectory, "libonnxruntime_providers_shared.so"), Path.Combine(WwwRoot, "libonnxruntime_providers_shared.so"));

        var result = await RunCheckAsync();

        Assert.True(result.ExitCode == 0, result.Describe());
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private Task<ProcessResult> RunCheckAsync()
    {
        var script = Dockerfile.Parse(File.ReadAllText(Repository.Dockerfile)).Final.All("RUN")
            .Single(r => r.Contains("ldd ", StringComparison.Ordinal))
            .Replace("/opt/cuda/lib", CudaLib, StringComparison.Ordinal)
            .Replace("/home/site/wwwroot", WwwRoot, StringComparison.Ordinal);
        // RUN's shell form is /bin/sh -c.
        return ProcessRunner.RunAsync("/bin/sh", ["-c", script], _root);
    }

    private static string SystemLibrary(string soname) =>
        new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64" }
            .Select(d => Path.Combine(d, soname))
            .FirstOrDefault(File.Exists)
        ?? throw new FileNotFoundException($"{soname} is not installed on this machine.");
}
