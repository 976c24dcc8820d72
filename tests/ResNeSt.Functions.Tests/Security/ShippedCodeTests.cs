using System.Reflection;
using ResNeSt.Functions.Api;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>What ships in the Functions container is the app and the libraries it runs on: no development or test code.</summary>
public sealed class ShippedCodeTests
{
    [Fact]
    public void The_functions_app_ships_no_emulator_launcher_and_no_test_support()
    {
        var shipped = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var pending = new Stack<Assembly>([typeof(ClassifyApi).Assembly]);
        while (pending.TryPop(out var assembly))
        {
            if (!shipped.TryAdd(assembly.GetName().Name!, assembly))
            {
                continue;
            }

            foreach (var reference in assembly.GetReferencedAssemblies().Where(r => r.Name!.StartsWith("ResNeSt.", StringComparison.Ordinal)))
            {
                pending.Push(Assembly.Load(reference));
            }
        }

        Assert.Contains("ResNeSt.Pipeline", shipped.Keys);
        Assert.DoesNotContain("ResNeSt.Testing", shipped.Keys);
        // Starting node and holding the emulator's development key are for the demo and the tests only.
        var launchers = shipped.Values.SelectMany(a => a.GetTypes()).Where(t => t.Name == "Azurite").Select(t => t.FullName);
        Assert.Empty(launchers);
    }
}
