using System.Text;
using Estoraje.IntegrationTests.Infrastructure;

namespace Estoraje.IntegrationTests;

/// <summary>
/// Differential tests: the same command scripts go to a real redis-server 7 and to Estoraje over raw RESP2
/// connections, and every reply must be the same bytes. Scripts use fixed keys and start from FLUSHALL.
/// </summary>
/// <remarks>
/// Replies that depend on time are made deterministic: absolute expiries are read back with EXPIRETIME, and a
/// relative TTL is only read after <c>PX n499</c> / <c>PEXPIRE k n499</c>, which TTL rounds to n for any delay
/// under a second. Left out on purpose, because Estoraje differs by design: INFO, CLIENT LIST/INFO/ID, HELLO's
/// version and id, COMMAND (INFO, DOCS, COUNT), DEBUG (disabled in Redis), CONFIG SET of port, bind, dir and of
/// parameters Estoraje does not implement (save, appendonly, maxmemory...), OBJECT ENCODING after APPEND or
/// SETRANGE on an existing key (Redis turns such values into "raw") or after INCRBYFLOAT (never "int" in
/// Redis), INCRBYFLOAT results whose digits show the difference between Redis's 80-bit long double and a
/// double (0.7 + 0.1), and SCAN from a cursor other than 0 (cursors are positions in each server's own table).
/// CLIENT KILL filters that match every normal client are left out too: their
/// count would include connections the other tests or the start-up probe have not finished closing.
/// </remarks>
public sealed class CompatibilityTests(DifferentialFixture servers) : IClassFixture<DifferentialFixture>
{
    private static readonly Dictionary<string, string[]> s_scripts = new()
    {
        ["set-options"] =
        [
            "SET k v", "SET k v NX", "SET k v XX", "SET k2 v XX", "EXISTS k2", "SET k v NX XX", "SET k v XX NX",
            "SET k v EX 0", "SET k v EX -1", "SET k v EX abc", "SET k v PX 0", "SET k v PX -5", "SET k v EX 10 PX 10",
            "SET k v PX 10 EX 10", "SET k v KEEPTTL EX 10", "SET k v EX 10 KEEPTTL", "SET k v EX", "SET k v PX",
            "SET k v foo", "SET k", "SET", "SET k v EX 9223372036854775807", "SET k v PX 9223372036854775807",
            "SET k v EX 9223372036854776", "SET k v EXAT 9223372036854775807", "SET k v EXAT 0", "SET k v PXAT -1",
            "SET k v ex 100 px 100", "SET k v nx nx", "SET k v NX", "SET k v xx xx", "SET k v KEEPTTL KEEPTTL",
            "SET k v EX 10 EX 20 PX 5", "SET k v EX abc EX 1000", "GET k",
        ],
        ["set-get-option"] =
        [
            "SET k v1", "SET k v2 GET", "GET k", "SET missing v GET", "GET missing", "SET k v3 NX GET", "GET k",
            "SET nothere v NX GET", "GET nothere", "SET k v4 XX GET", "SET absent v XX GET", "EXISTS absent",
            "SET k v get get", "SET k v GET NX XX", "GETSET k w", "GETSET fresh w", "GET fresh", "GETDEL k",
            "GETDEL k", "EXISTS k",
        ],
        ["set-expiry"] =
        [
            "SET k v PX 1000499", "TTL k", "SET k v2 KEEPTTL", "TTL k", "GET k", "SET k v3", "TTL k",
            "SET k v EXAT 4102444800", "EXPIRETIME k", "PEXPIRETIME k", "SET k v PXAT 4102444800123",
            "PEXPIRETIME k", "EXPIRETIME k", "SET k v EXAT 4102444800 EXAT 4102444801", "EXPIRETIME k",
            "SET k v XX KEEPTTL", "EXPIRETIME k", "SET k v PXAT 1", "EXISTS k", "GET k", "SET k v EXAT 1",
            "EXISTS k", "SET k v PX 5000 PX 2000499", "TTL k", "SET k v EX 1 EX 3000", "EXPIRE k 100 GT",
            "SETEX k 0 v", "SETEX k -1 v", "SETEX k x v", "SETEX k 9223372036854775807 v", "PSETEX k 0 v",
            "PSETEX k -1 v", "PSETEX k 1000499 v", "TTL k", "GETSET k w", "TTL k", "SETEX k", "PSETEX k 1",
            "PSETEX k 1000499 v", "MSET k v", "TTL k", "PSETEX k 1000499 v", "SET k w", "TTL k",
        ],
        ["getex"] =
        [
            "SET gx v", "GETEX gx", "TTL gx", "GETEX gx PX 1000499", "TTL gx", "GETEX gx PERSIST", "TTL gx",
            "GETEX gx EXAT 4102444800", "EXPIRETIME gx", "GETEX gx PXAT 4102444800000", "PEXPIRETIME gx",
            "GETEX gx EX 0", "GETEX gx EX -1", "GETEX gx PX 0", "GETEX gx EX abc", "GETEX gx EX 10 PX 10",
            "GETEX gx PERSIST EX 10", "GETEX gx EX 10 PERSIST", "GETEX gx PERSIST PERSIST", "TTL gx",
            "GETEX gx PX 5 PX 1000499", "TTL gx", "GETEX gx KEEPTTL", "GETEX gx NX", "GETEX gx GET",
            "GETEX gx FOO", "GETEX gx EX", "GETEX missing EX 10", "GETEX missing FOO", "GETEX missing",
            "GETEX missing EX abc", "GETEX missing EX 0", "GETEX missing PX 10 EX 10",
            "GETEX gx EXAT 1", "EXISTS gx", "GETEX", "GETEX gx EX 9223372036854775807",
        ],
        ["getrange"] =
        [
            "SET s \"Hello World\"", "GETRANGE s 0 3", "GETRANGE s -3 -1", "GETRANGE s 0 -1", "GETRANGE s 10 100",
            "GETRANGE s -100 -50", "GETRANGE s -1 -5", "GETRANGE s 5 3", "GETRANGE s -5 3", "GETRANGE s 3 -100",
            "GETRANGE s 0 0", "GETRANGE s 11 11", "GETRANGE s -1 -1", "GETRANGE s a 1", "GETRANGE s 1 b",
            "GETRANGE missing 0 -1", "GETRANGE missing 5 10", "GETRANGE s 0 9223372036854775807",
            "GETRANGE s -9223372036854775808 -1", "GETRANGE s 9223372036854775807 9223372036854775807",
            "SUBSTR s 0 3", "SUBSTR s -5 -1", "SET e \"\"", "GETRANGE e 0 -1", "GETRANGE e -1 0", "GETRANGE s 1",
            "SUBSTR s 1",
        ],
        ["setrange"] =
        [
            "SETRANGE p 5 abc", "GET p", "STRLEN p", "SETRANGE p 0 XY", "GET p", "SETRANGE p 8 tail", "GET p",
            "SETRANGE p 0 \"\"", "SETRANGE nop 5 \"\"", "EXISTS nop", "SETRANGE nop 0 \"\"", "EXISTS nop",
            "SETRANGE p -1 a", "SETRANGE p 536870912 a", "SETRANGE p 536870912 \"\"", "SETRANGE p x a",
            "SETRANGE p 1.5 a", "SETRANGE p 9223372036854775807 a", "SETRANGE p 1", "SET t v PX 1000499",
            "SETRANGE t 3 x", "TTL t", "GET t",
        ],
        ["append-strlen-mset"] =
        [
            "APPEND a hello", "APPEND a \" world\"", "GET a", "STRLEN a", "APPEND a \"\"", "APPEND empty \"\"",
            "EXISTS empty", "STRLEN empty", "GET empty", "STRLEN missing", "SET n 12", "APPEND n 34", "GET n",
            "INCR n", "SET t v PX 1000499", "APPEND t w", "TTL t", "MSET m1 a m2 b", "MGET m1 m2 m3",
            "MSETNX m2 x m3 y", "MGET m1 m2 m3", "MSETNX m3 y m4 z", "MGET m3 m4", "MSETNX m5 1 m5 2", "GET m5",
            "MSET m1", "MSETNX m1", "MSET m1 a m2", "MSETNX m1 a m2", "MGET", "MGET m1 nothere m2 m1",
            "MSET d 1 d 2", "GET d", "APPEND", "STRLEN", "STRLEN a b",
        ],
        ["incr-decr"] =
        [
            "INCR i", "INCR i", "INCRBY i 10", "DECR i", "DECRBY i 5", "INCRBY i -20", "GET i",
            "INCRBY i 9223372036854775807", "SET i 9223372036854775806", "INCR i", "INCR i", "GET i",
            "DECRBY i -1", "SET i -9223372036854775807", "DECR i", "DECR i", "DECRBY i 9223372036854775807",
            "DECRBY x -9223372036854775808", "INCRBY x -9223372036854775808", "DECRBY y 9223372036854775807",
            "INCRBY i 9223372036854775808", "INCRBY i abc", "INCRBY i 1.5", "INCRBY i \"\"", "INCRBY i -0",
            "INCRBY i 00", "INCRBY i +1", "INCRBY i \" 1\"", "SET n abc", "INCR n", "SET n \" 1\"", "INCR n",
            "SET n \"1 \"", "INCR n", "SET n 01", "INCR n", "SET n 1.5", "INCR n", "DECR n", "SET n -0",
            "INCR n", "SET n \"\"", "INCR n", "SET n 99999999999999999999", "INCR n", "INCR \"\"", "GET \"\"",
            "SET t 5 PX 1000499", "INCR t", "TTL t", "DECRBY t 2", "TTL t", "INCR", "INCRBY i", "DECR a b",
        ],
        ["incrbyfloat"] =
        [
            "INCRBYFLOAT f 1.5", "INCRBYFLOAT f 0.1", "INCRBYFLOAT f -1.6", "INCRBYFLOAT f 1e3",
            "INCRBYFLOAT f 5.0e-3", "GET f", "INCRBYFLOAT f abc", "INCRBYFLOAT f inf", "INCRBYFLOAT f -inf",
            "INCRBYFLOAT f +inf", "INCRBYFLOAT f nan", "INCRBYFLOAT f \" 1\"", "INCRBYFLOAT f \"1 \"",
            "INCRBYFLOAT f \"\"", "INCRBYFLOAT f 1e", "INCRBYFLOAT f 1_000", "SET f 3.0", "INCRBYFLOAT f 0",
            "SET f 10.50", "INCRBYFLOAT f 0", "SET f -0.5", "INCRBYFLOAT f 0.5", "INCRBYFLOAT g +1.5",
            "INCRBYFLOAT h .5", "INCRBYFLOAT h 5.", "INCRBYFLOAT big 1e20", "INCRBYFLOAT tiny 1e-20",
            "GET tiny", "INCRBYFLOAT small 1.23456789e-10", "INCRBYFLOAT neg -2.5e-1", "SET bad \"1.5 \"",
            "INCRBYFLOAT bad 1", "SET bad 1.5x", "INCRBYFLOAT bad 1", "SET bad inf", "INCRBYFLOAT bad 1",
            "SET i 10", "INCRBYFLOAT i 2", "SET t 1 PX 1000499", "INCRBYFLOAT t 1.5", "TTL t", "INCRBYFLOAT",
            "INCRBYFLOAT f",
        ],
        ["del-exists-touch"] =
        [
            "EXISTS a a a", "MSET a 1 b 2 c 3", "EXISTS a a b z", "TOUCH a b z", "DEL a a b z", "EXISTS a b",
            "UNLINK c c", "UNLINK c", "DBSIZE", "SET x 1", "DBSIZE", "RANDOMKEY", "DEL x", "RANDOMKEY",
            "DBSIZE x", "RANDOMKEY x", "EXISTS", "DEL", "UNLINK", "TOUCH", "SET y 1", "FLUSHDB x",
            "FLUSHALL x y", "FLUSHDB ASYNC", "DBSIZE", "SET y 1", "FLUSHALL SYNC", "DBSIZE", "SET y 1",
            "FLUSHDB sync", "EXISTS y",
        ],
        ["rename-copy"] =
        [
            "RENAME nosuch x", "RENAMENX nosuch x", "SET a 1", "RENAME a a", "RENAMENX a a", "SET b 2",
            "RENAMENX a b", "GET b", "RENAME a b", "GET b", "EXISTS a", "SET c 3 PX 1000499", "RENAME c d",
            "TTL d", "RENAMENX d e", "TTL e", "COPY e e", "COPY e f", "TTL f", "GET f", "COPY e f",
            "SET e other", "COPY e f REPLACE", "GET f", "TTL f", "COPY nosuch g", "COPY e f DB 0",
            "COPY e g DB 0", "COPY e h DB 1", "COPY e h DB -1", "COPY e h DB x", "COPY e h FOO", "COPY e h DB",
            "COPY e h REPLACE REPLACE", "COPY e", "RENAME a", "RENAMENX a b c",
        ],
        ["expire-options"] =
        [
            "SET e v", "PEXPIRE e 100499", "TTL e", "EXPIRE e 100 NX", "PEXPIRE e 200499 XX", "TTL e",
            "EXPIRE e 50 GT", "PEXPIRE e 500499 GT", "TTL e", "EXPIRE e 1000 LT", "PEXPIRE e 50499 LT",
            "TTL e", "EXPIRE e 10 NX XX", "EXPIRE e 10 GT LT", "EXPIRE e 10 NX GT", "EXPIRE e 10 NX LT",
            "EXPIRE e 10 XX GT", "TTL e", "EXPIRE e 10 FOO", "EXPIRE e 10 nx FOO", "EXPIRE e abc",
            "EXPIRE e 1.5", "EXPIRE e \"\"", "EXPIRE e 9223372036854775807", "EXPIRE e 9223372036854775",
            "EXPIRE e -9223372036854775808", "PEXPIRE e 9223372036854775807", "PEXPIRE e 9223372036854775000",
            "EXPIREAT e 9223372036854775807", "PEXPIREAT e 9223372036854775807", "PEXPIRETIME e",
            "EXPIRE missing 10", "EXPIRE missing 10 XX", "PEXPIRE missing 10", "EXPIREAT missing 4102444800",
            "SET p v", "EXPIRE p 100 XX", "EXPIRE p 100 GT", "PEXPIRE p 100499 LT", "TTL p", "PERSIST p",
            "PEXPIRE p 100499 NX", "TTL p", "EXPIREAT p 4102444800", "EXPIRETIME p", "PEXPIRETIME p",
            "PEXPIREAT p 4102444800123", "PEXPIRETIME p", "EXPIRETIME p", "EXPIREAT p 4102444800 GT",
            "EXPIREAT p 4102444801 GT", "EXPIRETIME p", "EXPIRE", "EXPIRE p", "PEXPIREAT p",
        ],
        ["expire-deletes-and-ttl"] =
        [
            "TTL missing", "PTTL missing", "EXPIRETIME missing", "PEXPIRETIME missing", "SET p v", "TTL p",
            "PTTL p", "EXPIRETIME p", "PEXPIRETIME p", "PERSIST p", "PERSIST missing", "EXPIRE p -1",
            "EXISTS p", "SET q v", "EXPIREAT q 1", "EXISTS q", "SET r v", "PEXPIRE r 0", "EXISTS r",
            "SET s v", "PEXPIREAT s -1", "EXISTS s", "SET t v", "EXPIRE t -9223372036854775", "EXISTS t",
            "SET u v", "EXPIREAT u 0", "GET u", "SET w v PX 1000499", "PERSIST w", "TTL w", "PERSIST w",
            "TTL", "PTTL a b", "PERSIST", "EXPIRETIME", "PEXPIRETIME a b",
        ],
        ["type-and-object"] =
        [
            "TYPE missing", "SET t v", "TYPE t", "SET enc 12345", "OBJECT ENCODING enc", "SET enc -12345",
            "OBJECT ENCODING enc", "SET enc 012", "OBJECT ENCODING enc", "SET enc 9223372036854775807",
            "OBJECT ENCODING enc", "SET enc 9223372036854775808", "OBJECT ENCODING enc", "SET enc -0",
            "OBJECT ENCODING enc", "SET enc 1.5", "OBJECT ENCODING enc",
            "SET enc 12345678901234567890123456789012345678901234", "OBJECT ENCODING enc",
            "SET enc 123456789012345678901234567890123456789012345", "OBJECT ENCODING enc",
            "SET enc abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr", "OBJECT ENCODING enc",
            "SET enc abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrs", "OBJECT ENCODING enc", "SET enc \"\"",
            "OBJECT ENCODING enc", "OBJECT ENCODING missing", "APPEND fresh abc", "OBJECT ENCODING fresh",
            "INCR ic", "OBJECT ENCODING ic", "INCRBYFLOAT fl 1.5", "OBJECT ENCODING fl", "MSET m1 7 m2 x",
            "OBJECT ENCODING m1", "OBJECT ENCODING m2", "SET r 5", "OBJECT REFCOUNT r", "SET r 9999",
            "OBJECT REFCOUNT r", "SET r 10000", "OBJECT REFCOUNT r", "SET r -1", "OBJECT REFCOUNT r",
            "SET r abc", "OBJECT REFCOUNT r", "OBJECT REFCOUNT missing", "OBJECT IDLETIME missing",
            "OBJECT FREQ missing", "OBJECT FREQ t", "OBJECT FOO", "OBJECT foo bar", "OBJECT", "OBJECT ENCODING",
            "OBJECT ENCODING a b", "OBJECT REFCOUNT", "OBJECT IDLETIME", "OBJECT HELP", "object help",
            "OBJECT HELP x", "TYPE", "TYPE a b",
        ],
        ["lcs"] =
        [
            "MSET key1 ohmytext key2 mynewtext", "LCS key1 key2", "LCS key1 key2 LEN", "LCS key1 key2 IDX",
            "LCS key1 key2 IDX MINMATCHLEN 4", "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN",
            "LCS key1 key2 IDX WITHMATCHLEN", "LCS key1 key2 LEN IDX", "LCS key1 key2 IDX LEN",
            "LCS key1 key2 MINMATCHLEN", "LCS key1 key2 MINMATCHLEN x", "LCS key1 key2 MINMATCHLEN -5 IDX",
            "LCS key1 key2 FOO", "LCS key1 missing", "LCS missing key1 LEN", "LCS missing missing2 IDX",
            "LCS key1 key1 IDX", "LCS key1", "LCS key1 key2 WITHMATCHLEN", "LCS key1 key2 LEN WITHMATCHLEN",
            "LCS key1 key2 idx minmatchlen 2 withmatchlen", "MSET a ABCBDAB b BDCABA", "LCS a b",
            "LCS a b IDX WITHMATCHLEN", "LCS b a IDX", "LCS a b LEN", "MSET x abc y xyz", "LCS x y",
            "LCS x y IDX", "MSET u aaaa v aa", "LCS u v IDX WITHMATCHLEN", "LCS",
        ],
        ["keys-scan-glob"] =
        [
            "SET hello v", "KEYS *", "KEYS h?llo", "KEYS h*o", "KEYS h[ae]llo", "KEYS h[^e]llo", "KEYS h[!e]llo",
            "KEYS h[a-f]llo", "KEYS h[f-a]llo", "KEYS h\\ello", "KEYS hell\\o", "KEYS hello\\", "KEYS h[e",
            "KEYS h[e-", "KEYS h[\\e]llo", "KEYS *l*l*o*", "KEYS ****", "KEYS hello*", "KEYS *hello",
            "KEYS HELLO", "KEYS h[]llo", "KEYS h[-]llo", "KEYS [", "KEYS ?", "KEYS ?????", "KEYS h[a-]llo",
            "KEYS h[e-e]llo", "KEYS", "SCAN 0", "SCAN 0 MATCH h*", "SCAN 0 MATCH x*", "SCAN 0 COUNT 100",
            "SCAN 0 MATCH h* COUNT 100 TYPE string", "SCAN 0 TYPE string", "SCAN 0 TYPE list", "SCAN 0 TYPE foo",
            "SCAN abc", "SCAN \"\"", "SCAN +0", "SCAN -0", "SCAN +", "SCAN -", "SCAN \" 0\"", "SCAN \"0 \"",
            "SCAN 18446744073709551616", "SCAN -18446744073709551616",
            "SCAN 0 COUNT 0", "SCAN 0 COUNT -1", "SCAN 0 COUNT x", "SCAN 0 COUNT", "SCAN 0 MATCH",
            "SCAN 0 FOO bar", "SCAN", "DEL hello", "SET a*b v", "KEYS a\\*b", "KEYS a[*]b", "DEL a*b",
            "SET h[e] v", "KEYS h\\[e\\]", "KEYS h[[]e]", "SCAN 0",
        ],
        ["unknown-and-arity"] =
        [
            "foo", "foo a b", "FOO bar", "\"\" a", "foo 0123456789 0123456789 0123456789 0123456789",
            "foo " + string.Join(' ', Enumerable.Repeat("0123456789abcdef", 15)), "get" + new string('x', 200),
            "GET", "GET a b", "SET k", "SETNX", "SETNX k", "SETEX k 10", "PSETEX k",
            "GETSET k", "GETDEL", "MGET", "MSET", "MSETNX", "APPEND a", "STRLEN", "GETRANGE a 1",
            "SUBSTR", "SETRANGE a 1", "INCR", "DECR", "INCRBY a", "DECRBY a", "INCRBYFLOAT a", "LCS a",
            "DEL", "UNLINK", "EXISTS", "TOUCH", "TYPE", "KEYS", "SCAN", "RANDOMKEY x", "RENAME a",
            "RENAMENX a", "COPY a", "EXPIRE a", "PEXPIRE a", "EXPIREAT a", "PEXPIREAT a", "TTL", "PTTL",
            "EXPIRETIME", "PEXPIRETIME", "PERSIST", "OBJECT", "ECHO", "ECHO a b", "PING a b", "SELECT",
            "SELECT 1 2", "DBSIZE x", "TIME x", "LASTSAVE x", "CLIENT", "CONFIG", "DEBUG", "AUTH",
        ],
        ["connection"] =
        [
            "PING", "PING hello", "PING \"\"", "ECHO hello", "ECHO \"\"", "SELECT 0", "SELECT 1", "SELECT -1",
            "SELECT x", "SELECT 2147483648", "SELECT -2147483649", "SELECT 99999999999999999999",
            "HELLO 4", "HELLO 1", "HELLO 0", "HELLO -1", "HELLO x", "HELLO 02", "HELLO 3 FOO", "HELLO 2 AUTH",
            "HELLO 2 AUTH default", "HELLO 2 SETNAME", "HELLO 2 SETNAME \"a b\"", "HELLO 2 AUTH x y",
            "HELLO 3 AUTH default x SETNAME", "AUTH x", "AUTH default x", "AUTH nobody x", "AUTH a b c",
            "CLIENT GETNAME", "CLIENT SETNAME myname", "CLIENT GETNAME", "CLIENT SETNAME \"a b\"",
            "CLIENT SETNAME a b", "CLIENT GETNAME", "CLIENT SETNAME \"\"", "CLIENT GETNAME", "CLIENT FOO",
            "CLIENT ID x", "CLIENT GETNAME x", "CLIENT INFO x", "CLIENT KILL", "CLIENT KILL 1.2.3.4:5",
            "CLIENT KILL ID 0", "CLIENT KILL ID x", "CLIENT KILL ID 99999999", "CLIENT KILL FOO bar",
            "CLIENT KILL ADDR", "CLIENT KILL TYPE foo", "CLIENT KILL SKIPME maybe",
            "CLIENT KILL USER nobody", "CLIENT KILL USER Default", "CLIENT KILL TYPE pubsub", "CLIENT KILL TYPE master", "CLIENT KILL TYPE replica", "CLIENT KILL TYPE slave",
            "CLIENT KILL ADDR 1.2.3.4:5", "CLIENT KILL LADDR 1.2.3.4:5", "CLIENT KILL ID 99999 ID 88888",
            "CLIENT KILL ID -1", "CLIENT KILL ID 1.5", "CLIENT KILL ID 99999 SKIPME", "CLIENT KILL ID 99999 SKIPME yes",
            "CLIENT LIST TYPE master", "CLIENT LIST TYPE pubsub", "CLIENT LIST TYPE replica", "CLIENT LIST ID 99999",
            "CLIENT LIST ID 0", "CLIENT LIST ID -5 99999", "CLIENT LIST ID 5 x", "CLIENT LIST TYPE normal ID 5",
            "CLIENT LIST ID", "CLIENT LIST TYPE", "CLIENT LIST TYPE foo",
            "CLIENT LIST ID x", "CLIENT LIST FOO", "CLIENT LIST x", "CLIENT NO-EVICT maybe", "CLIENT NO-EVICT on",
            "CLIENT NO-EVICT OFF", "CLIENT NO-EVICT", "RESET", "CLIENT GETNAME", "QUIT x",
        ],
        ["config"] =
        [
            "CONFIG GET maxmemory", "CONFIG GET MAXMEMORY", "CONFIG GET maxmemory MAXMEMORY", "CONFIG GET databases",
            "CONFIG GET save", "CONFIG GET appendonly", "CONFIG GET nonexistent", "CONFIG GET maxmemory-policy",
            "CONFIG GET timeout", "CONFIG GET slave-read-only", "CONFIG GET replica-read-only",
            "CONFIG GET bind", "CONFIG GET requirepass", "CONFIG GET hz", "CONFIG GET *max-bulk*",
            "CONFIG GET Proto-Max-*", "CONFIG GET proto-max-bulk-len", "CONFIG GET client-query-buffer-limit",
            "CONFIG GET", "CONFIG SET foo bar", "CONFIG SET maxclients abc", "CONFIG SET maxclients -1",
            "CONFIG SET maxclients 0", "CONFIG SET maxclients 4294967296", "CONFIG SET maxclients 10abc",
            "CONFIG SET MAXCLIENTS abc", "CONFIG SET maxclients", "CONFIG SET maxclients 10 hz",
            "CONFIG SET hz abc foo bar", "CONFIG SET foo bar hz abc", "CONFIG SET hz abc databases 2",
            "CONFIG SET databases 2", "CONFIG SET hz 5 HZ 6", "CONFIG SET hz -1", "CONFIG SET hz abc",
            "CONFIG SET hz 0", "CONFIG GET hz", "CONFIG SET hz 1000", "CONFIG GET hz", "CONFIG SET HZ 10",
            "CONFIG GET hz", "CONFIG SET proto-max-bulk-len abc", "CONFIG SET proto-max-bulk-len -1",
            "CONFIG SET proto-max-bulk-len 0", "CONFIG SET proto-max-bulk-len 1048575",
            "CONFIG SET proto-max-bulk-len mb", "CONFIG SET proto-max-bulk-len 1.5mb",
            "CONFIG SET proto-max-bulk-len 99999999999999999999", "CONFIG SET proto-max-bulk-len 9999999999gb",
            "CONFIG SET proto-max-bulk-len 2mb", "CONFIG GET proto-max-bulk-len",
            "CONFIG SET proto-max-bulk-len 1048576k", "CONFIG GET proto-max-bulk-len",
            "CONFIG SET proto-max-bulk-len 1MB", "CONFIG GET proto-max-bulk-len",
            "CONFIG SET proto-max-bulk-len 512mb", "CONFIG GET proto-max-bulk-len",
            "CONFIG SET client-query-buffer-limit 1kb", "CONFIG SET client-query-buffer-limit 2gb",
            "CONFIG GET client-query-buffer-limit", "CONFIG SET client-query-buffer-limit 1gb",
            "CONFIG GET client-query-buffer-limit", "CONFIG SET requirepass \"\"", "CONFIG RESETSTAT",
            "CONFIG RESETSTAT x", "CONFIG REWRITE x", "CONFIG FOO", "CONFIG", "CONFIG HELP",
        ],
        ["binary-safe-and-large"] =
        [
            "SET \"a\r\nb\" \"x\0y\r\n\"", "GET \"a\r\nb\"", "STRLEN \"a\r\nb\"", "KEYS \"a?\nb\"", "KEYS \"*\0*\"",
            "GETRANGE \"a\r\nb\" 1 3", "APPEND \"a\r\nb\" \"\0\"", "GET \"a\r\nb\"", "SET \"\" empty-key", "GET \"\"",
            "EXISTS \"\"", "KEYS \"\"", "RENAME \"\" nonempty", "GET nonempty", "SET ü ö", "GET ü", "STRLEN ü", "KEYS ??",
            "LCS \"a\r\nb\" nonempty", "CLIENT SETNAME ü", "CLIENT SETNAME \"a\0\"", "SET big " + new string('x', 100_000),
            "STRLEN big", "GETRANGE big 99990 -1", "APPEND big yz", "GETRANGE big -3 -1", "SETRANGE big 200000 end",
            "STRLEN big", "GETRANGE big 199998 -1", "OBJECT ENCODING big", "ECHO " + new string('e', 70_000),
            "GET big", "DEL \"a\r\nb\" big \"\" nonempty",
        ],
        ["resp3"] =
        [
            "~ HELLO 3", "GET missing", "MGET a missing", "SET a 1", "LCS a a IDX WITHMATCHLEN", "LCS a missing IDX",
            "CONFIG GET maxmemory", "CONFIG GET nonexistent", "INCRBYFLOAT f 1.5", "OBJECT ENCODING missing",
            "OBJECT REFCOUNT missing", "CLIENT GETNAME", "EXISTS a", "TTL a", "KEYS a", "COMMAND INFO nosuch",
            "GETEX missing", "GETDEL missing", "SET a 2 GET", "SET b 2 NX GET", "SET a 3 NX", "TYPE a", "PING",
            "PING x", "OBJECT HELP", "GETRANGE a 0 -1", "COMMAND GETKEYS get k", "FLUSHALL", "RANDOMKEY", "SCAN 0",
            "foo", "HELLO 2 AUTH x y", "CONFIG SET maxclients abc", "~ HELLO 2", "GET missing", "CONFIG GET maxmemory",
        ],
        ["hashes"] =
        [
            "HSET h a 1 b 2 c 3", "HSET h a 10 d 4", "HGETALL h", "HGET h a", "HGET h nope", "HGET nohash a",
            "HMGET h a nope b", "HMGET nohash a b", "HLEN h", "HLEN nohash", "HKEYS h", "HVALS h", "HKEYS nohash",
            "HEXISTS h a", "HEXISTS h nope", "HEXISTS nohash a", "HSTRLEN h a", "HSTRLEN h nope", "HSETNX h a x",
            "HSETNX h e 5", "HGET h e", "HDEL h a nope a", "HDEL h nope", "HDEL nohash a", "HGETALL h",
            "HMSET h f 6 g 7", "HMSET h f", "HSET h f", "HSET h", "HSET h f 1 g", "HGETALL nohash", "HDEL h b c d e f g",
            "EXISTS h", "TYPE h", "HSET h \"\" \"\"", "HGET h \"\"", "HSTRLEN h \"\"", "HLEN h", "TYPE h",
            "OBJECT ENCODING h", "SET s v", "HSET s a 1", "HGET s a", "HMGET s a", "HGETALL s", "HLEN s", "HDEL s a",
            "HEXISTS s a", "HINCRBY s a 1", "HSCAN s 0", "HRANDFIELD s", "GET h", "APPEND h x", "INCR h", "TYPE nohash",
            "HSET t a 1", "PEXPIRE t 1000499", "HSET t b 2", "HDEL t a", "TTL t", "HINCRBY t n 1", "TTL t",
            "HGETALL t", "DEL t", "HSET big a 1", "HKEYS big", "HSCAN big 0", "HSCAN big 0 COUNT 0",
            "HSCAN big 0 COUNT x", "HSCAN big 0 MATCH", "HSCAN big 0 FOO bar", "HSCAN big x", "HSCAN nohash 0",
            "HSCAN big 0 MATCH b*", "HSCAN big 0 MATCH a*", "HGET", "HGETALL h x", "HLEN", "SCAN 0 TYPE string", "COMMAND GETKEYS hset k f v", "COPY big big2", "HGETALL big2", "RENAME big2 big3",
            "HGETALL big3", "TYPE big3",
        ],
        ["hash-increments"] =
        [
            "HINCRBY h n 5", "HINCRBY h n -7", "HGET h n", "HINCRBY h n abc", "HINCRBY h n 1.5", "HINCRBY h n \"\"",
            "HSET h s abc", "HINCRBY h s 1", "HSET h f 1.5", "HINCRBY h f 1", "HSET h m 9223372036854775807",
            "HINCRBY h m 1", "HINCRBY h m -1", "HSET h m -9223372036854775808", "HINCRBY h m -1",
            "HINCRBY h m 9223372036854775808", "HSET h sp \" 1\"", "HINCRBY h sp 1", "HINCRBYFLOAT h x 1.5",
            "HINCRBYFLOAT h x 0.25", "HINCRBYFLOAT h x -1.75", "HGET h x", "HINCRBYFLOAT h x abc",
            "HINCRBYFLOAT h x inf", "HINCRBYFLOAT h x nan", "HINCRBYFLOAT h s 1", "HINCRBYFLOAT h n 1e3",
            "HINCRBYFLOAT h big 1e20", "HSET h inf inf", "HINCRBYFLOAT h inf 1", "HINCRBYFLOAT h e 5.0e-3",
            "HGETALL h", "HINCRBY h", "HINCRBYFLOAT h x", "~ HELLO 3", "HGETALL h", "HGETALL nohash",
            "HINCRBYFLOAT h x 2", "HRANDFIELD nohash", "HRANDFIELD nohash 2", "HRANDFIELD h 0", "HRANDFIELD nohash 0 WITHVALUES",
            "~ HELLO 2",
        ],
        ["hash-random"] =
        [
            "HSET one a 1", "HRANDFIELD one", "HRANDFIELD one 1", "HRANDFIELD one 5", "HRANDFIELD one -3",
            "HRANDFIELD one -2 WITHVALUES", "HRANDFIELD one 1 WITHVALUES", "HRANDFIELD one 1 FOO",
            "HRANDFIELD one 1 WITHVALUES x", "HRANDFIELD one x", "HRANDFIELD one -9223372036854775807 WITHVALUES",
            "HRANDFIELD one -9223372036854775808",
            "HRANDFIELD one 0", "HRANDFIELD nohash", "HRANDFIELD nohash -5",
        ],
        ["transactions"] =
        [
            "MULTI", "MULTI", "WATCH a", "SET a 1", "FOO", "GET", "SHUTDOWN", "CLIENT NOSUCH", "EXEC", "EXEC",
            "DISCARD", "GET a", "MULTI", "SET a 1", "INCR b", "INCRBY a x", "SET a v EX 0", "GET a", "WAIT 1 0",
            "UNWATCH", "EXEC", "MULTI", "EXEC", "MULTI", "SET a 2", "DISCARD", "GET a", "EXEC", "WATCH", "MULTI x",
            "UNWATCH x", "EXEC x", "DISCARD x", "MULTI", "SET a", "EXEC", "MULTI", "SET a 3", "RESET", "EXEC", "GET a",
            "MULTI", "MSET a 4 b", "MSET a 4 b 5", "MGET a b", "DEL a b", "EXISTS a b", "EXEC",
            "MULTI", "HSET h f 1 g 2", "HINCRBY h f 5", "HGETALL h", "GET h", "HSET s f 1", "SET s v", "HGET s f", "EXEC",
            "SET hw 1", "WATCH h hw", "HSET h f 7", "MULTI", "HGET h f", "EXEC", "WATCH h", "HSETNX h f 8", "MULTI", "HGET h f", "EXEC",
        ],
        ["watch"] =
        [
            "SET w 1", "WATCH w", "SET w 2", "MULTI", "GET w", "EXEC", "WATCH w", "MULTI", "INCR w", "EXEC",
            "WATCH w", "MULTI", "EXEC", "WATCH w", "SET w 2", "UNWATCH", "MULTI", "GET w", "EXEC",
            "WATCH w", "SET w 2 NX", "INCR nothing-else", "MULTI", "GET w", "EXEC",
            "WATCH w", "SET w 2 XX", "MULTI", "GET w", "EXEC", "WATCH w", "EXPIRE w 100", "MULTI", "PING", "EXEC",
            "WATCH w", "PERSIST w", "MULTI", "PING", "EXEC", "WATCH w", "PERSIST w", "MULTI", "PING", "EXEC",
            "WATCH w", "DEL w", "MULTI", "PING", "EXEC", "WATCH w", "DEL w", "MULTI", "PING", "EXEC",
            "WATCH absent", "SET absent 1", "DEL absent", "MULTI", "PING", "EXEC",
            "WATCH absent", "MULTI", "SET absent 1", "EXEC", "GET absent",
            "WATCH w w w", "SET w 3", "MULTI", "PING", "EXEC", "WATCH w other", "SET other 1", "MULTI", "PING", "EXEC",
            "WATCH w", "MULTI", "WATCH w", "DISCARD", "SET w 4", "MULTI", "PING", "EXEC",
            "WATCH w", "SET w 5", "MULTI", "FOO", "EXEC", "MULTI", "PING", "EXEC",
            "SET x 1", "WATCH x", "RENAME x y", "MULTI", "PING", "EXEC", "WATCH y", "SET y 1 PXAT 1", "MULTI", "PING", "EXEC",
            "SET w 1", "WATCH w never", "FLUSHALL", "MULTI", "PING", "EXEC",
            "SET w 1", "WATCH never", "FLUSHALL", "MULTI", "PING", "EXEC",
            "~ HELLO 3", "WATCH w", "SET w 1", "MULTI", "GET w", "EXEC", "MULTI", "GET w", "GET missing", "EXEC",
            "MULTI", "FOO", "EXEC", "~ HELLO 2",
        ],
        ["command-and-server"] =
        [
            "COMMAND FOO", "COMMAND INFO nosuch", "COMMAND INFO nosuch nosuch2", "COMMAND GETKEYS",
            "COMMAND GETKEYS get", "COMMAND GETKEYS get a", "COMMAND GETKEYS set a", "COMMAND GETKEYS set a b",
            "COMMAND GETKEYS mset a b c d", "COMMAND GETKEYS mset a", "COMMAND GETKEYS mset a b c",
            "COMMAND GETKEYS ping x", "COMMAND GETKEYS nosuch a", "COMMAND GETKEYS copy a b",
            "COMMAND GETKEYS lcs a b", "COMMAND GETKEYS rename a b", "COMMAND GETKEYS del a b c",
            "COMMAND GETKEYS object encoding k", "COMMAND GETKEYS config get x", "COMMAND COUNT x",
            "COMMAND LIST FILTERBY foo bar", "COMMAND DOCS nosuch", "SHUTDOWN FOO", "SHUTDOWN ABORT",
            "SHUTDOWN ABORT NOSAVE", "SHUTDOWN NOSAVE FOO", "TIME x", "LASTSAVE x", "DBSIZE",
        ],
    };

