using System.Text.RegularExpressions;
using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Container;

/// <summary>
/// Static checks of src/ResNeSt.Functions/Dockerfile. The image is not built here (no Docker daemon in CI), so these
/// tests pin what can be known without building: bases, user, natives, ports, and the files it copies.
/// </summary>
[Collection(BicepRun.Name)]
public sealed partial class DockerfileTests(BicepFixture bicep)
{
    private static readonly Dockerfile s_file = Dockerfile.Parse(System.IO.File.ReadAllText(Repository.Dockerfile));

    // What ONNX Runtime 1.31's CUDA execution provider loads (CUDA 13, cuDNN 9): linked (cudart, cuBLAS, cuRAND) or
    // opened at run time (cuDNN and its engine libraries, NVRTC).
    public static TheoryData<string> CudaLibraries => new(
        "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9",
        "libnvrtc.so.13");

    [Fact]
    public void Runs_on_the_functions_dotnet_isolated_10_host() =>
        Assert.Equal("mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0", s_file.Final.Image);

    [Fact]
    public void Every_base_image_is_pinned_to_a_version()
    {
        Assert.Equal(3, s_file.Stages.Count);
        foreach (var stage in s_file.Stages)
        {
            Assert.Matches(PinnedImage(), stage.Image);
            Assert.DoesNotContain(":latest", stage.Image, StringComparison.Ordinal);
        }

        // From NVIDIA's registry: ACR Tasks would pull Docker Hub's copy anonymously, under its rate limits.
        Assert.Matches(@"^nvcr\.io/nvidia/cuda:13\.\d+\.\d+-cudnn-runtime-", s_file.Named("cuda").Image);
        Assert.DoesNotContain(s_file.Stages, s => s.Image.StartsWith("nvidia/", StringComparison.Ordinal) || s.Image.StartsWith("docker.io/", StringComparison.Ordinal));
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/sdk:10\.0\.\d+", s_file.Named("build").Image);
    }

    [Fact]
    public void The_app_runs_as_the_base_images_unprivileged_user()
    {
        var instructions = s_file.Final.Instructions;
        var lastUser = instructions.Select((instruction, index) => (instruction, index)).Last(p => p.instruction.Keyword == "USER");
        // .NET 8+ images (the Functions dotnet-isolated ones included) already have user and group `app`, uid 1654:
        // `useradd ... app` fails the build with "user 'app' already exists".
        Assert.Contains(lastUser.instruction.Arguments, new[] { "app", "1654", "app:app", "1654:1654" });
        Assert.DoesNotContain(instructions.Skip(lastUser.index + 1), i => i.Keyword is "RUN" or "COPY" or "ADD");
        Assert.DoesNotContain(s_file.Final.All("RUN"), run => run.Contains("useradd", StringComparison.Ordinal) || run.Contains("adduser", StringComparison.Ordinal));
        Assert.Contains(s_file.Final.All("RUN"), run => run.Contains("-o app -g app", StringComparison.Ordinal));
    }

