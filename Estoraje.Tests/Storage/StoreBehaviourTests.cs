using System.Text;
using Estoraje.Storage;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Storage;

/// <summary>
/// What every <see cref="IKeyValueStore"/> must do, run against each store by a subclass
/// (<see cref="MemoryStoreTests"/>, <see cref="Log.LogStoreBehaviourTests"/>).
/// </summary>
public abstract class StoreBehaviourTests : IDisposable
{
    private static readonly TimeSpan s_deadlockTimeout = TimeSpan.FromSeconds(30);

    private readonly ManualTime _time = new();
    private IKeyValueStore? _store;

    private IKeyValueStore Store => _store ??= CreateStore(_time);

    public void Dispose()
    {
        _store?.Dispose();
        Cleanup();
        GC.SuppressFinalize(this);
    }

    /// <summary>A new, empty store on <paramref name="time"/>.</summary>
    protected abstract IKeyValueStore CreateStore(TimeProvider time);

    /// <summary>Removes whatever <see cref="CreateStore"/> left behind (files).</summary>
    protected virtual void Cleanup()
    {
    }

    [Fact]
    public void Set_then_get_returns_the_value()
    {
        Set("k", "v");

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal(ValueKind.String, value.Kind);
        Assert.Equal("v", Text(value));
        Assert.Equal(0, value.ExpiresAt);
        Assert.True(Store.Exists("k"u8));
    }

    [Fact]
    public void Get_of_a_missing_key_returns_false()
    {
        Assert.False(Store.TryGet("missing"u8, out var value));
        Assert.Equal(ValueKind.None, value.Kind);
        Assert.False(Store.Exists("missing"u8));
    }

    [Fact]
    public void Set_keeps_only_the_given_length_of_the_array()
    {
        Store.SetString("k"u8, "abcdef"u8.ToArray(), 3, 0);

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("abc", Text(value));
        Assert.Equal(3, value.Length);
    }

    [Fact]
    public void Keys_are_binary_safe()
    {
        Store.SetString([], "empty"u8.ToArray(), 5, 0);
        Store.SetString("a\0b"u8, "1"u8.ToArray(), 1, 0);
        Store.SetString("a\0c"u8, "2"u8.ToArray(), 1, 0);

        Assert.Equal(3, Store.Count);
        Assert.True(Store.TryGet([], out var empty));
        Assert.Equal("empty", Text(empty));
        Assert.True(Store.TryGet("a\0b"u8, out var first));
        Assert.Equal("1", Text(first));
        Assert.True(Store.TryGet("a\0c"u8, out var second));
        Assert.Equal("2", Text(second));
        Assert.False(Store.Exists("a"u8));
    }

    [Fact]
    public void Key_bytes_are_copied_when_stored()
    {
        var key = "key"u8.ToArray();
        Store.SetString(key, "v"u8.ToArray(), 1, 0);
        key[0] = (byte)'x';

        Assert.True(Store.Exists("key"u8));
        Assert.False(Store.Exists("xey"u8));
    }

    [Fact]
    public void Set_over_an_existing_key_replaces_its_value_and_expiry()
    {
        Set("k", "old", expiresAt: _time.NowMs + 10_000);
        Set("k", "new");

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("new", Text(value));
        Assert.Equal(0, value.ExpiresAt);
        Assert.Equal(1, Store.Count);
        Assert.Equal(0, Store.ExpiringCount);
    }

    [Fact]
    public void Remove_deletes_an_existing_key_once()
    {
        Set("a", "1");
        Set("b", "2");

        Assert.True(Store.Remove("a"u8));
        Assert.False(Store.Remove("a"u8));
        Assert.False(Store.Exists("a"u8));
        Assert.True(Store.Exists("b"u8));
        Assert.Equal(1, Store.Count);
    }

    [Fact]
    public void Remove_of_a_missing_key_returns_false()
    {
        Assert.False(Store.Remove("nope"u8));
    }

    [Fact]
    public void Append_to_a_missing_key_creates_it()
    {
        Assert.Equal(5, Store.Append("k"u8, "hello"u8));

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("hello", Text(value));
        Assert.Equal(0, value.ExpiresAt);
    }