    // Marks a script line sent to both servers whose replies are known to differ (HELLO: version and client
    // id): only the reply types must agree.
    private const string Uncompared = "~ ";

    // Raw requests whose whole transcript, up to the server closing the connection, must be the same bytes.
    // Valid ones end with QUIT so that both servers close.
    private static readonly Dictionary<string, string> s_rawRequests = new()
    {
        ["inline"] = "PING\r\n  ping   hello  \nset raw:a \"x y\"\r\nget raw:a\r\necho \"a\\x41\\n\\t\\\\\"\r\necho 'it\\'s'\r\n" +
                     "echo \"\\xzz\"\r\necho \"a\\\"b\"\r\n\r\n\r\n\n  \r\nQUIT\r\n",
        ["multibulk-edge-cases"] = "*0\r\n*-1\r\n*1\r\n$4\r\nPINGxx*2\r\n$4\r\nECHO\r\n$0\r\n\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n",
        ["invalid-multibulk-length"] = "*abc\r\n",
        ["multibulk-length-with-zero"] = "*01\r\n$4\r\nPING\r\n",
        ["multibulk-length-too-big"] = "*3000000000\r\n",
        ["multibulk-length-missing"] = "*\r\n",
        ["invalid-bulk-length"] = "*1\r\n$x\r\n",
        ["negative-bulk-length"] = "*1\r\n$-1\r\n",
        ["bulk-length-with-plus"] = "*1\r\n$+4\r\nPING\r\n",
        ["bulk-length-with-space"] = "*1\r\n$ 4\r\nPING\r\n",
        ["bulk-length-with-zero"] = "*1\r\n$01\r\n",
        ["bulk-length-above-512mb"] = "*2\r\n$4\r\nECHO\r\n$536870913\r\n",
        ["simple-string-instead-of-bulk"] = "*1\r\n+foo\r\n",
        ["integer-instead-of-bulk"] = "*1\r\n:4\r\n",
        ["empty-line-instead-of-bulk"] = "*1\r\n\r\n",
        ["unbalanced-double-quote"] = "SET k \"unbalanced\r\n",
        ["unbalanced-single-quote"] = "ECHO 'open\r\n",
        ["quote-followed-by-text"] = "ECHO \"closed\"tail\r\n",
        ["error-after-valid-commands"] = "PING\r\n*1\r\n$4\r\nPING\r\n*abc\r\nPING\r\n",
        ["pipelined-transaction"] = "MULTI\r\nSET tx:k 1\r\nINCR tx:k\r\nGET tx:k\r\nEXEC\r\nWATCH tx:k\r\nMULTI\r\nDEL tx:k\r\n" +
                                    "EXEC\r\nWATCH tx:k\r\nSET tx:k 2\r\nMULTI\r\nGET tx:k\r\nEXEC\r\nDEL tx:k\r\nMULTI\r\nPING\r\nQUIT\r\n",
        ["error-after-bad-argument-in-pipeline"] = "*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n*2\r\n$4\r\nECHO\r\n$-5\r\n",
    };

