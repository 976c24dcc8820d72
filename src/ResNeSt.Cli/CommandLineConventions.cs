using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ResNeSt.Cli;

/// <summary>
/// What every <c>resnest</c> (and <c>resnest-dev</c>) command shares, applied once to the whole command tree so that no
/// command can forget it: placeholders that say what an option takes, numbers parsed with a one-line error instead of
/// an exception, the exit codes in each command's help, and one way to run a command line (<see cref="InvokeAsync"/>).
/// </summary>
internal static partial class CommandLineConventions
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public const string ExitCodesHelp =
        "Exit codes: 0 success; 1 the command ran and some of its work failed; "
        + "2 usage error (a bad command line, or a file or folder it names is missing or unusable).";

    /// <summary>
    /// Parses and runs a command line of <paramref name="root"/>: usage errors are one line named after the command on
    /// stderr and exit 2, a bare <paramref name="tool"/> prints the help on stderr, cancellation exits 130, and files
    /// that vanish mid-command are one line, not a stack trace.
    /// </summary>
    public static async Task<int> InvokeAsync(
        RootCommand root, string tool, string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(configuration);
        if (args.Length == 0)
        {
            // A bare command is a usage error: say how to use it, on stderr (stdout is for data).
            await root.Parse(["--help"]).InvokeAsync(new InvocationConfiguration { Output = configuration.Error, Error = configuration.Error }, cancellationToken);
            return ExitUsage;
        }

        var parsed = root.Parse(args);
        var name = parsed.CommandResult.Command is RootCommand ? tool : $"{tool} {parsed.CommandResult.Command.Name}";
        if (parsed.Errors.Count > 0)
        {
            // One line, named after the command, and exit 2: what a shell user (and a script's `case $?`) expects.
            var message = string.Join("; ", parsed.Errors.Select(e => OneLine().Replace(e.Message, " ").Trim()).Distinct(StringComparer.Ordinal));
            await configuration.Error.WriteLineAsync($"{name}: {message}");
            return ExitUsage;
        }

        configuration.EnableDefaultExceptionHandler = false;
        try
        {
            return await parsed.InvokeAsync(configuration, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await configuration.Error.WriteLineAsync($"{name}: cancelled");
            return 130;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Files that vanished or cannot be read mid-command: the message names the file; a stack trace adds nothing.
            await configuration.Error.WriteLineAsync($"{name}: {OneLine().Replace(ex.Message, " ").Trim()}");
            return ExitFailed;
        }
    }

    [GeneratedRegex(@"\s*[\r\n]+\s*")]
    private static partial Regex OneLine();

    public static void Apply(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        root.Description = $"{root.Description} {ExitCodesHelp}";
        foreach (var command in root.Subcommands)
        {
            command.Description = $"{command.Description} {ExitCodesHelp}";
            foreach (var option in command.Options)
            {
                Conform(option);
            }
        }
    }

    private static void Conform(Option option)
    {
        option.HelpName ??= Placeholder(option.ValueType);
        switch (option)
        {
            case Option<int> whole:
                whole.CustomParser = r => ParseInt(r, whole.Name) ?? 0;
                GuardValidators(option, IsInt);
                break;
            case Option<int?> optionalWhole:
                optionalWhole.CustomParser = r => ParseInt(r, optionalWhole.Name);
                GuardValidators(option, IsInt);
                break;
            case Option<double> real:
                real.CustomParser = r => ParseDouble(r, real.Name) ?? 0;
                GuardValidators(option, IsDouble);
                break;
        }
    }

    private static string? Placeholder(Type type) =>
        (Nullable.GetUnderlyingType(type) ?? type) switch
        {
            var t when t == typeof(FileInfo) => "FILE",
            var t when t == typeof(DirectoryInfo) => "DIR",
            var t when t == typeof(int) || t == typeof(long) || t == typeof(double) => "N",
            var t when t == typeof(TimeSpan) => "HH:MM:SS",
            _ => null,
        };

    private static int? ParseInt(ArgumentResult result, string name)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[^1].Value;
        if (IsInt(text))
        {
            return int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        result.AddError($"{name} takes a whole number, not '{text}'.");
        return null;
    }

    private static double? ParseDouble(ArgumentResult result, string name)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[^1].Value;
        if (IsDouble(text))
        {
            return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        result.AddError($"{name} takes a number, not '{text}'.");
        return null;
    }

    private static bool IsInt(string text) => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);

    private static bool IsDouble(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);

    /// <summary>
    /// Range validators read the option's value; for a token that did not parse, reading it throws (System.CommandLine
    /// runs validators after a failed conversion), which crashed the process with exit 134. The parse error already
    /// says what is wrong, so the validators are skipped then.
    /// </summary>
    private static void GuardValidators(Option option, Func<string, bool> parses)
    {
        var validators = option.Validators.ToList();
        option.Validators.Clear();
        foreach (var validate in validators)
        {
            option.Validators.Add(result =>
            {
                if (result.Tokens.All(t => parses(t.Value)))
                {
                    validate(result);
                }
            });
        }
    }
}