    [Fact]
    public void Append_returns_the_new_length()
    {
        Set("k", "hello");

        Assert.Equal(11, Store.Append("k"u8, " world"u8));
        Assert.Equal(11, Store.Append("k"u8, ""u8));

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("hello world", Text(value));
    }

    [Fact]
    public void Append_keeps_the_expiry()
    {
        var expiresAt = _time.NowMs + 5000;
        Set("k", "a", expiresAt);

        Store.Append("k"u8, "b"u8);

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("ab", Text(value));
        Assert.Equal(expiresAt, value.ExpiresAt);
        Assert.Equal(1, Store.ExpiringCount);
    }

    [Fact]
    public void Append_to_an_expired_key_starts_a_new_value_without_expiry()
    {
        Set("k", "old", _time.NowMs + 100);
        _time.Advance(101);

        Assert.Equal(3, Store.Append("k"u8, "new"u8));

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("new", Text(value));
        Assert.Equal(0, value.ExpiresAt);
        Assert.Equal(0, Store.ExpiringCount);
    }

    [Fact]
    public void Append_growth_keeps_earlier_snapshots_valid()
    {
        Set("k", "start");
        var snapshots = new List<(StoredValue Value, string Text)>();
        var expected = "start";
        for (var i = 0; i < 200; i++)
        {
            Assert.True(Store.TryGet("k"u8, out var snapshot));
            snapshots.Add((snapshot, expected));
            var tail = $"-{i}";
            Store.Append("k"u8, Encoding.ASCII.GetBytes(tail));
            expected += tail;
        }

        foreach (var (value, text) in snapshots)
            Assert.Equal(text, Text(value));
        Assert.True(Store.TryGet("k"u8, out var last));
        Assert.Equal(expected, Text(last));
    }

    [Fact]
    public void Snapshot_survives_the_key_being_replaced_or_removed()
    {
        Set("k", "first");
        Assert.True(Store.TryGet("k"u8, out var snapshot));

        Set("k", "second");
        Store.Append("k"u8, "!!!"u8);
        Store.Remove("k"u8);
        Store.Append("k"u8, "third"u8);

        Assert.Equal("first", Text(snapshot));
    }

    [Fact]
    public void Key_is_readable_until_its_expiry_millisecond_and_gone_after_it()
    {
        var expiresAt = _time.NowMs + 1000;
        Set("k", "v", expiresAt);

        _time.Advance(1000); // now == expiresAt: Redis's keyIsExpired is "now > when"
        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal(expiresAt, value.ExpiresAt);

        _time.Advance(1);
        Assert.False(Store.TryGet("k"u8, out _));
        Assert.False(Store.Exists("k"u8));
    }

    [Fact]
    public void Expired_key_stays_counted_until_it_is_reclaimed_on_access()
    {
        Set("k", "v", _time.NowMs + 10);
        Set("other", "v");
        _time.Advance(11);

        Assert.Equal(2, Store.Count); // DBSIZE counts expired keys not yet reclaimed
        Assert.Equal(0, Store.ExpiredTotal);

        Assert.False(Store.TryGet("k"u8, out _, touch: false));

        Assert.Equal(1, Store.Count);
        Assert.Equal(0, Store.ExpiringCount);
        Assert.Equal(1, Store.ExpiredTotal);
    }

    [Fact]
    public void Remove_of_an_expired_key_returns_false_and_reclaims_it()
    {
        Set("k", "v", _time.NowMs + 10);
        _time.Advance(11);

        Assert.False(Store.Remove("k"u8));
        Assert.Equal(0, Store.Count);
        Assert.Equal(1, Store.ExpiredTotal);
    }

    [Fact]
    public void SetExpiry_sets_the_expiry_of_an_existing_key()
    {
        Set("k", "v");
        var expiresAt = _time.NowMs + 500;

        Assert.True(Store.SetExpiry("k"u8, expiresAt));

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal(expiresAt, value.ExpiresAt);
        Assert.Equal(1, Store.ExpiringCount);
        _time.Advance(501);
        Assert.False(Store.Exists("k"u8));
    }

    [Fact]
    public void SetExpiry_zero_makes_the_key_persistent()
    {
        Set("k", "v", _time.NowMs + 100);

        Assert.True(Store.SetExpiry("k"u8, 0));
        _time.Advance(1_000_000);

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal(0, value.ExpiresAt);
        Assert.Equal(0, Store.ExpiringCount);
    }