    public static TheoryData<string> Scripts => new(s_scripts.Keys);

    public static TheoryData<string> RawRequests => new(s_rawRequests.Keys);

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task Script_replies_are_the_same_bytes_as_redis_server(string script)
    {
        await using var redis = await RespConnection.ConnectAsync(servers.Redis.Port);
        await using var estoraje = await RespConnection.ConnectAsync(servers.Estoraje.Port);
        Assert.Equal("+OK\r\n", await redis.CommandAsync("FLUSHALL"));
        Assert.Equal("+OK\r\n", await estoraje.CommandAsync("FLUSHALL"));

        await AssertSameRepliesAsync(redis, estoraje, s_scripts[script]);
    }

    [Fact]
    public async Task Requirepass_replies_and_transcripts_are_the_same_bytes_as_redis_server()
    {
        await using var redisServer = await RedisServerProcess.StartAsync("--databases", "1", "--requirepass", "s3cret");
        await using var estorajeServer = await EstorajeServerProcess.StartAsync("--requirepass", "s3cret");
        await using (var redis = await RespConnection.ConnectAsync(redisServer.Port))
        await using (var estoraje = await RespConnection.ConnectAsync(estorajeServer.Port))
        {
            await AssertSameRepliesAsync(redis, estoraje,
            [
                "GET a", "PING", "foo", "GET", "CLIENT SETNAME x", "CLIENT ID x", "SELECT 0", "AUTH wrong",
                "AUTH default wrong", "AUTH nobody s3cret", "AUTH a b c", "HELLO 2 AUTH default wrong",
                "HELLO 2 AUTH nobody s3cret", "HELLO x", "HELLO 4", "HELLO 3 FOO", "AUTH s3cret", "GET a", "RESET",
                "GET a", "AUTH default s3cret", "GET a", "RESET", "~ HELLO 3 AUTH default s3cret", "GET a",
                "~ HELLO 2", "CONFIG SET requirepass \"\"", "AUTH x", "AUTH default x", "AUTH default \"\"",
                "CONFIG SET requirepass s3cret", "GET a", "QUIT",
            ]);
        }

        foreach (var request in (string[])["*11\r\n", "*2\r\n$4\r\nECHO\r\n$16385\r\n", "PING\r\nQUIT\r\n", "AUTH s3cret\r\n*11\r\nQUIT\r\n"])
        {
            var bytes = Encoding.Latin1.GetBytes(request);
            Assert.Equal(RespConnection.Escape(await TranscriptAsync(redisServer.Port, bytes)),
                RespConnection.Escape(await TranscriptAsync(estorajeServer.Port, bytes)));
        }
    }