    [Fact]
    public void Ships_no_cufft_since_the_provider_does_not_link_it_and_resnest_has_no_fft()
    {
        Assert.DoesNotContain(ElfDependencies.Needed(Repository.OnnxRuntimeCudaProvider), n => n.StartsWith("libcufft", StringComparison.Ordinal));
        Assert.DoesNotContain("cufft", System.IO.File.ReadAllText(Repository.Dockerfile).Replace("No cuFFT", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Publishes_the_gpu_build_of_onnx_runtime_without_the_tensorrt_provider()
    {
        var build = s_file.Named("build").All("RUN").ToList();
        Assert.Contains(build, r => r.Contains("dotnet restore", StringComparison.Ordinal) && r.Contains("-p:OnnxRuntimeFlavor=gpu", StringComparison.Ordinal));
        var publish = Assert.Single(build, r => r.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("-p:OnnxRuntimeFlavor=gpu", publish, StringComparison.Ordinal);
        Assert.Contains("rm /app/publish/libonnxruntime_providers_tensorrt.so", publish, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CudaLibraries))]
    public void Ships_the_cuda_library_the_execution_provider_loads(string soname)
    {
        var gather = string.Join('\n', s_file.Named("cuda").All("RUN"));
        Assert.Contains(soname, gather, StringComparison.Ordinal);
        Assert.Contains(s_file.Final.All("COPY"), c => c == "--from=cuda /export/ /opt/cuda/lib/");
        Assert.Contains(s_file.Final.All("ENV"), e => e.Contains("LD_LIBRARY_PATH=/opt/cuda/lib", StringComparison.Ordinal));
    }

    [Fact]
    public void Ships_every_cuda_library_the_onnx_runtime_provider_binary_links_against()
    {
        // libcuda.so.1 is the driver: the NVIDIA container runtime mounts it from the host, it must not be shipped.
        var needed = ElfDependencies.Needed(Repository.OnnxRuntimeCudaProvider)
            .Where(n => n.StartsWith("libcu", StringComparison.Ordinal) || n.StartsWith("libnv", StringComparison.Ordinal))
            .Where(n => n != "libcuda.so.1")
            .ToList();
        Assert.Contains("libcudart.so.13", needed);
        var gather = string.Join('\n', s_file.Named("cuda").All("RUN"));
        Assert.All(needed, soname => Assert.Contains(soname, gather, StringComparison.Ordinal));
        Assert.DoesNotContain("libcuda.so", gather, StringComparison.Ordinal);
    }

    [Fact]
    public void Copies_only_the_cuda_libraries_it_names_and_no_toolkit()
    {
        var gather = string.Join('\n', s_file.Named("cuda").All("RUN"));
        // Real files under their sonames (cp -L), not the whole lib64 directory or a toolkit.
        Assert.Contains("cp -L", gather, StringComparison.Ordinal);
        Assert.DoesNotContain("lib64/ ", gather, StringComparison.Ordinal);
        Assert.DoesNotContain(s_file.Final.All("COPY"), c => c.Contains("/usr/local/cuda", StringComparison.Ordinal));
        Assert.Contains(s_file.Final.All("ENV"), e => e.Contains("NVIDIA_VISIBLE_DEVICES=all", StringComparison.Ordinal));
        Assert.Contains(s_file.Final.All("ENV"), e => e.Contains("NVIDIA_DRIVER_CAPABILITIES=compute,utility", StringComparison.Ordinal));
    }

    [Fact]
    public void Publishes_linux_x64_natives_only()
    {
        var publish = Assert.Single(s_file.Named("build").All("RUN"), r => r.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("--runtime linux-x64", publish, StringComparison.Ordinal);
        Assert.Contains("--self-contained false", publish, StringComparison.Ordinal);
        Assert.Contains("src/ResNeSt.Functions/ResNeSt.Functions.csproj", publish, StringComparison.Ordinal);
        var text = System.IO.File.ReadAllText(Repository.Dockerfile);
        Assert.DoesNotMatch(@"\b(win|osx)-(x64|x86|arm64)\b", text);
    }

    [Fact]
    public void Listens_on_the_port_the_container_app_ingress_targets()
    {
        var port = int.Parse(AspNetCoreUrls().Match(string.Join('\n', s_file.Final.All("ENV"))).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(s_file.Final.All("EXPOSE"), e => e == port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var app = bicep.SnapshotFor("gpu-t4").Single("Microsoft.App/containerApps");
        Assert.Equal(port, (int?)app["properties"]!["configuration"]!["ingress"]!["targetPort"]);
    }

    [Fact]
    public void Every_file_the_build_stage_copies_exists_in_the_repository()
    {
        foreach (var copy in s_file.Named("build").All("COPY"))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[..^1].Where(p => !p.StartsWith("--", StringComparison.Ordinal)))
            {
                var path = Path.Combine(Repository.Root, source);
                Assert.True(System.IO.File.Exists(path) || Directory.Exists(path), $"COPY source {source} does not exist");
            }
        }
    }

    [Fact]
    public void The_restore_layer_has_every_project_and_every_file_outside_src_the_app_build_reads()
    {
        var copied = s_file.Named("build").All("COPY")
            .SelectMany(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1])
            .Select(p => Path.GetFullPath(Path.Combine(Repository.Root, p)))
            .ToHashSet(StringComparer.Ordinal);
        var src = Path.GetFullPath(Path.Combine(Repository.Root, "src")) + Path.DirectorySeparatorChar;

        var pending = new Stack<string>([Path.GetFullPath(Path.Combine(Repository.Root, "src", "ResNeSt.Functions", "ResNeSt.Functions.csproj"))]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryPop(out var project))
        {
            if (!seen.Add(project))
            {
                continue;
            }

            Assert.True(copied.Contains(project), $"{Path.GetRelativePath(Repository.Root, project)} is not copied before `dotnet restore`");
            var directory = Path.GetDirectoryName(project)!;
            foreach (var item in System.Xml.Linq.XDocument.Load(project).Descendants().Where(e => e.Attribute("Include") is not null))
            {
                var include = item.Attribute("Include")!.Value;
                if (include.Contains('$', StringComparison.Ordinal) || item.Name.LocalName is "PackageReference" or "FrameworkReference" or "InternalsVisibleTo" or "Using")
                {
                    continue;
                }

                var path = Path.GetFullPath(Path.Combine(directory, include));
                if (item.Name.LocalName == "ProjectReference")
                {
                    pending.Push(path);
                }
                else if (!path.StartsWith(src, StringComparison.Ordinal) && System.IO.File.Exists(path))
                {
                    Assert.True(copied.Contains(path), $"{Path.GetRelativePath(Repository.Root, path)} (outside src/) is not copied into the build stage");
                }
            }
        }

        Assert.True(seen.Count >= 4, string.Join(", ", seen));
    }

    [Fact]
    public void Azd_builds_it_from_the_repository_root_and_the_context_keeps_the_sources()
    {
        var azureYaml = Repository.Read("azure.yaml");
        Assert.Contains("project: ./src/ResNeSt.Functions", azureYaml, StringComparison.Ordinal);
        Assert.Contains("path: ./Dockerfile", azureYaml, StringComparison.Ordinal);
        Assert.Contains("context: ../..", azureYaml, StringComparison.Ordinal);

        var ignored = Repository.Read(".dockerignore").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
        Assert.DoesNotContain(ignored, l => l.StartsWith("src", StringComparison.Ordinal) || l.StartsWith("infra", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^[\w.\-/]+:[\w.\-]*\d[\w.\-]*(@sha256:[0-9a-f]{64})?$")]
    private static partial Regex PinnedImage();

    [GeneratedRegex(@"ASPNETCORE_URLS=http://\+:(\d+)")]
    private static partial Regex AspNetCoreUrls();
}
