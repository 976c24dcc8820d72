using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Hook;

public sealed class PostDeployHookTests
{
    private static readonly string[] GpuKeyCommandPrefix =
    [
        "az", "containerapp", "function", "keys", "list",
        "--resource-group", HookOutputs.ResourceGroup, "--name", HookOutputs.AppName, "--key-type", "systemKey",
    ];

    private static readonly string[] FlexKeyCommand =
    [
        "az", "functionapp", "keys", "list",
        "--resource-group", HookOutputs.ResourceGroup, "--name", HookOutputs.AppName,
        "--query", "systemKeys.blobs_extension", "--output", "tsv",
    ];

    [Fact]
    public async Task Passes_shellcheck()
    {
        // .ci/run installs shellcheck on a fresh machine; without it this check cannot be made, so it fails loudly.
        var shellcheck = Environment.GetEnvironmentVariable("PATH")!.Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "shellcheck")).FirstOrDefault(File.Exists);
        Assert.True(shellcheck is not null, "shellcheck is not installed: apt-get install shellcheck (as .ci/run does).");

        var result = await ProcessRunner.RunAsync(shellcheck!, ["--shell=bash", "--severity=style", Repository.Hook], Repository.Root);
        Assert.True(result.ExitCode == 0, result.Describe());
    }

    [Fact]
    public async Task Dry_run_prints_every_command_with_a_key_placeholder_and_runs_none()
    {
        using var fake = new FakeAzureCli();
        var result = await FakeAzureCli.RunHookAsync(fake.Environment(HookOutputs.For("gpu-t4")), "--dry-run");

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Empty(fake.Calls);
        var commands = await ParseShellLinesAsync(result.StandardOutput);
        Assert.Equal(3, commands.Count);
        Assert.Equal(["curl", "--silent", "--output", "/dev/null", "--write-out", "%{http_code}", "--max-time", "60", $"https://{HookOutputs.HostName}/"], commands[0]);
        Assert.Equal(GpuKeyCommandPrefix, commands[1][..GpuKeyCommandPrefix.Length]);
        Assert.Equal(HookOutputs.SubscribeCommand("<blobs_extension-key>"), commands[2]);
    }

    [Fact]
    public async Task On_container_apps_it_waits_for_the_system_key_then_subscribes_the_blob_webhook()
    {
        using var fake = new FakeAzureCli(keyMissingCalls: 2);
        var result = await FakeAzureCli.RunHookAsync(fake.Environment(HookOutputs.For("gpu-a100")));

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain(FakeAzureCli.SystemKey, result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        var calls = fake.Calls;
        Assert.Equal("curl", calls[0][0]);
        var keyCalls = calls.Where(c => c.Length > 2 && c[1] == "containerapp").ToList();
        Assert.Equal(3, keyCalls.Count);
        Assert.All(keyCalls, c => Assert.Equal(GpuKeyCommandPrefix, c[..GpuKeyCommandPrefix.Length]));
        Assert.Contains("blobs_extension", keyCalls[0][GpuKeyCommandPrefix.Length + 1], StringComparison.Ordinal);
        Assert.Equal(HookOutputs.SubscribeCommand(FakeAzureCli.SystemKey), calls[^1]);
        Assert.Equal(5, calls.Count);
    }

    [Fact]
    public async Task On_flex_consumption_it_reads_the_key_from_the_function_app()
    {
        using var fake = new FakeAzureCli();
        var result = await FakeAzureCli.RunHookAsync(fake.Environment(HookOutputs.For("cpu-flex")));

        Assert.True(result.ExitCode == 0, result.Describe());
        var calls = fake.Calls;
        Assert.Equal(3, calls.Count);
        Assert.Equal(FlexKeyCommand, calls[1]);
        Assert.Equal(HookOutputs.SubscribeCommand(FakeAzureCli.SystemKey), calls[2]);
    }

    [Fact]
    public async Task Gives_up_when_the_key_never_appears()
    {
        using var fake = new FakeAzureCli(keyMissingCalls: 100);
        var result = await FakeAzureCli.RunHookAsync(fake.Environment(HookOutputs.For("gpu-t4")));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no blobs_extension key", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(fake.Calls, c => c.Contains("eventgrid"));
    }

    [Fact]
    public async Task Refuses_to_run_without_the_azd_outputs_and_names_the_missing_ones()
    {
        using var fake = new FakeAzureCli();
        var outputs = HookOutputs.For("gpu-t4");
        outputs.Remove("STORAGE_ACCOUNT_ID");
        outputs.Remove("BLOB_TRIGGER_FUNCTION_NAME");
        var result = await FakeAzureCli.RunHookAsync(fake.Environment(outputs), "--dry-run");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not set: STORAGE_ACCOUNT_ID BLOB_TRIGGER_FUNCTION_NAME", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(fake.Calls);
    }

    [Fact]
    public async Task Rejects_an_unknown_hosting_choice()
    {
        using var fake = new FakeAzureCli();
        var result = await FakeAzureCli.RunHookAsync(fake.Environment(HookOutputs.For("gpu-h100")), "--dry-run");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("unknown RESNEST_HOSTING 'gpu-h100'", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Main_bicep_outputs_every_value_the_hook_reads()
    {
        var main = Repository.Read("infra", "main.bicep");
        foreach (var name in HookOutputs.Required)
        {
            Assert.Contains($"output {name} string", main, StringComparison.Ordinal);
        }

        Assert.Contains("output BLOB_TRIGGER_FUNCTION_NAME string = names.functions.blobTrigger", main, StringComparison.Ordinal);
        Assert.Contains("output IMAGES_CONTAINER string = names.containers.images", main, StringComparison.Ordinal);
        Assert.Contains("output DEAD_LETTER_CONTAINER string = names.containers.deadLetter", main, StringComparison.Ordinal);
    }

    [Fact]
    public void Azd_runs_the_hook_after_deploy_for_both_hosting_layouts()
    {
        Assert.Contains("run: bash ./infra/hooks/postdeploy.sh", Repository.Read("azure.yaml"), StringComparison.Ordinal);
        Assert.Contains("run: bash ../../infra/hooks/postdeploy.sh", Repository.Read("deploy", "cpu-flex", "azure.yaml"), StringComparison.Ordinal);
    }

    /// <summary>Splits each printed line into words exactly as bash would read it back.</summary>
    private static async Task<List<string[]>> ParseShellLinesAsync(string output)
    {
        var commands = new List<string[]>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = await ProcessRunner.RunAsync(
                "bash", ["-c", "eval \"words=($1)\"; printf '%s\\x1f' \"${words[@]}\"", "parse", line], Repository.Root);
            Assert.True(words.ExitCode == 0, words.Describe());
            commands.Add(words.StandardOutput.TrimEnd('\u001f').Split('\u001f'));
        }

        return commands;
    }
}