    [Theory]
    [MemberData(nameof(RawRequests))]
    public async Task Raw_request_transcript_is_the_same_bytes_as_redis_server(string request)
    {
        var bytes = Encoding.Latin1.GetBytes(s_rawRequests[request]);

        var expected = await TranscriptAsync(servers.Redis.Port, bytes);
        var actual = await TranscriptAsync(servers.Estoraje.Port, bytes);

        Assert.Equal(RespConnection.Escape(expected), RespConnection.Escape(actual));
    }

    // Pub/sub over three connections: S subscribes (RESP2), R subscribes in RESP3, P publishes. A step is
    // "<who> <replies> <command>": the command is sent on that connection (none for "-") and that many replies
    // read from it, so that messages a publisher caused are read from the subscriber that received them. Left out:
    // replies listing several channels at once (PUBSUB CHANNELS, UNSUBSCRIBE of several), whose order is a hash
    // table's in both servers.
    private static readonly string[] s_pubsubSteps =
    [
        "S 1 UNSUBSCRIBE", "S 1 PUNSUBSCRIBE", "S 1 SUNSUBSCRIBE", "S 2 SUBSCRIBE news sport", "S 1 SUBSCRIBE news",
        "S 2 PSUBSCRIBE n* [sx]port", "S 1 SSUBSCRIBE orders", "S 1 PING", "S 1 PING hello", "S 1 PING a b", "S 1 GET k",
        "S 1 CLIENT ID", "S 1 PUBLISH news x", "S 1 PUBSUB NUMPAT", "S 1 SUBSCRIBE", "S 1 PSUBSCRIBE", "S 1 FOO",
        "P 1 PUBLISH news first", "S 2 -", "P 1 PUBLISH sport \"\"", "S 2 -", "P 1 PUBLISH nothing \"a\r\nb\"", "S 1 -",
        "P 1 PUBLISH weather x", "P 1 SPUBLISH orders o", "S 1 -", "P 1 SPUBLISH news x", "P 1 PUBSUB CHANNELS n*",
        "P 1 PUBSUB CHANNELS zz*", "P 1 PUBSUB NUMSUB news sport none news", "P 1 PUBSUB NUMSUB",
        "P 1 PUBSUB NUMPAT", "P 1 PUBSUB SHARDCHANNELS", "P 1 PUBSUB SHARDCHANNELS o*", "P 1 PUBSUB SHARDNUMSUB orders x",
        "P 1 PUBSUB CHANNELS a b", "P 1 PUBSUB SHARDCHANNELS a b", "P 1 PUBSUB NUMPAT x", "P 1 PUBSUB FOO", "P 1 PUBSUB",
        "P 1 PUBSUB HELP", "P 1 PUBLISH", "P 1 PUBLISH a", "P 1 SPUBLISH a b c",
        "P 1 MULTI", "P 1 PUBLISH news tx", "P 1 PUBSUB NUMSUB news", "P 1 EXEC", "S 2 -",
        "P 1 EVAL \"return redis.call('publish', 'news', 'lua')\" 0", "S 2 -", "P 1 EVAL \"redis.call('subscribe', 'x')\" 0", "R 1 ~ HELLO 3", "R 1 SUBSCRIBE news",
        "R 1 GET k", "P 1 PUBLISH news both", "S 2 -", "R 1 -", "R 1 PING", "R 1 PING x", "R 1 PUBLISH news self", "R 1 -",
        "S 2 -", "R 1 UNSUBSCRIBE news", "R 1 UNSUBSCRIBE", "R 1 PSUBSCRIBE r*", "R 1 ~ HELLO 2", "R 1 GET k",
        "R 1 RESET", "R 1 GET k", "S 1 UNSUBSCRIBE news", "S 1 UNSUBSCRIBE news", "S 1 PUNSUBSCRIBE n* zz", "S 1 SUNSUBSCRIBE",
        "P 1 PUBLISH sport last", "S 2 -", "S 1 UNSUBSCRIBE", "S 1 PUNSUBSCRIBE", "S 1 GET k", "S 1 PING", "S 1 SUBSCRIBE q",
        "S 1 RESET", "S 1 GET k", "P 1 PUBSUB NUMSUB news sport q", "P 1 PUBSUB NUMPAT",
    ];

