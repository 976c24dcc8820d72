using System.CommandLine;
using ResNeSt.Pipeline.Configuration;

namespace ResNeSt.Cli;

/// <summary>
/// The storage connection of the commands that run the pipeline's services (<c>tag</c>, <c>worker</c>): one option,
/// defaulting to the app's own setting, so that both commands find the same storage as the deployed app.
/// </summary>
internal static class StorageConnection
{
    public static Option<string> Option() => new("--connection")
    {
        Description = "Storage connection string (Azurite: UseDevelopmentStorage=true). Defaults to $ImageStorage.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ResourceNames.Default.ConnectionName) ?? "",
    };

    /// <summary>
    /// Whether <paramref name="connection"/> is missing, said on <paramref name="error"/> as a usage error of
    /// <paramref name="command"/> (<c>resnest tag: …</c>). Checked when the command runs,
    /// not by the parser: the default comes from the environment, so the option may be absent and still set.
    /// </summary>
    public static async Task<bool> IsMissingAsync(string command, string connection, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (!string.IsNullOrWhiteSpace(connection))
        {
            return false;
        }

        await error.WriteLineAsync($"resnest {command}: --connection (or $ImageStorage) is required.").ConfigureAwait(false);
        return true;
    }
}
