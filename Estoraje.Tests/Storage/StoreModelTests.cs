using System.Text;
using Estoraje.Storage;
using Estoraje.Storage.Log;
using Estoraje.Storage.Memory;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Storage;

/// <summary>
/// Random operations against a dictionary model. The model tracks what the store physically holds: an expired
/// key stays until something touches it (TryGet, Append, Remove, SetExpiry) or a reclaiming pass removes it.
/// A store that persists is also closed and reopened now and then: the whole keyspace must come back.
/// </summary>
public sealed class MemoryStoreModelTests
{
    private const int Operations = 4000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Store_behaves_like_a_dictionary_with_expiry(int seed)
    {
        new Run(seed, keyCount: 40, time => new MemoryStore(time)).Execute(Operations);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Store_behaves_like_a_dictionary_with_expiry_over_many_keys(int seed)
    {
        // Enough keys for the shard tables to resize up and down as keys come and go.
        new Run(seed, keyCount: 3000, time => new MemoryStore(time)).Execute(Operations / 3);
    }

    internal sealed class Run : IDisposable
    {
        private readonly Random _random;
        private readonly ManualTime _time = new();
        private readonly Func<TimeProvider, IKeyValueStore> _create;
        private readonly bool _restarts;
        private readonly Action<IKeyValueStore, Random>? _compact;
        private IKeyValueStore _store;
        private readonly string[] _keys;
        private readonly Dictionary<string, Entry> _model = [];
        private readonly List<(StoredValue Value, byte[] Bytes)> _snapshots = [];
        private long _expiredTotal;
        private long _futureApplies;
        private string _last = "";

        /// <param name="seed">Seed of every random choice.</param>
        /// <param name="keyCount">Distinct keys used.</param>
        /// <param name="create">Opens the store; called again after each restart when <paramref name="restarts"/>.</param>
        /// <param name="restarts">Whether the store persists, so that closing and reopening it is an operation.</param>
        /// <param name="compact">Runs a compaction (nothing observable may change), when the store has one.</param>
        public Run(int seed, int keyCount, Func<TimeProvider, IKeyValueStore> create, bool restarts = false,
            Action<IKeyValueStore, Random>? compact = null)
        {
            _random = new Random(seed);
            _create = create;
            _restarts = restarts;
            _compact = compact;
            _store = create(_time);
            _keys = new string[keyCount];
            _keys[0] = "";
            _keys[1] = "bin\0\r\n\xff";
            for (var i = 2; i < keyCount; i++)
                _keys[i] = $"key:{i}";
        }

        private long Now => _time.NowMs;

        /// <summary>Operations run so far that were restarts.</summary>
        public int Restarts { get; private set; }

        /// <summary>Operations run so far that were compactions.</summary>
        public int Compactions { get; private set; }

        public void Execute(int operations)
        {
            for (var step = 0; step < operations; step++)
            {
                Step();
                Check(step);
            }

            if (_restarts)
            {
                Restart();
                Check(operations);
            }
        }

        public void Dispose() => _store.Dispose();

        private void Step()
        {
            var key = _keys[_random.Next(_keys.Length)];
            var op = _random.Next(100);
            if (op < 25)
                Set(key);
            else if (op < 40)
                Append(key);
            else if (op < 50)
                Remove(key);
            else if (op < 62)
                SetExpiry(key);
            else if (op < 72)
                Advance();
            else if (op < 90)
                Get(key);
            else if (op < 94)
                ExpireCycle();
            else if (op < 98)
                RandomKey();
            else if (op < 99)
                Clear();
            else
                BulkLoad();

            // Restarts (of a store that persists) and replicated records.
            var extra = _random.Next(100);
            if (extra < 3 && _restarts)
                Restart();
            else if (extra < 8)
                Apply(_keys[_random.Next(_keys.Length)]);
            else if (extra < 11 && _compact is not null)
                Compact();
        }

        private void Compact()
        {
            _last = "COMPACT";
            Compactions++;
            _compact!(_store, _random);
        }

        private void Restart()
        {
            _last = "RESTART";
            Restarts++;
            var before = Versions();
            _store.Dispose();
            _store = _create(_time);

            // A reopened store skips keys already expired and starts its counters afresh.
            foreach (var key in _model.Keys.ToList())
            {
                if (IsExpired(_model[key]))
                    _model.Remove(key);
            }

            _expiredTotal = 0;

            // The whole keyspace comes back: every value, expiry and version.
            Sweep();
            var after = Versions();
            Assert.Equal(before.Count, after.Count);
            foreach (var (key, version) in before)
                Assert.True(after.TryGetValue(key, out var v) && v == version, $"RESTART: version of {Show(key)} changed");
        }

        // Versions of every live key (reading them reclaims expired ones, as the model does).
        private Dictionary<string, long> Versions()
        {
            var versions = new Dictionary<string, long>();
            foreach (var key in _model.Keys.ToList())
            {
                var found = _store.TryGet(Bytes(key), out var value, touch: false);
                if (TouchLive(key, out _))
                {
                    Assert.True(found);
                    versions[key] = value.Version;
                }
            }

            return versions;
        }

        private void Apply(string key)
        {
            // The record's version is the held one plus -1, 0 or 1: only the newer one may be applied.
            var held = _store.TryGetVersion(Bytes(key), out var version);
            TouchLive(key, out _);
            var delta = _random.Next(-1, 2);
            // A key with no version held gets one beyond every version so far (a FLUSHALL is a floor too).
            var recordVersion = held ? Math.Max(1, version + delta) : HybridClock.VersionAt(Now + 1_000_000 + 1000L * ++_futureApplies);
            var tombstone = _random.Next(3) == 0;
            var value = RandomBytes(_random.Next(0, 16));
            var expiresAt = RandomExpiry(allowNone: true);
            var record = tombstone
                ? StoreRecord.Tombstone(Bytes(key), recordVersion)
                : new StoreRecord(Bytes(key), recordVersion, ValueKind.String, value, value.Length, expiresAt);
            _last = $"APPLY {Show(key)} v={(held ? $"held{delta:+0;-0;+0}" : "new")} {(tombstone ? "tombstone" : $"len={value.Length} exp={Relative(expiresAt)}")}";

            var applied = _store.Apply(record);

            var expected = !held || recordVersion > version;
            Assert.True(expected == applied, $"{_last}: Apply returned {applied}");
            if (!applied)
                return;
            if (tombstone)
                _model.Remove(key);
            else
                _model[key] = new Entry(value, expiresAt);
        }

        private void Set(string key)
        {
            var value = RandomBytes(_random.Next(0, 24));
            var spare = _random.Next(3) == 0 ? _random.Next(1, 8) : 0;
            var array = new byte[value.Length + spare];
            value.CopyTo(array, 0);
            _random.NextBytes(array.AsSpan(value.Length));
            var expiresAt = RandomExpiry(allowNone: true);
            _last = $"SET {Show(key)} len={value.Length} exp={Relative(expiresAt)}";

            _store.SetString(Bytes(key), array, value.Length, expiresAt);
            _model[key] = new Entry(value, expiresAt);
        }

        private void Append(string key)
        {
            var tail = RandomBytes(_random.Next(0, 40));
            _last = $"APPEND {Show(key)} len={tail.Length}";
            var length = _store.Append(Bytes(key), tail);

            if (TouchLive(key, out var entry))
                _model[key] = entry with { Value = [.. entry.Value, .. tail] };
            else
                _model[key] = new Entry(tail, 0);
            Assert.Equal(_model[key].Value.Length, length);
        }

        private void Remove(string key)
        {
            _last = $"REMOVE {Show(key)}";
            var removed = _store.Remove(Bytes(key));
            var expected = TouchLive(key, out _);
            if (expected)
                _model.Remove(key);
            Assert.Equal(expected, removed);
        }

        private void SetExpiry(string key)
        {
            var expiresAt = _random.Next(4) == 0 ? 0 : RandomExpiry(allowNone: false);
            _last = $"SETEXPIRY {Show(key)} exp={Relative(expiresAt)}";
            var changed = _store.SetExpiry(Bytes(key), expiresAt);
            var expected = TouchLive(key, out var entry);
            if (expected)
                _model[key] = entry with { ExpiresAt = expiresAt };
            Assert.Equal(expected, changed);
        }

        private void Advance()
        {
            var ms = _random.Next(4) switch
            {
                0 => 0,
                1 => 1,
                2 => _random.Next(2, 100),
                _ => _random.Next(100, 3000),
            };
            _last = $"ADVANCE {ms}";
            _time.Advance(ms);
        }

        private void Get(string key)
        {
            _last = $"GET {Show(key)}";
            CheckGet(key);
        }

        private void ExpireCycle()
        {
            _last = "EXPIRECYCLE";
            var expired = _model.Count(p => IsExpired(p.Value));
            var reclaimed = _store.ExpireCycle(TimeSpan.FromMinutes(1));
            Assert.InRange(reclaimed, 0, expired);

            // Which expired keys the sample found is up to chance: touching every key reclaims the rest.
            Sweep();
        }

        private void RandomKey()
        {
            _last = "RANDOMKEY";
            var key = _store.RandomKey();
            var live = _model.Where(p => !IsExpired(p.Value)).Select(p => p.Key).ToHashSet();
            if (live.Count == 0)
                Assert.Null(key);
            else
                Assert.Contains(Name(key!), live);
            Sweep();
        }

        private void Clear()
        {
            _last = "CLEAR";
            _store.Clear();
            _model.Clear();
        }

        private void BulkLoad()
        {
            // Many keys at once, half of them short-lived: shard tables grow now and shrink as they go.
            _last = "BULKLOAD";
            foreach (var key in _keys)
            {
                if (_random.Next(2) == 0)
                    continue;
                var value = RandomBytes(_random.Next(0, 8));
                var expiresAt = _random.Next(2) == 0 ? 0 : Now + _random.Next(1, 2000);
                _store.SetString(Bytes(key), value.ToArray(), value.Length, expiresAt);
                _model[key] = new Entry(value, expiresAt);
            }
        }

        // Reads every key the model knows: compares values and reclaims every expired key.
        private void Sweep()
        {
            foreach (var key in _model.Keys.ToList())
                CheckGet(key);
        }

        private void CheckGet(string key)
        {
            var found = _store.TryGet(Bytes(key), out var value, touch: _random.Next(2) == 0);
            var expected = TouchLive(key, out var entry);
            Assert.True(expected == found, $"{_last}: TryGet({Show(key)}) returned {found}, model says {expected}");
            if (!found)
                return;
            Assert.Equal(ValueKind.String, value.Kind);
            Assert.Equal(entry.Value, value.Bytes.ToArray());
            Assert.Equal(entry.ExpiresAt, value.ExpiresAt);
            _snapshots.Add((value, entry.Value));
            if (_snapshots.Count > 64)
                _snapshots.RemoveAt(_random.Next(_snapshots.Count));
        }

        // The model's side of an access to one key: an expired key is reclaimed, as the store does on access.
        private bool TouchLive(string key, out Entry entry)
        {
            if (!_model.TryGetValue(key, out entry!))
                return false;
            if (!IsExpired(entry))
                return true;
            _model.Remove(key);
            _expiredTotal++;
            return false;
        }

        private static void CheckSlots(ISlotIndex index, string context)
        {
            var entries = new List<SlotEntry>();
            for (var slot = 0; slot < KeySlots.Count; slot++)
            {
                var digest = index.GetSlotDigest(slot);
                entries.Clear();
                ulong cursor = 0;
                do
                {
                    cursor = index.ScanSlot(slot, cursor, 64, entries);
                }
                while (cursor != 0);

                ulong sum = 0;
                foreach (var entry in entries)
                    sum += StableHash.KeyVersion(entry.Key, entry.Version);
                var live = entries.Count(e => !e.Tombstone);
                Assert.True(digest.Digest == sum && digest.Count == live,
                    $"{context}: slot {slot} digest {digest.Digest:x16}/{digest.Count}, listing {sum:x16}/{live} ({entries.Count} entries)");
            }
        }

        private void Check(int step)
        {
            var context = $"step {step}, after {_last}";
            Assert.True(_model.Count == _store.Count, $"{context}: Count {_store.Count}, model {_model.Count}");
            var expiring = _model.Values.Count(e => e.ExpiresAt != 0);
            Assert.True(expiring == _store.ExpiringCount, $"{context}: ExpiringCount {_store.ExpiringCount}, model {expiring}");
            Assert.True(_expiredTotal == _store.ExpiredTotal, $"{context}: ExpiredTotal {_store.ExpiredTotal}, model {_expiredTotal}");
            Assert.True((_model.Count == 0) == (_store.UsedBytes == 0), $"{context}: UsedBytes {_store.UsedBytes} with {_model.Count} keys");

            // A full walk returns what the store holds, expired keys not yet reclaimed included.
            var walked = new HashSet<string>();
            var keys = new List<byte[]>();
            ulong cursor = 0;
            do
            {
                keys.Clear();
                cursor = _store.Scan(cursor, _random.Next(1, 50), keys);
                foreach (var key in keys)
                    Assert.True(walked.Add(Name(key)), $"{context}: SCAN returned {Show(Name(key))} twice");
            }
            while (cursor != 0);
            Assert.True(walked.SetEquals(_model.Keys), $"{context}: SCAN walk differs from the model");

            // Per-slot bookkeeping: each slot's digest is the sum over its listing (tombstones included), and
            // its count the live keys among them.
            if (_store is ISlotIndex index && step % 13 == 0)
                CheckSlots(index, context);

            // Values handed out earlier never change, whatever happened to their keys since.
            foreach (var (value, bytes) in _snapshots)
                Assert.Equal(bytes, value.Bytes.ToArray());

            // Spot-check a few keys now and then (every check reclaims, so not every key every step).
            if (step % 7 == 0)
            {
                for (var i = 0; i < 5; i++)
                    CheckGet(_keys[_random.Next(_keys.Length)]);
                Assert.Equal(_model.Count, _store.Count);
            }
        }

        private bool IsExpired(Entry entry) => entry.ExpiresAt != 0 && entry.ExpiresAt < Now;

        private long RandomExpiry(bool allowNone) => _random.Next(5) switch
        {
            0 when allowNone => 0,
            1 => Now + _random.Next(-50, 1),   // in the past or exactly now
            2 => Now + _random.Next(1, 5),
            _ => Now + _random.Next(5, 5000),
        };

        private string Relative(long expiresAt) => expiresAt == 0 ? "none" : $"now{expiresAt - Now:+0;-0;+0}";

        private byte[] RandomBytes(int length)
        {
            var bytes = new byte[length];
            _random.NextBytes(bytes);
            return bytes;
        }

        private static byte[] Bytes(string key) => Encoding.Latin1.GetBytes(key);

        private static string Name(byte[] key) => Encoding.Latin1.GetString(key);

        private static string Show(string key) => key.Length == 0 ? "''" : key.Replace("\0", "\\0").Replace("\r", "\\r").Replace("\n", "\\n");
    }

    private sealed record Entry(byte[] Value, long ExpiresAt);
}