    [Fact]
    public async Task Pubsub_replies_and_messages_are_the_same_bytes_as_redis_server()
    {
        var expected = await PubSubTranscriptAsync(servers.Redis.Port);
        var actual = await PubSubTranscriptAsync(servers.Estoraje.Port);

        var differences = expected.Zip(actual, (e, a) => (Expected: e, Actual: a)).Where(p => p.Expected != p.Actual)
            .Select(p => $"{p.Expected.Step}{Environment.NewLine}    redis-server: {RespConnection.Escape(p.Expected.Reply)}" +
                         $"{Environment.NewLine}    estoraje:     {RespConnection.Escape(p.Actual.Reply)}").ToList();
        Assert.True(differences.Count == 0, $"{differences.Count} replies differ:{Environment.NewLine}{string.Join(Environment.NewLine, differences)}");
    }

    private static async Task<List<(string Step, string Reply)>> PubSubTranscriptAsync(int port)
    {
        await using var s = await RespConnection.ConnectAsync(port);
        await using var r = await RespConnection.ConnectAsync(port);
        await using var p = await RespConnection.ConnectAsync(port);
        var transcript = new List<(string, string)>();
        foreach (var step in s_pubsubSteps)
        {
            var connection = step[0] switch { 'S' => s, 'R' => r, _ => p };
            var replies = step[2] - '0';
            var command = step[4..];
            var uncompared = command.StartsWith(Uncompared, StringComparison.Ordinal);
            if (command != "-")
                await connection.SendAsync(RespConnection.Encode(Split(uncompared ? command[Uncompared.Length..] : command)));
            for (var i = 0; i < replies; i++)
            {
                var reply = await connection.ReadReplyAsync();
                transcript.Add((step, uncompared ? reply[..1] : reply));
            }
        }

        return transcript;
    }

