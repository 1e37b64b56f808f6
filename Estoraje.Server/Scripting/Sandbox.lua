-- Redis's scripting environment (Lua 5.1 as Redis 7 runs it), built once per Lua 5.4 state with the standard
-- libraries open. Receives the server's native functions; returns what the server keeps: the function that runs a
-- script, the environment scripts see as their globals, the real globals table (KEYS and ARGV are set there), and
-- the compiler (load with the script environment, text only).
local native = ...

local G = _G
local type, tostring, tonumber, select, next, error, pcall, xpcall =
      type, tostring, tonumber, select, next, error, pcall, xpcall
local rawget, rawset, rawsetmetatable, getmetatable = rawget, rawset, setmetatable, getmetatable
local rawload, getinfo, mathtype, format, floor = load, debug.getinfo, math.type, string.format, math.floor
local utf8char = utf8.char
local SANDBOX = getinfo(1, 'S').source

-- Tables scripts may read but not change, as Redis 7's read-only tables: the globals and every library are seen
-- through an empty proxy whose metatable refuses new keys and cannot be replaced; rawset refuses the proxies.
local readonly = rawsetmetatable({}, {__mode = 'k'})

local function refuse()
  error('Attempt to modify a readonly table', 2)
end

local function protect(t)
  local proxy = rawsetmetatable({}, {
    __index = t,
    __newindex = refuse,
    __pairs = function(p) return function(_, k) return next(t, k) end, p, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
  readonly[proxy] = true
  return proxy
end

-- Errors Redis raises from its library functions: a table whose err field carries the error code.
local function fail(message)
  error({err = 'ERR ' .. message}, 0)
end

-- The error handler of every script run: the error becomes {err=, source=, line=}, the place being the first
-- frame that is neither a C function nor this sandbox (the script line that called redis.call, error...).
local function handler(err)
  local level, info = 2, nil
  repeat
    info = getinfo(level, 'Sl')
    level = level + 1
  until info == nil or (info.what ~= 'C' and info.source ~= SANDBOX)
  if type(err) ~= 'table' or readonly[err] then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if info then
    rawset(err, 'source', info.source)
    rawset(err, 'line', info.currentline)
  end
  return err
end

local function run(script)
  return xpcall(script, handler)
end

-- redis.*
local call, known, sha1hex, log, setresp = native.call, native.known, native.sha1hex, native.log, native.setresp
local redis = {}

function redis.call(...)
  local reply, failed = call(...)
  if failed then
    error(reply, 0)
  end
  return reply
end

function redis.pcall(...)
  return (call(...))
end

function redis.sha1hex(...)
  if select('#', ...) ~= 1 then
    fail('wrong number of arguments')
  end
  local s = ...
  if type(s) == 'number' then
    s = tostring(s)
  elseif type(s) ~= 'string' then
    s = ''
  end
  return sha1hex(s)
end

-- "-CODE message" keeps its code, anything else gets ERR; trailing line breaks are trimmed (luaPushErrorBuff).
function redis.error_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if s:sub(1, 1) ~= '-' then
    s = '-' .. s
  end
  local space = s:find(' ', 1, true)
  local code, message = 'ERR', s:sub(2)
  if space then
    code, message = s:sub(2, space - 1), s:sub(space + 1)
  end
  message = message:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return {err = code .. ' ' .. message}
end

function redis.status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end

function redis.log(...)
  local n = select('#', ...)
  if n < 2 then
    fail('redis.log() requires two arguments or more.')
  end
  local level = tonumber((...))
  if level == nil then
    fail('First argument must be a number (log level).')
  end
  level = floor(level)
  if level < 0 or level > 3 then
    fail('Invalid debug level.')
  end
  local parts = {}
  for i = 2, n do
    local part = select(i, ...)
    if type(part) == 'string' or type(part) == 'number' then
      parts[#parts + 1] = tostring(part)
    end
  end
  log(level, table.concat(parts, ' '))
end

function redis.setresp(...)
  if select('#', ...) ~= 1 then
    fail('redis.setresp() requires one argument.')
  end
  local resp = tonumber((...))
  if resp ~= 2 and resp ~= 3 then
    fail('RESP version must be 2 or 3.')
  end
  setresp(resp)
end

-- Every write is replicated to the key's replicas whatever the script asks: the flags are checked, not used.
function redis.set_repl(...)
  if select('#', ...) ~= 1 then
    fail('redis.set_repl() requires two arguments.')
  end
  local flags = tonumber((...)) or 0
  if flags ~= 0 and flags ~= 1 and flags ~= 2 and flags ~= 3 then
    fail('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
  end
end

function redis.acl_check_cmd(...)
  local ok, failed = known(...)
  if failed then
    error(ok, 0)
  end
  return ok
end

function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end

redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = native.version, native.versionnum

-- bit: LuaBitOp's operations on 32-bit signed integers.
local function tobit(x)
  x = tonumber(x)
  if x == nil then
    error("bad argument #1 to 'tobit' (number expected)", 3)
  end
  if mathtype(x) == 'float' then
    if x ~= x or x == math.huge or x == -math.huge then return 0 end
    x = floor(x + 0.5)
    x = math.tointeger(x % 4294967296) or 0
  end
  x = x & 0xffffffff
  return x >= 0x80000000 and x - 0x100000000 or x
end

local function fold(op)
  return function(x, ...)
    local r = tobit(x)
    for i = 1, select('#', ...) do
      r = tobit(op(r, tobit((select(i, ...)))))
    end
    return r
  end
end

local bit = {
  tobit = function(x) return tobit(x) end,
  bnot = function(x) return tobit(~tobit(x)) end,
  band = fold(function(a, b) return a & b end),
  bor = fold(function(a, b) return a | b end),
  bxor = fold(function(a, b) return a ~ b end),
  lshift = function(x, n) return tobit((tobit(x) & 0xffffffff) << (tobit(n) & 31)) end,
  rshift = function(x, n) return tobit((tobit(x) & 0xffffffff) >> (tobit(n) & 31)) end,
  arshift = function(x, n) return tobit(tobit(x) // (1 << (tobit(n) & 31))) end,
  rol = function(x, n) x, n = tobit(x) & 0xffffffff, tobit(n) & 31; return tobit((x << n) | (x >> (32 - n))) end,
  ror = function(x, n) x, n = tobit(x) & 0xffffffff, tobit(n) & 31; return tobit((x >> n) | (x << (32 - n))) end,
  bswap = function(x)
    x = tobit(x) & 0xffffffff
    return tobit(((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >> 8) & 0xff00) | (x >> 24))
  end,
  tohex = function(x, n)
    n = n == nil and 8 or tobit(n)
    local upper = n < 0
    if upper then n = -n end
    if n > 8 then n = 8 end
    return format(upper and '%08X' or '%08x', tobit(x) & 0xffffffff):sub(9 - n)
  end,
}

-- cjson: lua-cjson's encode and decode (default settings), with cjson.null the NULL light userdata.
local null = native.null
local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['/'] = '\\/', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n',
  ['\r'] = '\\r', ['\t'] = '\\t', ['\127'] = '\\u007f'}
for i = 0, 31 do
  local c = string.char(i)
  if escapes[c] == nil then escapes[c] = format('\\u%04x', i) end
end

local function number(x)
  if x ~= x or x == math.huge or x == -math.huge then
    error('Cannot serialise number: must not be NaN or Inf', 0)
  end
  if mathtype(x) == 'integer' then return format('%d', x) end
  return format('%.14g', x)
end

local encode
local function encodetable(t, depth, out)
  if depth > 1000 then
    error('Cannot serialise, excessive nesting (' .. depth .. ')', 0)
  end
  -- An array when every key is a positive integer and it is not too sparse (lua-cjson's ratio 2, safe 10).
  local max, items, array = 0, 0, true
  for k in next, t do
    if type(k) == 'number' and k > 0 and floor(k) == k then
      if k > max then max = k end
      items = items + 1
    else
      array = false
      break
    end
  end
  if array and max > 0 then
    if max > items * 2 and max > 10 then
      error('Cannot serialise table: excessively sparse array', 0)
    end
    out[#out + 1] = '['
    for i = 1, max do
      if i > 1 then out[#out + 1] = ',' end
      encode(rawget(t, i), depth, out)
    end
    out[#out + 1] = ']'
    return
  end
  out[#out + 1] = '{'
  local first = true
  for k, v in next, t do
    local key
    if type(k) == 'string' then
      key = k
    elseif type(k) == 'number' then
      key = number(k)
    else
      error('Cannot serialise ' .. type(k) .. ': table key must be a number or string', 0)
    end
    if not first then out[#out + 1] = ',' end
    first = false
    out[#out + 1] = '"' .. key:gsub('[%c"\\/\127]', escapes) .. '":'
    encode(v, depth, out)
  end
  out[#out + 1] = '}'
end

encode = function(v, depth, out)
  local kind = type(v)
  if v == nil or v == null then
    out[#out + 1] = 'null'
  elseif kind == 'boolean' then
    out[#out + 1] = v and 'true' or 'false'
  elseif kind == 'number' then
    out[#out + 1] = number(v)
  elseif kind == 'string' then
    out[#out + 1] = '"' .. v:gsub('[%c"\\/\127]', escapes) .. '"'
  elseif kind == 'table' then
    encodetable(v, depth + 1, out)
  else
    error('Cannot serialise ' .. kind .. ': type not supported', 0)
  end
end

local decodevalue
local function token(s, i)
  i = s:find('[^ \t\r\n]', i) or #s + 1
  return i, s:sub(i, i)
end

local function expected(what, s, i)
  local found = i > #s and 'T_END' or 'invalid token'
  error('Expected ' .. what .. ' but found ' .. found .. ' at character ' .. i, 0)
end

local function decodestring(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == '' then error('Expected value but found invalid token at character ' .. i, 0) end
    if c == '"' then return table.concat(out), j + 1 end
    if c == '\\' then
      local e = s:sub(j + 1, j + 1)
      local simple = ({['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t'})[e]
      if simple then
        out[#out + 1] = simple
        j = j + 2
      elseif e == 'u' then
        local code = tonumber(s:sub(j + 2, j + 5), 16)
        if code == nil then error('Expected value but found invalid unicode escape code at character ' .. i, 0) end
        j = j + 6
        if code >= 0xD800 and code <= 0xDBFF and s:sub(j, j + 1) == '\\u' then
          local low = tonumber(s:sub(j + 2, j + 5), 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            j = j + 6
          end
        end
        out[#out + 1] = utf8char(code)
      else
        error('Expected value but found invalid escape code at character ' .. i, 0)
      end
    else
      local k = s:find('["\\]', j) or #s + 1
      out[#out + 1] = s:sub(j, k - 1)
      j = k
    end
  end
end

decodevalue = function(s, i, depth)
  if depth > 1000 then error('Found too many nested data structures (' .. depth .. ') at character ' .. i, 0) end
  local c
  i, c = token(s, i)
  if c == '{' then
    local t = {}
    i, c = token(s, i + 1)
    if c == '}' then return t, i + 1 end
    while true do
      if c ~= '"' then expected('object key string', s, i) end
      local key
      key, i = decodestring(s, i)
      i, c = token(s, i)
      if c ~= ':' then expected('colon', s, i) end
      t[key], i = decodevalue(s, i + 1, depth + 1)
      i, c = token(s, i)
      if c == '}' then return t, i + 1 end
      if c ~= ',' then expected('comma or object end', s, i) end
      i, c = token(s, i + 1)
    end
  elseif c == '[' then
    local t, n = {}, 0
    i, c = token(s, i + 1)
    if c == ']' then return t, i + 1 end
    while true do
      n = n + 1
      t[n], i = decodevalue(s, i, depth + 1)
      i, c = token(s, i)
      if c == ']' then return t, i + 1 end
      if c ~= ',' then expected('comma or array end', s, i) end
      i = i + 1
    end
  elseif c == '"' then
    return decodestring(s, i)
  end
  local literal = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', i)
  if literal and #literal > 0 then
    local value = tonumber(literal)
    if value == nil then expected('value', s, i) end
    if mathtype(value) == 'float' and floor(value) == value and value >= -2^53 and value <= 2^53 then
      value = math.tointeger(value)
    end
    return value, i + #literal
  end
  for word, value in next, {['true'] = true, ['false'] = false, ['null'] = null} do
    if s:sub(i, i + #word - 1) == word then return value, i + #word end
  end
  expected('value', s, i)
end

local cjson = {
  null = null,
  encode = function(...)
    if select('#', ...) ~= 1 then error("bad argument #1 to 'encode' (expected 1 argument)", 2) end
    local out = {}
    local ok, failure = pcall(encode, ..., 0, out)
    if not ok then error(failure, 2) end
    return table.concat(out)
  end,
  decode = function(...)
    if select('#', ...) ~= 1 then error("bad argument #1 to 'decode' (expected 1 argument)", 2) end
    local s = ...
    if type(s) ~= 'string' then s = tostring(s) end
    local ok, value, i = pcall(decodevalue, s, 1, 0)
    if not ok then error(value, 2) end
    local c
    i, c = token(s, i)
    if c ~= '' then error('Expected the end but found invalid token at character ' .. i, 2) end
    return value
  end,
}

-- Lua 5.1 functions scripts use that Lua 5.4 dropped or renamed.
local math51 = {}
for k, v in next, math do math51[k] = v end
math51.pow = function(x, y) return x ^ y end
math51.log10 = function(x) return math.log(x, 10) end
math51.ldexp = function(m, e) return m * 2.0 ^ e end
math51.frexp = function(x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if math.abs(m) >= 1 then m, e = m / 2, e + 1 elseif math.abs(m) < 0.5 then m, e = m * 2, e - 1 end
  return m, e
end
math51.cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end
math51.sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end
math51.tanh = function(x) local a, b = math.exp(x), math.exp(-x); return (a - b) / (a + b) end
math51.mod = math.fmod

local table51 = {}
for k, v in next, table do table51[k] = v end
table51.getn = function(t) return #t end
table51.maxn = function(t)
  local n = 0
  for k in next, t do
    if type(k) == 'number' and k > n then n = k end
  end
  return n
end

-- The environment of scripts (and of what they load): reads of missing globals and every write fail.
local env = {}

local function safeload(chunk, name, mode, chunkenv)
  if chunkenv == nil then chunkenv = env end
  return rawload(chunk, name, 't', chunkenv)
end

-- tostring of a float that holds an integer prints it as Lua 5.1 does ("3", not "3.0").
local function tostring51(x)
  if mathtype(x) == 'float' then
    return format('%.14g', x)
  end
  return tostring(x)
end

-- Lua 5.1 ignores __gc on tables; a finalizer would run script code at any later time: never let one be set.
-- The checks of setmetatable are made here so that their errors name the script's line, not this file's.
local function setmetatable51(t, mt)
  if type(t) ~= 'table' then
    error("bad argument #1 to 'setmetatable' (table expected, got " .. (t == nil and 'no value' or type(t)) .. ')', 2)
  end
  if mt ~= nil and type(mt) ~= 'table' then
    error("bad argument #2 to 'setmetatable' (nil or table expected)", 2)
  end
  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then
    local gc = rawget(mt, '__gc')
    rawset(mt, '__gc', nil)
    local ok, result = pcall(rawsetmetatable, t, mt)
    rawset(mt, '__gc', gc)
    if not ok then error(result, 2) end
    return result
  end
  local ok, result = pcall(rawsetmetatable, t, mt)
  if not ok then error(result, 2) end
  return result
end

-- Redis 7's pcall: an error raised by redis.call comes back as its message, not its table.
local function unwrap(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'table' then
    local message = rawget(e, 'err')
    if type(message) == 'string' or type(message) == 'number' then
      return false, message
    end
  end
  return false, e
end

local function pcall51(...)
  return unwrap(pcall(...))
end

local function rawset51(t, k, v)
  if readonly[t] then
    error('Attempt to modify a readonly table', 0)
  end
  local ok, result = pcall(rawset, t, k, v)
  if not ok then error(result, 2) end
  return result
end

local keep = {
  assert = assert, collectgarbage = collectgarbage, error = error, getmetatable = getmetatable,
  ipairs = ipairs, next = next, pairs = pairs, rawequal = rawequal, rawget = rawget, rawlen = rawlen,
  select = select, tonumber = tonumber, type = type, xpcall = xpcall, _VERSION = 'Lua 5.1',
  tostring = tostring51, setmetatable = setmetatable51, pcall = pcall51, rawset = rawset51,
  unpack = table.unpack, load = safeload, loadstring = safeload,
  gcinfo = function() return floor(collectgarbage('count')) end,
}
local libraries = {
  string = string, math = math51, table = table51, coroutine = coroutine, bit = bit, redis = redis, cjson = cjson,
}

-- Strings' metatable leads to the real string library: hide it.
rawset(getmetatable(''), '__metatable', false)

for name in next, G do
  rawset(G, name, nil)
end
for name, value in next, keep do
  rawset(G, name, value)
end
for name, library in next, libraries do
  rawset(G, name, protect(library))
end
rawset(G, '_G', env)

local function missing(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

rawsetmetatable(G, {__index = missing, __newindex = refuse, __metatable = false})
rawsetmetatable(env, {
  __index = G,
  __newindex = refuse,
  __pairs = function(p) return function(_, k) return next(G, k) end, p, nil end,
  __metatable = false,
})
readonly[G] = true
readonly[env] = true

return run, env, G, safeload
