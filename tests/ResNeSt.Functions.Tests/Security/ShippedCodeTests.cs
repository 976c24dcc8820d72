using System.Reflection;
using System.Xml.Linq;
using ResNeSt.Functions.Api;
using ResNeSt.TestSupport;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>
/// What ships (the Functions container, the <c>resnest</c> tool package) is the product and the libraries it runs on:
/// no development or test code.
/// </summary>
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

    /// <summary>
    /// The project references, followed to the end: a reference the compiler drops because nothing is used from it still
    /// ships (in the tool package, in the publish folder), so the assembly check above is not enough.
    /// </summary>
    [Theory]
    [InlineData("src/ResNeSt.Cli/ResNeSt.Cli.csproj")]
    [InlineData("src/ResNeSt.Functions/ResNeSt.Functions.csproj")]
    public void A_shipped_project_references_no_test_or_dev_project(string project)
    {
        var closure = ProjectClosure(Path.Combine(TestImages.RepositoryRoot, project));

        Assert.Contains(closure, p => Path.GetFileName(p) == "ResNeSt.Pipeline.csproj");
        var src = Path.Combine(TestImages.RepositoryRoot, "src") + Path.DirectorySeparatorChar;
        Assert.All(closure, p => Assert.StartsWith(src, p, StringComparison.Ordinal));
        Assert.DoesNotContain(closure, p => Path.GetFileName(p) == "ResNeSt.Testing.csproj");
    }

    private static HashSet<string> ProjectClosure(string project)
    {
        var closure = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var path))
        {
            if (!closure.Add(path))
            {
                continue;
            }

            foreach (var reference in XDocument.Load(path).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, include)));
            }
        }

        return closure;
    }
}