    // Sends each command to both servers in turn and fails listing every reply that differs.
    private static async Task AssertSameRepliesAsync(RespConnection redis, RespConnection estoraje, string[] commands)
    {
        var differences = new List<string>();
        foreach (var command in commands)
        {
            var arguments = Split(command.StartsWith(Uncompared, StringComparison.Ordinal) ? command[Uncompared.Length..] : command);
            var expected = await redis.CommandAsync(arguments);
            var actual = await estoraje.CommandAsync(arguments);
            if (command.StartsWith(Uncompared, StringComparison.Ordinal))
                Assert.Equal(expected[0], actual[0]);
            else if (actual != expected)
            {
                differences.Add($"{command}{Environment.NewLine}    redis-server: {RespConnection.Escape(expected)}" +
                                $"{Environment.NewLine}    estoraje:     {RespConnection.Escape(actual)}");
            }
        }

        Assert.True(differences.Count == 0,
            $"{differences.Count} of {commands.Length} replies differ:{Environment.NewLine}{string.Join(Environment.NewLine, differences)}");
    }

    private static async Task<string> TranscriptAsync(int port, byte[] request)
    {
        await using var connection = await RespConnection.ConnectAsync(port);
        await connection.SendAsync(request);
        return await connection.ReadUntilClosedAsync();
    }

    // Splits a script line on spaces; "double quotes" keep spaces and make "" an empty argument.
    internal static string[] Split(string line)
    {
        var arguments = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        var started = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
                started = true;
            }
            else if (c == ' ' && !quoted)
            {
                if (started)
                    arguments.Add(current.ToString());
                current.Clear();
                started = false;
            }
            else
            {
                current.Append(c);
                started = true;
            }
        }

        if (started)
            arguments.Add(current.ToString());
        return [.. arguments];
    }
}
