using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Estoraje.Resp;
using Estoraje.Server;
using Estoraje.Server.Cluster;
using Estoraje.Server.Hosting;
using Estoraje.Server.Network;
using Estoraje.Server.Scripting;
using Estoraje.Storage.Memory;

namespace Estoraje.Tests.Server.Scripting;

/// <summary>
/// Redis's conversion rules between Lua and RESP, and the sandbox, through EVAL on a real server context (memory
/// store, no sockets): what a script returns, what redis.call hands it, and what a script may not do.
/// </summary>
public sealed class ScriptConversionTests : IDisposable
{
    private readonly MemoryStore _store = new();
    private readonly ServerContext _server;
    private readonly Pipe _pipe = new();
    private readonly ClientSession _session;

    public ScriptConversionTests()
    {
        _server = new ServerContext(new ServerOptions(), _store, TimeProvider.System, () => { });
        _session = new ClientSession(_server, _pipe.Writer, "test", "test");
    }

    public void Dispose()
    {
        _session.Dispose();
        _server.Scripts.Dispose();
        _store.Dispose();
    }

    [Theory]
    [InlineData(0.1, "0.10000000000000001")]
    [InlineData(1e20, "1e+20")]
    [InlineData(1e-5, "1.0000000000000001e-05")]
    [InlineData(3.0, "3")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(123456789012345678.0, "1.2345678901234568e+17")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Numbers_passed_to_redis_call_are_formatted_as_printf_17g(double value, string expected) =>
        Assert.Equal(expected, LuaReplies.FormatArgument(value));

    [Theory]
    [InlineData(3.99, 3)]
    [InlineData(-3.99, -3)]
    [InlineData(double.NaN, long.MinValue)]
    [InlineData(double.PositiveInfinity, long.MinValue)]
    [InlineData(-1e300, long.MinValue)]
    [InlineData(9007199254740993.0, 9007199254740992)]
    public void Lua_numbers_become_integers_by_truncation_as_a_C_cast(double value, long expected) =>
        Assert.Equal(expected, LuaReplies.Truncate(value));

    [Theory]
    [InlineData("return 3.7", ":3\r\n")]
    [InlineData("return -3.7", ":-3\r\n")]
    [InlineData("return 'x'", "$1\r\nx\r\n")]
    [InlineData("return true", ":1\r\n")]
    [InlineData("return false", "$-1\r\n")]
    [InlineData("return nil", "$-1\r\n")]
    [InlineData("return {1, 2, nil, 4}", "*2\r\n:1\r\n:2\r\n")]
    [InlineData("return {1, {2, 'a'}, {}}", "*3\r\n:1\r\n*2\r\n:2\r\n$1\r\na\r\n*0\r\n")]
    [InlineData("return {ok='FINE'}", "+FINE\r\n")]
    [InlineData("return {err='WRONG thing'}", "-WRONG thing\r\n")]
    [InlineData("return {err='a\\nb'}", "-a b\r\n")]
    [InlineData("return {x=1, 'only'}", "*1\r\n$4\r\nonly\r\n")]
    [InlineData("return {map={k='v'}}", "*2\r\n$1\r\nk\r\n$1\r\nv\r\n")]
    [InlineData("return {set={m=true}}", "*1\r\n$1\r\nm\r\n")]
    [InlineData("return {double=1.5}", "$3\r\n1.5\r\n")]
    [InlineData("return tostring", "$-1\r\n")]
    public void A_script_result_converts_to_RESP2_as_in_Redis(string script, string expected) =>
        Assert.Equal(expected, Eval(script));

    [Theory]
    [InlineData("return {map={k='v'}}", "%1\r\n$1\r\nk\r\n$1\r\nv\r\n")]
    [InlineData("return {set={m=true}}", "~1\r\n$1\r\nm\r\n")]
    [InlineData("return {double=1.5}", ",1.5\r\n")]
    [InlineData("return {big_number='12345678901234567890'}", "(12345678901234567890\r\n")]
    [InlineData("return {verbatim_string={format='txt', string='hi'}}", "=6\r\ntxt:hi\r\n")]
    [InlineData("return true", ":1\r\n")]
    [InlineData("return false", "_\r\n")]
    [InlineData("redis.setresp(3) return true", "#t\r\n")]
    [InlineData("redis.setresp(3) return false", "#f\r\n")]
    public void A_script_result_converts_to_RESP3_for_a_client_that_said_HELLO_3(string script, string expected)
    {
        _session.Writer.Protocol = 3;
        Assert.Equal(expected, Eval(script));
    }

    [Fact]
    public void A_table_holding_itself_ends_in_Redis_s_stack_limit_error()
    {
        var reply = Eval("local t = {} t[1] = t return t");

        Assert.Equal(LuaReplies.MaxDepth, CountOccurrences(reply, "*1\r\n"));
        Assert.EndsWith("-ERR reached lua stack limit\r\n", reply, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis.call('set', 'k', '42') local v = redis.call('incr', 'k') return math.type(v)", "$7\r\ninteger\r\n")]
    [InlineData("return tostring(redis.call('get', 'missing'))", "$5\r\nfalse\r\n")]
    [InlineData("return redis.call('ping').ok", "$4\r\nPONG\r\n")]
    [InlineData("redis.call('set', 's', 'x') return redis.pcall('incr', 's').err", "$43\r\nERR value is not an integer or out of range\r\n")]
    [InlineData("redis.call('hset', 'h', 'f', 'v') return redis.call('hgetall', 'h')", "*2\r\n$1\r\nf\r\n$1\r\nv\r\n")]
    [InlineData("redis.setresp(3) redis.call('hset', 'h', 'f', 'v') return redis.call('hgetall', 'h').map.f", "$1\r\nv\r\n")]
    [InlineData("redis.setresp(3) return tostring(redis.call('get', 'missing'))", "$3\r\nnil\r\n")]
    [InlineData("return redis.call('mget', 'missing', 'missing')[2] == false", ":1\r\n")]
    public void A_command_reply_converts_to_Lua_as_in_Redis(string script, string expected) =>
        Assert.Equal(expected, Eval(script));

    [Theory]
    [InlineData("x = 1", "-ERR user_script:1: Attempt to modify a readonly table script: ")]
    [InlineData("return undefined_name", "-ERR user_script:1: Script attempted to access nonexistent global variable 'undefined_name' script: ")]
    [InlineData("string.len = nil", "-ERR user_script:1: Attempt to modify a readonly table script: ")]
    [InlineData("rawset(redis, 'call', nil)", "-ERR Attempt to modify a readonly table script: ")]
    [InlineData("setmetatable(_G, {})", "-ERR user_script:1: cannot change a protected metatable script: ")]
    [InlineData("getmetatable('').__index = {}", "-ERR user_script:1: attempt to index a boolean value script: ")]
    [InlineData("return os.execute('true')", "-ERR user_script:1: Script attempted to access nonexistent global variable 'os' script: ")]
    [InlineData("return io.open('/etc/passwd')", "-ERR user_script:1: Script attempted to access nonexistent global variable 'io' script: ")]
    [InlineData("return loadstring(string.dump(function() end))", "$-1\r\n")]
    [InlineData("local function f() return f() + 1 end return f()", "-ERR user_script:1: stack overflow")]
    [InlineData("return string.rep('x', 1024 * 1024 * 1024)", "-ERR Error running script ")]
    [InlineData("coroutine.yield()", "-ERR attempt to yield across metamethod/C-call boundary script: ")]
    public void The_sandbox_refuses_what_Redis_refuses(string script, string expectedStart) =>
        Assert.StartsWith(expectedStart, Eval(script), StringComparison.Ordinal);

    [Fact]
    public void Nothing_a_script_leaves_is_seen_by_the_next_run_of_a_pooled_state()
    {
        Assert.StartsWith("-ERR", Eval("rawset(_G, 'leak', 1)"), StringComparison.Ordinal);
        Eval("local t = setmetatable({}, {__gc = function() redis.call('set', 'gc', 'ran') end}) t = nil collectgarbage()");
        Eval("collectgarbage() collectgarbage()");

        Assert.Equal("$1\r\nk\r\n", Eval("return KEYS[1]", "k"));
        Assert.Equal("$-1\r\n", Eval("return KEYS[1]"));
        Assert.StartsWith("-ERR user_script:1: Script attempted to access nonexistent global variable 'leak'", Eval("return leak"), StringComparison.Ordinal);
        Assert.Equal("$-1\r\n", Eval("return redis.call('get', 'gc')"));
    }

    [Fact]
    public async Task Script_kill_stops_a_script_that_has_not_written()
    {
        var session = new ClientSession(_server, new Pipe().Writer, "other", "test");
        var running = Task.Run(() => Eval("while true do end"));
        while (_server.Scripts.Running is null)
            await Task.Delay(5);

        Assert.Equal("+OK\r\n", Run(session, "SCRIPT", "KILL"));
        var reply = await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith("-ERR Script killed by user with SCRIPT KILL... script: ", reply, StringComparison.Ordinal);
        Assert.EndsWith(", on @user_script:1.\r\n", reply, StringComparison.Ordinal);
        Assert.Equal("-NOTBUSY No scripts in execution right now.\r\n", Run(session, "SCRIPT", "KILL"));
        Assert.Equal(":1\r\n", Eval("return 1"));
    }

    [Fact]
    public async Task Script_kill_refuses_a_script_that_wrote()
    {
        var session = new ClientSession(_server, new Pipe().Writer, "other", "test");
        var running = Task.Run(() => Eval("redis.call('set', 'w', '1') local i = 0 while i < 100000000 do i = i + 1 end return i"));
        while (_server.Scripts.Running is not { Wrote: true })
            await Task.Delay(5);

        Assert.StartsWith("-UNKILLABLE Sorry the script already executed write commands", Run(session, "SCRIPT", "KILL"), StringComparison.Ordinal);
        Assert.Equal(":100000000\r\n", await running.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    private string Eval(string script, params string[] keys) =>
        Run(_session, ["EVAL", script, keys.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), .. keys]);

    private string Run(ClientSession session, params string[] arguments)
    {
        var buffer = new ReadOnlySequence<byte>(PeerConnection.Encode(arguments));
        var output = new ArrayBufferWriter<byte>();
        var previous = session.Writer.Output;
        session.Writer.Output = output;
        try
        {
            Assert.Equal(ParseStatus.Done, session.Parser.TryParse(ref buffer, out var parsed));
            _server.Commands.Execute(session, parsed);
        }
        finally
        {
            session.Writer.Output = previous;
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static int CountOccurrences(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
