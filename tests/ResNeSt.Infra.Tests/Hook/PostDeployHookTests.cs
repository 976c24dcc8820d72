using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Hook;

public sealed class PostDeployHookTests
{
    private static readonly string[] s_gpuKeyCommandPrefix =
    [
        "az", "containerapp", "function", "keys", "list",
        "--resource-group", HookOutputs.ResourceGroup, "--name", HookOutputs.AppName, "--key-type", "systemKey",
    ];

    private static readonly string[] s_flexKeyCommand =
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

    private static readonly string[] s_extensionCommand =
        ["az", "extension", "add", "--name", "containerapp", "--upgrade", "--yes", "--only-show-errors"];

    public static TheoryData<HookShell> Shells => new(HookShell.Bash, HookShell.PowerShell);

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task Dry_run_prints_every_command_with_a_key_placeholder_and_runs_none(HookShell shell)
    {
        using var fake = new FakeAzureCli();
        var result = await FakeAzureCli.RunHookAsync(shell, fake.Environment(HookOutputs.For("gpu-t4")), dryRun: true);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Empty(fake.Calls);
        var commands = await ParseShellLinesAsync(result.StandardOutput);
        Assert.Equal(4, commands.Count);
        Assert.Equal(s_extensionCommand, commands[0]);
        Assert.Equal(["curl", "--silent", "--output", "/dev/null", "--write-out", "%{http_code}", "--max-time", "60", $"https://{HookOutputs.HostName}/"], commands[1]);
        Assert.Equal([.. s_gpuKeyCommandPrefix, "--query", "value.keys[?name=='blobs_extension'] | [0].value", "--output", "tsv"], commands[2]);
        Assert.Equal(HookOutputs.SubscribeCommand("<blobs_extension-key>"), commands[3]);
    }

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task On_container_apps_it_installs_the_extension_waits_for_the_system_key_then_subscribes_the_blob_webhook(HookShell shell)
    {
        // The first two listings answer without blobs_extension (host up, trigger not registered yet).
        using var fake = new FakeAzureCli(keyMissingCalls: 2);
        var result = await FakeAzureCli.RunHookAsync(shell, fake.Environment(HookOutputs.For("gpu-a100")), dryRun: false);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain(FakeAzureCli.SystemKey, result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        var calls = fake.Calls;
        Assert.Equal(s_extensionCommand, calls[0]);
        Assert.Equal("curl", calls[1][0]);
        var keyCalls = calls.Where(c => c.Length > 2 && c[1] == "containerapp").ToList();
        Assert.Equal(3, keyCalls.Count);
        Assert.All(keyCalls, c => Assert.Equal(s_gpuKeyCommandPrefix, c[..s_gpuKeyCommandPrefix.Length]));
        // The webhook URL carries the key the recorded `keys list` output holds, found by the hook's own --query.
        Assert.Equal(HookOutputs.SubscribeCommand(FakeAzureCli.SystemKey), calls[^1]);
        Assert.Equal(6, calls.Count);
    }

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task On_flex_consumption_it_reads_the_key_from_the_function_app(HookShell shell)
    {
        using var fake = new FakeAzureCli();
        var result = await FakeAzureCli.RunHookAsync(shell, fake.Environment(HookOutputs.For("cpu-flex")), dryRun: false);

        Assert.True(result.ExitCode == 0, result.Describe());
        var calls = fake.Calls;
        Assert.Equal(3, calls.Count);
        Assert.Equal("curl", calls[0][0]);
        Assert.Equal(s_flexKeyCommand, calls[1]);
        Assert.Equal(HookOutputs.SubscribeCommand(FakeAzureCli.SystemKey), calls[2]);
    }

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task Gives_up_when_the_key_never_appears(HookShell shell)
    {
        using var fake = new FakeAzureCli(keyMissingCalls: 100);
        var result = await FakeAzureCli.RunHookAsync(shell, fake.Environment(HookOutputs.For("gpu-t4")), dryRun: false);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no blobs_extension key", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(5, fake.Calls.Count(c => c.Contains("keys")));
        Assert.DoesNotContain(fake.Calls, c => c.Contains("eventgrid"));
    }

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task Refuses_to_run_without_the_azd_outputs_and_names_the_missing_ones(HookShell shell)
    {
        using var fake = new FakeAzureCli();
        var outputs = HookOutputs.For("gpu-t4");
        outputs.Remove("STORAGE_ACCOUNT_ID");
        outputs.Remove("BLOB_TRIGGER_FUNCTION_NAME");
        var result = await FakeAzureCli.RunHookAsync(shell, fake.Environment(outputs), dryRun: true);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not set: STORAGE_ACCOUNT_ID BLOB_TRIGGER_FUNCTION_NAME", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(fake.Calls);
    }

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task Rejects_an_unknown_hosting_choice(HookShell shell)
    {
        using var fake = new FakeAzureCli();
        var result = await FakeAzureCli.RunHookAsync(shell, fake.Environment(HookOutputs.For("gpu-h100")), dryRun: true);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("unknown RESNEST_HOSTING 'gpu-h100'", result.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("containerapp-function-keys-list.json", "value.keys[?name=='blobs_extension'] | [0].value")]
    [InlineData("functionapp-keys-list.json", "systemKeys.blobs_extension")]
    public async Task The_fake_az_applies_the_query_to_the_recorded_shape_with_real_jmespath(string recording, string query)
    {
        using var fake = new FakeAzureCli();
        var environment = fake.Environment(HookOutputs.For("gpu-t4"));
        var command = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(environment["FAKE_RECORDINGS"]!, recording)))!["command"]!.GetValue<string>();
        var az = Path.Combine(environment["PATH"]!.Split(Path.PathSeparator)[0], "az");

        var found = await ProcessRunner.RunAsync(az, [.. command.Split(' '), "--query", query, "--output", "tsv"], Repository.Root, environment);
        Assert.True(found.ExitCode == 0, found.Describe());
        Assert.Equal(FakeAzureCli.SystemKey, found.StandardOutput.Trim());

        // The query the hook used before (four alternatives, none for {"value": {"keys": [...]}}) finds nothing.
        const string oldQuery = "systemKeys.blobs_extension || blobs_extension || (keys[?name=='blobs_extension'] | [0].value) || (value[?name=='blobs_extension'] | [0].value)";
        if (recording.StartsWith("containerapp", StringComparison.Ordinal))
        {
            var old = await ProcessRunner.RunAsync(az, [.. command.Split(' '), "--query", oldQuery, "--output", "tsv"], Repository.Root, environment);
            Assert.Equal(string.Empty, old.StandardOutput.Trim());
        }
    }

    [Fact]
    public void Azd_runs_the_powershell_twin_on_windows_for_both_hosting_layouts()
    {
        Assert.Contains("run: ./infra/hooks/postdeploy.ps1", Repository.Read("azure.yaml"), StringComparison.Ordinal);
        Assert.Contains("run: ../../infra/hooks/postdeploy.ps1", Repository.Read("deploy", "cpu-flex", "azure.yaml"), StringComparison.Ordinal);
        Assert.Contains("shell: pwsh", Repository.Read("azure.yaml"), StringComparison.Ordinal);
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
