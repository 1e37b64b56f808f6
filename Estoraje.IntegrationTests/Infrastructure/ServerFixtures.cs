namespace Estoraje.IntegrationTests.Infrastructure;

/// <summary>One Estoraje server shared by the tests of a class (xunit class fixture); tests use their own keys.</summary>
public sealed class EstorajeFixture : IAsyncLifetime
{
    private EstorajeServerProcess? _server;

    public EstorajeServerProcess Server => _server ?? throw new InvalidOperationException("The server is not started.");

    public int Port => Server.Port;

    public async Task InitializeAsync() => _server = await EstorajeServerProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}