    [Fact]
    public void SetExpiry_of_a_missing_or_expired_key_returns_false()
    {
        Assert.False(Store.SetExpiry("missing"u8, _time.NowMs + 100));

        Set("k", "v", _time.NowMs + 10);
        _time.Advance(11);
        Assert.False(Store.SetExpiry("k"u8, 0));
        Assert.False(Store.Exists("k"u8));
    }

    [Fact]
    public void SetExpiry_in_the_past_hides_the_key_at_the_next_access()
    {
        Set("k", "v");

        Assert.True(Store.SetExpiry("k"u8, _time.NowMs - 1));

        Assert.False(Store.Exists("k"u8));
        Assert.Equal(0, Store.Count);
    }

    [Fact]
    public void ExpireCycle_reclaims_expired_keys_nobody_reads()
    {
        for (var i = 0; i < 1000; i++)
        {
            Set($"volatile:{i}", "v", _time.NowMs + 100);
            Set($"persistent:{i}", "v");
        }

        _time.Advance(101);

        Assert.Equal(1000, Store.ExpireCycle(TimeSpan.FromMinutes(1)));
        Assert.Equal(1000, Store.Count);
        Assert.Equal(0, Store.ExpiringCount);
        Assert.Equal(1000, Store.ExpiredTotal);
        Assert.True(Store.Exists("persistent:0"u8));
    }

    [Fact]
    public void ExpireCycle_never_reclaims_keys_that_have_not_expired()
    {
        for (var i = 0; i < 1000; i++)
        {
            Set($"soon:{i}", "v", _time.NowMs + 100);
            Set($"later:{i}", "v", _time.NowMs + 100_000);
        }

        _time.Advance(100); // "soon" keys are at their expiry millisecond: not expired yet
        Assert.Equal(0, Store.ExpireCycle(TimeSpan.FromMinutes(1)));
        Assert.Equal(2000, Store.Count);

        _time.Advance(1);
        var reclaimed = Store.ExpireCycle(TimeSpan.FromMinutes(1));

        Assert.InRange(reclaimed, 1, 1000);
        Assert.Equal(2000 - reclaimed, Store.Count);
        for (var i = 0; i < 1000; i++)
            Assert.True(Store.Exists(Encoding.ASCII.GetBytes($"later:{i}")));
    }

    [Fact]
    public void ExpireCycle_on_a_store_without_expiring_keys_reclaims_nothing()
    {
        Set("k", "v");
        Assert.Equal(0, Store.ExpireCycle(TimeSpan.FromMinutes(1)));
        Assert.Equal(1, Store.Count);
    }

    [Fact]
    public void Clear_removes_every_key()
    {
        for (var i = 0; i < 500; i++)
            Set($"k{i}", "value", i % 2 == 0 ? 0 : _time.NowMs + 1000);

        Store.Clear();

        Assert.Equal(0, Store.Count);
        Assert.Equal(0, Store.ExpiringCount);
        Assert.Equal(0, Store.UsedBytes);
        Assert.False(Store.Exists("k0"u8));
        Assert.Null(Store.RandomKey());
        Set("k0", "again");
        Assert.True(Store.Exists("k0"u8));
    }

    [Fact]
    public void UsedBytes_grows_with_data_and_returns_to_zero_when_every_key_is_gone()
    {
        Assert.Equal(0, Store.UsedBytes);
        for (var i = 0; i < 300; i++)
            Set($"key:{i}", new string('x', i));
        var full = Store.UsedBytes;
        Assert.True(full > 300 * 150 / 2);

        for (var i = 0; i < 300; i++)
        {
            Store.Append(Encoding.ASCII.GetBytes($"key:{i}"), new byte[i * 3]);
            Set($"key:{i % 7}", "short");
        }

        for (var i = 0; i < 300; i += 2)
            Store.Remove(Encoding.ASCII.GetBytes($"key:{i}"));
        for (var i = 1; i < 300; i += 2)
            Store.SetExpiry(Encoding.ASCII.GetBytes($"key:{i}"), _time.NowMs + 1);
        _time.Advance(2);
        Store.ExpireCycle(TimeSpan.FromMinutes(1));

        Assert.Equal(0, Store.Count);
        Assert.Equal(0, Store.UsedBytes);
    }

