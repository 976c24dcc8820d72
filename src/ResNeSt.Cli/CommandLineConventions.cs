using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace ResNeSt.Cli;

/// <summary>
/// What every <c>resnest</c> command shares, applied once to the whole command tree so that no command can forget it:
/// placeholders that say what an option takes, numbers parsed with a one-line error instead of an exception, and the
/// exit codes in each command's help.
/// </summary>
internal static class CommandLineConventions
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public const string ExitCodesHelp =
        "Exit codes: 0 success; 1 the command ran and some of its work failed; "
        + "2 usage error (a bad command line, or a file or folder it names is missing or unusable).";

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
