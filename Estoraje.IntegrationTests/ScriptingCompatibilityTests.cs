using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// Differential tests of EVAL and SCRIPT: the same scripts go to a real redis-server 7 and to Estoraje over raw
/// RESP connections, and every reply must be the same bytes. Each group starts from FLUSHALL and SCRIPT FLUSH.
/// </summary>
/// <remarks>
/// Left out on purpose, because Lua 5.4 (Estoraje) and Lua 5.1 (Redis) differ: the wording of Lua's own runtime
/// and syntax errors ("attempt to index a nil value (local 'x')" against "attempt to index local 'x' (a nil
/// value)"), the order pairs() and map replies walk a table in, integer literals beyond 2^53 (exact in 5.4), and
/// the text of a float holding an integer when concatenated ("5.0" against "5"). The README lists them.
/// </remarks>
public sealed class ScriptingCompatibilityTests(DifferentialFixture servers) : IClassFixture<DifferentialFixture>
{
    private static readonly Dictionary<string, string[][]> s_groups = new()
    {
        ["lua-to-resp"] =
        [
            ["EVAL", "return 1", "0"],
            ["EVAL", "return 3.99", "0"],
            ["EVAL", "return -3.99", "0"],
            ["EVAL", "return 1/0", "0"],
            ["EVAL", "return -1/0", "0"],
            ["EVAL", "return 0/0", "0"],
            ["EVAL", "return 'hello'", "0"],
            ["EVAL", "return ''", "0"],
            ["EVAL", "return true", "0"],
            ["EVAL", "return false", "0"],
            ["EVAL", "return nil", "0"],
            ["EVAL", "return", "0"],
            ["EVAL", "return {}", "0"],
            ["EVAL", "return {1, 2, nil, 4}", "0"],
            ["EVAL", "return {1, true, false, 'x', {ok='hi'}, 2.5, {3, {4}}}", "0"],
            ["EVAL", "return {1, 2, {3, 'x', {err='e1'}}, {ok='fine'}}", "0"],
            ["EVAL", "return {ok='fine'}", "0"],
            ["EVAL", "return {ok=1}", "0"],
            ["EVAL", "return {err='boom'}", "0"],
            ["EVAL", "return {err='line1\\r\\nline2'}", "0"],
            ["EVAL", "return {ok='line1\\r\\nline2'}", "0"],
            ["EVAL", "return {double=3.5}", "0"],
            ["EVAL", "return {map={a=1}}", "0"],
            ["EVAL", "return {set={a=true}}", "0"],
            ["EVAL", "return {big_number='123'}", "0"],
            ["EVAL", "return {x=1, 7}", "0"],
            ["EVAL", "return function() end", "0"],
            ["EVAL", "local t = {} t[1] = t return t", "0"],
            ["EVAL", "return 1, 2", "0"],
        ],
        ["keys-and-argv"] =
        [
            ["EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", "2", "k1", "k2", "a1", "a2"],
            ["EVAL", "return #KEYS + #ARGV", "2", "a", "b", "c"],
            ["EVAL", "return {#KEYS, #ARGV}", "0"],
            ["EVAL", "return ARGV", "0", "x", "y", ""],
            ["EVAL", "return KEYS", "1", "only"],
            ["EVAL", "return 1", "-1"],
            ["EVAL", "return 1", "2", "a"],
            ["EVAL", "return 1", "x"],
            ["EVAL", "return 1", ""],
            ["EVAL", "return 1", "1.5", "a"],
            ["EVAL", "return 1"],
            ["EVAL"],
        ],
        ["redis-call"] =
        [
            ["EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"],
            ["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
            ["EVAL", "return redis.call('get', 'nokey')", "0"],
            ["EVAL", "return {redis.call('get', 'nokey')}", "0"],
            ["EVAL", "return type(redis.call('get', 'nokey'))", "0"],
            ["EVAL", "return redis.call('ping')", "0"],
            ["EVAL", "return redis.call('incr', KEYS[1])", "1", "n"],
            ["EVAL", "return redis.call('incrby', KEYS[1], 5)", "1", "n"],
            ["EVAL", "return redis.call('incr', KEYS[1])", "1", "k"],
            ["EVAL", "redis.call('incr', KEYS[1]) return 'after'", "1", "k"],
            ["EVAL", "return redis.pcall('incr', KEYS[1])", "1", "k"],
            ["EVAL", "return type(redis.pcall('incr', KEYS[1]))", "1", "k"],
            ["EVAL", "local ok, e = pcall(redis.call, 'incr', KEYS[1]) return e", "1", "k"],
            ["EVAL", "local ok, e = pcall(redis.call, 'incr', KEYS[1]) return type(e)", "1", "k"],
            ["EVAL", "return pcall(redis.call, 'incr', KEYS[1])", "1", "k"],
            ["EVAL", "local ok, e = pcall(error, 'x') return e", "0"],
            ["EVAL", "return redis.call('set', 'f', 0.1)", "0"],
            ["GET", "f"],
            ["EVAL", "return redis.call('set', 'f', 1e20)", "0"],
            ["GET", "f"],
            ["EVAL", "return redis.call('set', 'f', 12)", "0"],
            ["GET", "f"],
            ["EVAL", "return redis.call('set', 'f', {})", "0"],
            ["EVAL", "return redis.call('set', 'f', nil)", "0"],
            ["EVAL", "return redis.call()", "0"],
            ["EVAL", "return redis.pcall()", "0"],
            ["EVAL", "return redis.call('nosuch')", "0"],
            ["EVAL", "return redis.pcall('nosuch')", "0"],
            ["EVAL", "return redis.call('get')", "0"],
            ["EVAL", "return redis.call('client')", "0"],
            ["EVAL", "return redis.call('client', 'nosuch')", "0"],
            ["EVAL", "return redis.call('eval', 'return 1', '0')", "0"],
            ["EVAL", "return redis.call('script', 'load', 'return 1')", "0"],
            ["EVAL", "return redis.call('hset', 'h', 'a', '1', 'b', '2')", "0"],
            ["EVAL", "return redis.call('hget', 'h', 'b')", "0"],
            ["EVAL", "return redis.call('hmget', 'h', 'a', 'zz', 'b')", "0"],
            ["EVAL", "return redis.call('get', 'h')", "0"],
            ["EVAL", "return redis.pcall('get', 'h')", "0"],
            ["EVAL", "return redis.call('mget', 'k', 'nokey', 'n')", "0"],
            ["EVAL", "return redis.call('exists', 'k', 'n', 'nokey')", "0"],
            ["EVAL", "return redis.call('del', 'k')", "0"],
            ["EVAL", "redis.call('set', 'x', 'y') redis.call('expire', 'x', 100) return redis.call('ttl', 'x')", "0"],
        ],
        ["errors"] =
        [
            ["EVAL", "error('boom')", "0"],
            ["EVAL", "error({err='MY boom'})", "0"],
            ["EVAL", "error('a\\nb')", "0"],
            ["EVAL", "return redis.error_reply('FOO bar')", "0"],
            ["EVAL", "return redis.error_reply('FOO')", "0"],
            ["EVAL", "return redis.error_reply('-FOO bar')", "0"],
            ["EVAL", "return redis.error_reply('foo bar\\r\\n')", "0"],
            ["EVAL", "return redis.error_reply(1)", "0"],
            ["EVAL", "return redis.error_reply()", "0"],
            ["EVAL", "return redis.status_reply('FINE')", "0"],
            ["EVAL", "return redis.status_reply(1)", "0"],
            ["EVAL", "return redis.status_reply('a', 'b')", "0"],
            ["EVAL", "x = 5", "0"],
            ["EVAL", "return y", "0"],
            ["EVAL", "return nosuch()", "0"],
            ["EVAL", "_G.x = 1", "0"],
            ["EVAL", "return _G.x", "0"],
            ["EVAL", "string.foo = 1", "0"],
            ["EVAL", "rawset(string, 'foo', 1)", "0"],
            ["EVAL", "return string.foo", "0"],
            ["EVAL", "redis.call = nil", "0"],
            ["EVAL", "return os.time()", "0"],
            ["EVAL", "return io", "0"],
            ["EVAL", "return dofile", "0"],
            ["EVAL", "return loadfile", "0"],
            ["EVAL", "return print", "0"],
            ["EVAL", "return debug", "0"],
            ["EVAL", "return require", "0"],
            ["EVAL", "return package", "0"],
            ["EVAL", "return 'a'..", "0"],
            ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
            ["EVALSHA", "abc", "0"],
            ["EVALSHA", "", "0"],
            ["EVALSHA_RO", "ffffffffffffffffffffffffffffffffffffffff", "0"],
        ],
        ["redis-library"] =
        [
            ["EVAL", "return redis.sha1hex('')", "0"],
            ["EVAL", "return redis.sha1hex('hello')", "0"],
            ["EVAL", "return redis.sha1hex()", "0"],
            ["EVAL", "return redis.sha1hex('a', 'b')", "0"],
            ["EVAL", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "0"],
            ["EVAL", "redis.log(redis.LOG_WARNING, 'from a script') return 1", "0"],
            ["EVAL", "return redis.log()", "0"],
            ["EVAL", "return redis.log(1)", "0"],
            ["EVAL", "return redis.log('x', 'y')", "0"],
            ["EVAL", "return redis.log(9, 'y')", "0"],
            ["EVAL", "return redis.setresp(4)", "0"],
            ["EVAL", "return redis.setresp()", "0"],
            ["EVAL", "redis.setresp(2) return redis.call('ping')", "0"],
            ["EVAL", "redis.setresp(3) return redis.call('get', 'nokey')", "0"],
            ["EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"],
            ["EVAL", "return redis.set_repl(99)", "0"],
            ["EVAL", "return redis.set_repl()", "0"],
            ["EVAL", "return redis.replicate_commands()", "0"],
            ["EVAL", "return {type(redis.call), type(redis.pcall), type(unpack), type(loadstring), type(cjson) ~= nil}", "0"],
            ["EVAL", "return {unpack({1, 2, 3})}", "0"],
            ["EVAL", "return _VERSION", "0"],
            ["EVAL", "return tostring(10/2)", "0"],
            ["EVAL", "return tostring(3.0)", "0"],
            ["EVAL", "return math.floor(3.7)", "0"],
            ["EVAL", "return tonumber('0x10')", "0"],
            ["EVAL", "return string.format('%5.2f', 3.14159)", "0"],
            ["EVAL", "return table.concat({'a', 'b', 'c'}, '-')", "0"],
            ["EVAL", "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.lshift(1, 4), bit.rshift(256, 4), bit.tohex(255), bit.bnot(0), bit.tobit(4294967296 + 5)}", "0"],
            ["EVAL", "return {bit.arshift(-256, 4), bit.rshift(-1, 28), bit.tohex(-1, -4), bit.rol(1, 33), bit.bswap(0x12345678)}", "0"],
            ["EVAL", "local f = loadstring('return 1 + 1') return f()", "0"],
            ["EVAL", "local f = loadstring('x = 1') return f()", "0"],
            ["EVAL", "return select('#', 1, 2, 3)", "0"],
            ["EVAL", "local t = setmetatable({}, {__index = function(t, k) return k .. '!' end}) return t.hey", "0"],
            ["EVAL", "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return {co(1), co(5)}", "0"],
        ],
        ["cjson"] =
        [
            ["EVAL", "return cjson.encode({1,2,3})", "0"],
            ["EVAL", "return cjson.encode({a=1})", "0"],
            ["EVAL", "return cjson.encode({})", "0"],
            ["EVAL", "return cjson.encode('a/b\"\\n\\1')", "0"],
            ["EVAL", "return cjson.encode({1,nil,3})", "0"],
            ["EVAL", "return cjson.encode({[1]=1,[20]=2})", "0"],
            ["EVAL", "return cjson.encode(3.5)", "0"],
            ["EVAL", "return cjson.encode(1/3)", "0"],
            ["EVAL", "return cjson.encode(1e20)", "0"],
            ["EVAL", "return cjson.encode(0/0)", "0"],
            ["EVAL", "return cjson.encode(function() end)", "0"],
            ["EVAL", "return cjson.encode({[true]=1})", "0"],
            ["EVAL", "return cjson.encode(cjson.null)", "0"],
            ["EVAL", "return type(cjson.null)", "0"],
            ["EVAL", "return cjson.decode('[1,2,3]')", "0"],
            ["EVAL", "return cjson.decode('{\"a\":[1,{\"b\":null}]}').a[2].b == cjson.null", "0"],
            ["EVAL", "return cjson.decode('\"\\\\u00e9x\"')", "0"],
            ["EVAL", "return cjson.decode('1.5')", "0"],
            ["EVAL", "return cjson.decode('[1,')", "0"],
            ["EVAL", "return cjson.decode('x')", "0"],
            ["EVAL", "return cjson.decode('{\"a\":1} x')", "0"],
            ["EVAL", "return cjson.decode('')", "0"],
            ["EVAL", "return cjson.encode({a={b={c={}}}})", "0"],
            ["EVAL", "return cjson.encode(12345678901234)", "0"],
            ["EVAL", "return cjson.decode('1e2')", "0"],
            ["EVAL", "return cjson.encode({[1.5]=1})", "0"],
            ["EVAL", "local t = cjson.decode(ARGV[1]) return {t.name, t.n + 1, cjson.encode(t.list)}", "0", "{\"name\":\"x\",\"n\":41,\"list\":[true,false,\"s\"]}"],
        ],
        ["script-cache"] =
        [
            ["SCRIPT", "LOAD", "return 'loaded'"],
            ["SCRIPT", "EXISTS", "d19d7f2c8cbd5bf1f31d6da3ec6208c8e1ea0bfd", "ffffffffffffffffffffffffffffffffffffffff"],
            ["EVALSHA", "d19d7f2c8cbd5bf1f31d6da3ec6208c8e1ea0bfd", "0"],
            ["EVALSHA", "D19D7F2C8CBD5BF1F31D6DA3EC6208C8E1EA0BFD", "0"],
            ["EVALSHA_RO", "d19d7f2c8cbd5bf1f31d6da3ec6208c8e1ea0bfd", "0"],
            ["EVAL", "return 'by eval'", "0"],
            ["SCRIPT", "EXISTS", "e3ba4ceb95aca29fb4ac23d1a89da1d3e1e4c8be"],
            ["SCRIPT", "LOAD", "return 'a'.."],
            ["SCRIPT", "LOAD"],
            ["SCRIPT", "LOAD", "a", "b"],
            ["SCRIPT", "EXISTS"],
            ["SCRIPT", "FLUSH", "NOW"],
            ["SCRIPT", "FLUSH", "SYNC", "ASYNC"],
            ["SCRIPT", "FLUSH", "ASYNC"],
            ["SCRIPT", "EXISTS", "d19d7f2c8cbd5bf1f31d6da3ec6208c8e1ea0bfd"],
            ["EVALSHA", "d19d7f2c8cbd5bf1f31d6da3ec6208c8e1ea0bfd", "0"],
            ["SCRIPT", "FLUSH"],
            ["SCRIPT", "KILL"],
            ["SCRIPT", "KILL", "x"],
            ["SCRIPT", "NOSUCH"],
            ["SCRIPT"],
            ["SCRIPT", "HELP"],
            ["SCRIPT", "DEBUG", "NO"],
            ["SCRIPT", "DEBUG", "MAYBE"],
        ],
        ["read-only-and-shebang"] =
        [
            ["EVAL_RO", "return redis.call('set', KEYS[1], 'v')", "1", "ro"],
            ["EVAL_RO", "return redis.call('get', KEYS[1])", "1", "ro"],
            ["EVAL_RO", "return redis.pcall('set', KEYS[1], 'v')", "1", "ro"],
            ["EVAL", "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'v')", "1", "ro"],
            ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "ro"],
            ["EVAL", "#!lua\nreturn redis.call('set', KEYS[1], 'v')", "1", "ro"],
            ["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
            ["EVAL", "#!python\nreturn 1", "0"],
            ["EVAL", "#!lua name=x\nreturn 1", "0"],
            ["EVAL", "#!lua\nerror('on line two')", "0"],
        ],
        ["transactions"] =
        [
            ["MULTI"],
            ["EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "tx", "in-exec"],
            ["EVAL", "return redis.call('incr', KEYS[1])", "1", "tx"],
            ["EVAL", "return redis.call('get', KEYS[1])", "1", "tx"],
            ["EVAL", "return redis.call('set', 'undeclared', '1')", "0"],
            ["EXEC"],
            ["GET", "undeclared"],
            ["MULTI"],
            ["EVAL", "return 1", "-1"],
            ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
            ["EXEC"],
            ["EVAL", "return redis.call('multi')", "0"],
            ["EVAL", "return redis.call('exec')", "0"],
        ],
        ["command-keys"] =
        [
            ["COMMAND", "GETKEYS", "EVAL", "return 1", "0"],
            ["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
            ["COMMAND", "GETKEYS", "EVAL", "return 1", "5", "a"],
            ["COMMAND", "GETKEYS", "EVAL", "return 1", "x", "a"],
            ["COMMAND", "GETKEYS", "EVALSHA", "abc", "1", "a"],
            ["COMMAND", "GETKEYS", "EVAL_RO", "return 1", "1", "k"],
        ],
        ["resp3"] =
        [
            ["HELLO", "3"],
            ["EVAL", "return {map={a=1}}", "0"],
            ["EVAL", "return {set={a=true}}", "0"],
            ["EVAL", "return {double=3.5}", "0"],
            ["EVAL", "return {big_number='123'}", "0"],
            ["EVAL", "return true", "0"],
            ["EVAL", "return false", "0"],
            ["EVAL", "return nil", "0"],
            ["EVAL", "redis.setresp(3) return true", "0"],
            ["EVAL", "redis.setresp(3) return false", "0"],
            ["EVAL", "redis.setresp(3) return redis.call('hgetall', 'nohash')", "0"],
            ["EVAL", "redis.setresp(3) local r = redis.call('get', 'nokey') return type(r)", "0"],
            ["EVAL", "return redis.call('get', 'nokey')", "0"],
            ["HELLO", "2"],
        ],
    };

    public static TheoryData<string> Groups => new(s_groups.Keys);

    [Theory]
    [MemberData(nameof(Groups))]
    public async Task Script_replies_are_the_same_bytes_as_redis_server(string group)
    {
        await using var redis = await RespConnection.ConnectAsync(servers.Redis.Port);
        await using var estoraje = await RespConnection.ConnectAsync(servers.Estoraje.Port);
        foreach (var connection in new[] { redis, estoraje })
        {
            Assert.Equal("+OK\r\n", await connection.CommandAsync("FLUSHALL"));
            Assert.Equal("+OK\r\n", await connection.CommandAsync("SCRIPT", "FLUSH"));
        }

        var differences = new List<string>();
        foreach (var command in s_groups[group])
        {
            var expected = await redis.CommandAsync(command);
            var actual = await estoraje.CommandAsync(command);
            // HELLO's map carries each server's own version and client id: only its type must agree.
            if (command[0] == "HELLO" ? expected[0] != actual[0] : expected != actual)
            {
                differences.Add($"{string.Join(' ', command.Select(a => RespConnection.Escape(a)))}{Environment.NewLine}" +
                                $"    redis-server: {RespConnection.Escape(expected)}{Environment.NewLine}" +
                                $"    estoraje:     {RespConnection.Escape(actual)}");
            }
        }

        Assert.True(differences.Count == 0,
            $"{differences.Count} of {s_groups[group].Length} replies differ:{Environment.NewLine}{string.Join(Environment.NewLine, differences)}");
    }
}