    [Fact]
    public void RandomKey_of_an_empty_store_is_null()
    {
        Assert.Null(Store.RandomKey());
    }

    [Fact]
    public void RandomKey_returns_existing_keys()
    {
        var keys = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            keys.Add($"k{i}");
            Set($"k{i}", "v");
        }

        var seen = new HashSet<string>();
        for (var i = 0; i < 2000; i++)
        {
            var key = Store.RandomKey();
            Assert.NotNull(key);
            seen.Add(Encoding.ASCII.GetString(key));
        }

        Assert.Subset(keys, seen);
        Assert.True(seen.Count > 25, $"only {seen.Count} distinct keys in 2000 draws");
    }

    [Fact]
    public void RandomKey_of_a_store_holding_only_expired_keys_is_null()
    {
        for (var i = 0; i < 300; i++)
            Set($"k{i}", "v", _time.NowMs + 10);
        _time.Advance(11);

        Assert.Null(Store.RandomKey());
    }

    [Fact]
    public void RandomKey_finds_the_live_key_among_many_expired_ones()
    {
        // Redis keeps drawing (and reclaiming) until it finds a live key or the keyspace is empty.
        for (var i = 0; i < 10_000; i++)
            Set($"expired:{i}", "v", _time.NowMs + 10);
        Set("alive", "v");
        _time.Advance(11);

        var key = Store.RandomKey();

        Assert.NotNull(key);
        Assert.Equal("alive", Encoding.ASCII.GetString(key));
    }

    [Fact]
    public void ShardMask_is_one_bit_and_stable_for_a_key()
    {
        var mask = Store.ShardMask("some key"u8);
        Assert.Equal(1, System.Numerics.BitOperations.PopCount(mask));
        Assert.Equal(mask, Store.ShardMask("some key"u8));
    }

    [Fact]
    public async Task Store_operations_reenter_the_lock_of_a_held_shard()
    {
        var (a, b) = KeysOnTwoShards();
        var done = Task.Run(() =>
        {
            using (Store.Lock(Store.ShardMask(a) | Store.ShardMask(b)))
            {
                Store.SetString(a, "1"u8.ToArray(), 1, 0);
                Store.Append(b, "2"u8);
                Assert.True(Store.TryGet(a, out _));
                Assert.True(Store.Remove(b));
                using (Store.Lock(a))
                    Assert.True(Store.SetExpiry(a, _time.NowMs + 1000));
            }
        });

        await done.WaitAsync(s_deadlockTimeout);
        Assert.True(Store.Exists(a));
        Assert.False(Store.Exists(b));
    }

    [Fact]
    public async Task Lock_of_every_shard_lets_its_holder_use_any_key()
    {
        var done = Task.Run(() =>
        {
            using (Store.Lock(ulong.MaxValue))
            {
                for (var i = 0; i < 200; i++)
                    Set($"k{i}", "v");
                Store.Clear();
                Set("last", "v");
            }
        });

        await done.WaitAsync(s_deadlockTimeout);
        Assert.Equal(1, Store.Count);
    }

    [Fact]
    public async Task KeyLock_keeps_other_threads_out_of_its_shards_until_disposed()
    {
        var (a, b) = KeysOnTwoShards();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var holderInside = 0;
        var holder = Task.Run(() =>
        {
            using (Store.Lock(Store.ShardMask(a) | Store.ShardMask(b)))
            {
                Volatile.Write(ref holderInside, 1);
                held.SetResult();
                release.Wait();
                Volatile.Write(ref holderInside, 0);
            }
        });
        await held.Task.WaitAsync(s_deadlockTimeout);

        // The writer reports whether the holder was still inside when its write went through.
        var writer = Task.Run(() =>
        {
            Store.SetString(b, "w"u8.ToArray(), 1, 0);
            return Volatile.Read(ref holderInside);
        });

        // Give a lock that fails to exclude the writer time to show it; the verdict does not depend on this wait.
        await Task.WhenAny(writer, Task.Delay(200));
        release.Set();
        await holder.WaitAsync(s_deadlockTimeout);

        Assert.Equal(0, await writer.WaitAsync(s_deadlockTimeout));
        Assert.True(Store.Exists(b));
    }

    [Fact]
    public void Full_scan_of_an_unchanging_store_returns_every_key_exactly_once()
    {
        var expected = new HashSet<string>();
        for (var i = 0; i < 5000; i++)
        {
            expected.Add($"key:{i}");
            Set($"key:{i}", "v");
        }

        foreach (var count in new[] { 1, 10, 1000 })
        {
            var seen = ScanAll(count);
            Assert.Equal(expected.Count, seen.Count);
            Assert.Equal(expected, seen.ToHashSet());
        }
    }

    [Fact]
    public void Scan_of_an_empty_store_ends_at_once()
    {
        var keys = new List<byte[]>();
        Assert.Equal(0UL, Store.Scan(0, 10, keys));
        Assert.Empty(keys);
    }

    [Fact]
    public void Scan_interrupted_by_Clear_ends_without_returning_cleared_keys()
    {
        for (var i = 0; i < 2000; i++)
            Set($"k{i}", "v");
        var keys = new List<byte[]>();
        var cursor = Store.Scan(0, 10, keys);
        Assert.NotEqual(0UL, cursor);

        Store.Clear();
        keys.Clear();
        var steps = 0;
        while (cursor != 0)
        {
            cursor = Store.Scan(cursor, 10, keys);
            Assert.True(++steps < 10_000, "the walk did not end");
        }

        Assert.Empty(keys);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Scan_returns_every_key_present_for_the_whole_walk_while_keys_come_and_go(int seed)
    {
        var random = new Random(seed);
        var stable = new HashSet<string>();
        for (var i = 0; i < 1000; i++)
        {
            stable.Add($"stable:{i}");
            Set($"stable:{i}", "v");
        }

        // Churn swings between 0 and 20 000 extra keys so that shard tables double and halve during the walk.
        var churn = new List<string>();
        var next = 0;
        var growing = true;
        var seen = new HashSet<string>();
        var keys = new List<byte[]>();
        ulong cursor = 0;
        var steps = 0;
        do
        {
            keys.Clear();
            cursor = Store.Scan(cursor, random.Next(1, 20), keys);
            foreach (var key in keys)
                seen.Add(Encoding.ASCII.GetString(key));

            var batch = random.Next(100, 800);
            for (var i = 0; i < batch; i++)
            {
                if (growing)
                {
                    var key = $"churn:{next++}";
                    churn.Add(key);
                    Set(key, "v");
                }
                else if (churn.Count > 0)
                {
                    var index = random.Next(churn.Count);
                    Store.Remove(Encoding.ASCII.GetBytes(churn[index]));
                    churn[index] = churn[^1];
                    churn.RemoveAt(churn.Count - 1);
                }
            }

            if (growing && churn.Count > 20_000)
                growing = false;
            else if (!growing && churn.Count == 0)
                growing = true;
            Assert.True(++steps < 1_000_000, "the walk did not end");
        }
        while (cursor != 0);

        stable.ExceptWith(seen);
        Assert.Empty(stable);
    }

    [Fact]
    public void Every_write_gets_a_higher_version_than_the_last()
    {
        Set("k", "a");
        Assert.True(Store.TryGetVersion("k"u8, out var v1));
        Store.Append("k"u8, "b"u8);
        Assert.True(Store.TryGetVersion("k"u8, out var v2));
        Store.SetExpiry("k"u8, _time.NowMs + 1000);
        Assert.True(Store.TryGetVersion("k"u8, out var v3));
        Set("other", "x");
        Set("k", "c");
        Assert.True(Store.TryGet("k"u8, out var value));

        Assert.True(v1 > 0);
        Assert.True(v2 > v1);
        Assert.True(v3 > v2);
        Assert.True(value.Version > v3);
        Assert.False(Store.TryGetVersion("missing"u8, out _));
    }

    [Fact]
    public void Versions_increase_within_one_millisecond_and_when_the_clock_stands_still()
    {
        long last = 0;
        for (var i = 0; i < 1000; i++)
        {
            Set("k", "v");
            Assert.True(Store.TryGetVersion("k"u8, out var version));
            Assert.True(version > last);
            last = version;
        }
    }

    [Fact]
    public void Apply_of_a_newer_record_replaces_the_value_and_keeps_the_given_version()
    {
        Set("k", "local");
        Assert.True(Store.TryGetVersion("k"u8, out var local));
        var version = local + 10;

        Assert.True(Store.Apply(new StoreRecord("k"u8.ToArray(), version, ValueKind.String, "remote"u8.ToArray(), 6, 0)));

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("remote", Text(value));
        Assert.Equal(version, value.Version);
    }

    [Fact]
    public void Apply_of_an_older_or_equal_record_changes_nothing()
    {
        Set("k", "local");
        Assert.True(Store.TryGetVersion("k"u8, out var local));

        Assert.False(Store.Apply(new StoreRecord("k"u8.ToArray(), local, ValueKind.String, "same"u8.ToArray(), 4, 0)));
        Assert.False(Store.Apply(new StoreRecord("k"u8.ToArray(), local - 1, ValueKind.String, "older"u8.ToArray(), 5, 0)));
        Assert.False(Store.Apply(StoreRecord.Tombstone("k"u8.ToArray(), local - 1)));

        Assert.True(Store.TryGet("k"u8, out var value));
        Assert.Equal("local", Text(value));
        Assert.Equal(local, value.Version);
    }

    [Fact]
    public void Apply_of_a_newer_tombstone_deletes_the_key()
    {
        Set("k", "v");
        Assert.True(Store.TryGetVersion("k"u8, out var local));

        Assert.True(Store.Apply(StoreRecord.Tombstone("k"u8.ToArray(), local + 1)));

        Assert.False(Store.Exists("k"u8));
        Assert.Equal(0, Store.Count);
    }

    [Fact]
    public void Local_write_after_applying_a_future_version_gets_a_higher_one()
    {
        var future = HybridClock.VersionAt(_time.NowMs + 60_000);
        Assert.True(Store.Apply(new StoreRecord("a"u8.ToArray(), future, ValueKind.String, "x"u8.ToArray(), 1, 0)));

        Set("b", "y");

        Assert.True(Store.TryGetVersion("b"u8, out var version));
        Assert.True(version > future);
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("expiry")]
    [InlineData("flush")]
    public void A_key_written_and_removed_after_a_clock_reading_is_told_apart_from_one_left_absent(string removal)
    {
        Set("other", "x");
        Assert.False(Store.TryGetVersion("k"u8, out _));
        var reading = Store.Clock.Last;

        Set("k", "v", removal == "expiry" ? _time.NowMs + 10 : 0);
        switch (removal)
        {
            case "delete":
                Assert.True(Store.Remove("k"u8));
                break;
            case "expiry":
                _time.Advance(11);
                Assert.False(Store.Exists("k"u8));
                break;
            default:
                Store.Clear();
                break;
        }

        // WATCH of an absent key: either a tombstone newer than the reading, or a removal newer than it.
        Assert.True(Store.TryGetVersion("k"u8, out var version) ? version > reading : Store.RemovedVersion("k"u8) > reading);
    }

    [Fact]
    public void Removing_keys_written_before_a_clock_reading_leaves_an_absent_key_unchanged_since()
    {
        Set("old", "v");
        var reading = Store.Clock.Last;

        Assert.True(Store.Remove("old"u8));

        Assert.False(Store.TryGetVersion("never"u8, out _) || Store.RemovedVersion("never"u8) > reading);
    }

    private void Set(string key, string value, long expiresAt = 0)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        Store.SetString(Encoding.ASCII.GetBytes(key), bytes, bytes.Length, expiresAt);
    }

    private static string Text(StoredValue value) => Encoding.ASCII.GetString(value.Bytes);

    private List<string> ScanAll(int count)
    {
        var all = new List<string>();
        var keys = new List<byte[]>();
        ulong cursor = 0;
        do
        {
            keys.Clear();
            cursor = Store.Scan(cursor, count, keys);
            all.AddRange(keys.Select(k => Encoding.ASCII.GetString(k)));
        }
        while (cursor != 0);
        return all;
    }

    private (byte[] A, byte[] B) KeysOnTwoShards()
    {
        var a = "key:0"u8.ToArray();
        for (var i = 1; ; i++)
        {
            var b = Encoding.ASCII.GetBytes($"key:{i}");
            if (Store.ShardMask(b) != Store.ShardMask(a))
                return (a, b);
        }
    }
}
