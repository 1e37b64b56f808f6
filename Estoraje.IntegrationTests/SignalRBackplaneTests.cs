using Estoraje.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Estoraje.IntegrationTests;

/// <summary>
/// ASP.NET Core SignalR scaled out with its Redis backplane on one Estoraje node: two app instances in the test
/// process, a client of each; broadcasts and group messages reach the other instance's clients.
/// </summary>
public sealed class SignalRBackplaneTests(EstorajeFixture server) : IClassFixture<EstorajeFixture>
{
    [Theory]
    [MemberData(nameof(StackExchangeRedisTests.Protocols), MemberType = typeof(StackExchangeRedisTests))]
    public Task A_client_of_one_app_instance_receives_what_a_client_of_the_other_sends_to_all_and_to_its_group(RedisProtocol protocol) =>
        SignalRApp.AssertBackplaneDeliversAsync(server.Port, server.Port, protocol);
}
