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

/// <summary>
/// A real redis-server and an Estoraje server side by side, for differential tests. Redis runs with
/// <c>--databases 1</c> because Estoraje serves a single database: SELECT, COPY ... DB and CONFIG GET databases
/// then mean the same on both.
/// </summary>
public sealed class DifferentialFixture : IAsyncLifetime
{
    private RedisServerProcess? _redis;
    private EstorajeServerProcess? _estoraje;

    public RedisServerProcess Redis => _redis ?? throw new InvalidOperationException("redis-server is not started.");

    public EstorajeServerProcess Estoraje => _estoraje ?? throw new InvalidOperationException("Estoraje is not started.");

    public async Task InitializeAsync()
    {
        var redis = RedisServerProcess.StartAsync("--databases", "1");
        // The memory store, like this Redis without persistence: CONFIG GET maxmemory/appendonly then agree too.
        var estoraje = EstorajeServerProcess.StartAsync("--storage", "memory");
        try
        {
            await Task.WhenAll(redis, estoraje);
        }
        finally
        {
            _redis = redis.IsCompletedSuccessfully ? redis.Result : null;
            _estoraje = estoraje.IsCompletedSuccessfully ? estoraje.Result : null;
        }
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        if (_estoraje is not null)
            await _estoraje.DisposeAsync();
    }
}
