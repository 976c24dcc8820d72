using System.Globalization;
using ResNeSt.Models.Architecture;

namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>
/// The C# <see cref="StateDictSpec"/> against the state_dict of the PyTorch module in tools/make-checkpoint-fixtures.py
/// (the module the fixtures come from), for all four official variants: same keys, order, shapes and kinds.
/// </summary>
public sealed class OfficialKeyListingTests
{
    private static readonly Dictionary<string, (int Entries, long Parameters, List<string[]> Rows)> s_listing = Parse();

    [Theory]
    [InlineData("resnest50")]
    [InlineData("resnest101")]
    [InlineData("resnest200")]
    [InlineData("resnest269")]
    public void The_spec_equals_the_PyTorch_modules_state_dict(string name)
    {
        var spec = StateDictSpec.For(ResNeStVariant.FromName(name));
        var (entries, parameters, rows) = s_listing[name];

        Assert.Equal(entries, spec.Entries.Count);
        Assert.Equal(parameters, spec.ParameterCount);
        Assert.Equal(rows.Count, spec.Entries.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var entry = spec.Entries[i];
            Assert.Equal(rows[i][0], entry.Key);
            Assert.Equal(rows[i][1], string.Join(',', entry.Shape));
            Assert.Equal(rows[i][2], entry.Kind switch
            {
                StateEntryKind.Parameter => "parameter",
                StateEntryKind.RunningStatistic => "statistic",
                _ => "counter",
            });
        }
    }

    private static Dictionary<string, (int, long, List<string[]>)> Parse()
    {
        var result = new Dictionary<string, (int, long, List<string[]>)>();
        List<string[]>? rows = null;
        foreach (string line in File.ReadLines(Fixtures.PathOf("official-state-dict-keys.txt")))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            string[] fields = line.Split('\t');
            if (fields[0] == "variant")
            {
                rows = [];
                result[fields[1]] = (int.Parse(fields[2], CultureInfo.InvariantCulture), long.Parse(fields[3], CultureInfo.InvariantCulture), rows);
            }
            else
            {
                rows!.Add(fields);
            }
        }

        return result;
    }
}
