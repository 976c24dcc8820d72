namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>
/// A hosted app shared by the tests of one collection. Where no host can run, the fixture starts nothing and every
/// test skips with one line saying why.
/// </summary>
public abstract class AppFixture : IAsyncLifetime
{
    private HostedApp? _app;

    internal HostedApp App
    {
        get
        {
            Skip.If(FunctionsHost.Launcher.Launcher is null, FunctionsHost.Launcher.Description);
            return _app ?? throw new InvalidOperationException("The hosted app did not start; see the fixture's error.");
        }
    }

    public async Task InitializeAsync()
    {
        if (FunctionsHost.Launcher.Launcher is not null)
        {
            _app = await StartAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    internal abstract Task<HostedApp> StartAsync();
}

/// <summary>The app with the parity model, as deployed with the template's defaults.</summary>
public sealed class ServingAppFixture : AppFixture
{
    internal override async Task<HostedApp> StartAsync() => await HostedApp.StartAsync(await ParityModel.BytesAsync());
}

[CollectionDefinition(Name)]
public sealed class ServingApp : ICollectionFixture<ServingAppFixture>
{
    public const string Name = "Serving app in the host";
}
