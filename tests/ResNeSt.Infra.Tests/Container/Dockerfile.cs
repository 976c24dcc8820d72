using System.Text.RegularExpressions;

namespace ResNeSt.Infra.Tests.Container;

/// <summary>A Dockerfile read statically (Docker cannot run in CI): instructions by stage, with ARG defaults resolved.</summary>
internal sealed partial record Dockerfile(IReadOnlyList<Dockerfile.Stage> Stages, IReadOnlyDictionary<string, string> GlobalArgs)
{
    public sealed record Instruction(string Keyword, string Arguments);

    public sealed record Stage(string Image, string? Alias, IReadOnlyList<Instruction> Instructions)
    {
        public IEnumerable<string> All(string keyword) =>
            Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);
    }

    public Stage Final => Stages[^1];

    public Stage Named(string alias) => Stages.Single(s => s.Alias == alias);

    public static Dockerfile Parse(string text)
    {
        var logical = new List<string>();
        var current = "";
        foreach (var raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.TrimEnd();
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || line.Length == 0))
            {
                continue;
            }

            if (line.TrimStart().StartsWith('#'))
            {
                continue; // comment inside a continued instruction
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }

            logical.Add(current + line);
            current = "";
        }

        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new List<Stage>();
        List<Instruction>? instructions = null;
        foreach (var line in logical)
        {
            var trimmed = line.Trim();
            var space = trimmed.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? trimmed : trimmed[..space]).ToUpperInvariant();
            var arguments = space < 0 ? "" : trimmed[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var match = FromPattern().Match(arguments);
                var image = ArgReference().Replace(match.Groups["image"].Value, m => args[m.Groups[1].Value]);
                instructions = [];
                stages.Add(new Stage(image, match.Groups["alias"].Success ? match.Groups["alias"].Value : null, instructions));
            }
            else if (instructions is null && keyword == "ARG")
            {
                var parts = arguments.Split('=', 2);
                args[parts[0]] = parts.Length > 1 ? parts[1] : "";
            }
            else
            {
                instructions?.Add(new Instruction(keyword, arguments));
            }
        }

        return new Dockerfile(stages, args);
    }

    [GeneratedRegex(@"^(?:--platform=\S+\s+)?(?<image>\S+)(?:\s+AS\s+(?<alias>\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex FromPattern();

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex ArgReference();
}
