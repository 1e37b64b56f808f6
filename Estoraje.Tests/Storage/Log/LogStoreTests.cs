using System.Runtime.CompilerServices;
using System.Text;
using Estoraje.Ring;
using Estoraje.Storage;
using Estoraje.Storage.Log;
using Estoraje.Tests.Support;

namespace Estoraje.Tests.Storage.Log;

public sealed class LogStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ManualTime _time = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Storage_key_slot_equals_the_ring_key_slot()
    {
        var random = new Random(7);
        var keys = new List<byte[]> { Array.Empty<byte>(), "{}"u8.ToArray(), "{user1000}.following"u8.ToArray(), "foo{}{bar}"u8.ToArray(), "{{a}}"u8.ToArray() };
        for (var i = 0; i < 5000; i++)
        {
            var key = new byte[random.Next(0, 40)];
            random.NextBytes(key);
            if (i % 3 == 0 && key.Length > 4)
            {
                key[random.Next(key.Length)] = (byte)'{';
                key[random.Next(key.Length)] = (byte)'}';
            }

            keys.Add(key);
        }

        foreach (var key in keys)
            Assert.Equal(KeySlot.Of(key), KeySlots.Of(key));
    }

    [Fact]
    public void Key_overhead_is_the_directory_entry_its_bucket_and_the_key_length_prefix()
    {
        Assert.Equal(54, Unsafe.SizeOf<KeyDirectory.Entry>());
        Assert.Equal(54 + 4 + 1, LogStore.OverheadPerKey);
    }

    [Fact]
    public void Values_expiries_and_versions_survive_a_restart()
    {
        var expiresAt = _time.NowMs + 60_000;
        long version;
        using (var store = Open())
        {
            Set(store, "plain", "v1");
            Set(store, "expiring", "v2", expiresAt);
            Set(store, "deleted", "v3");
            store.Remove("deleted"u8);
            store.Append("appended"u8, "a"u8);
            store.Append("appended"u8, "b"u8);
            Assert.True(store.TryGetVersion("plain"u8, out version));
        }

        using (var store = Open())
        {
            Assert.Equal(3, store.Count);
            Assert.Equal("v1", Get(store, "plain"));
            Assert.Equal("v2", Get(store, "expiring"));
            Assert.True(store.TryGet("expiring"u8, out var e));
            Assert.Equal(expiresAt, e.ExpiresAt);
            Assert.Equal("ab", Get(store, "appended"));
            Assert.Null(Get(store, "deleted"));
            Assert.True(store.TryGetVersion("plain"u8, out var reopened));
            Assert.Equal(version, reopened);
            Assert.Equal(1, store.TombstoneCount);
        }
    }

    [Fact]
    public void A_key_that_expired_while_the_store_was_closed_is_gone_but_keeps_its_version()
    {
        using (var store = Open())
            Set(store, "k", "v", _time.NowMs + 100);
        _time.Advance(101);

        using var reopened = Open();
        Assert.Equal(0, reopened.Count);
        Assert.False(reopened.Exists("k"u8));
        Assert.True(reopened.TryGetVersion("k"u8, out var version));
        Assert.False(reopened.Apply(new StoreRecord("k"u8.ToArray(), version - 1, ValueKind.String, "old"u8.ToArray(), 3, 0)));
    }

    [Fact]
    public void Tombstone_keeps_an_older_replicated_record_out_across_a_restart()
    {
        long version;
        using (var store = Open())
        {
            Set(store, "k", "v");
            Assert.True(store.TryGetVersion("k"u8, out version));
            store.Remove("k"u8);
        }

        using var reopened = Open();
        Assert.False(reopened.Apply(new StoreRecord("k"u8.ToArray(), version, ValueKind.String, "stale"u8.ToArray(), 5, 0)));
        Assert.False(reopened.Exists("k"u8));
        Assert.True(reopened.Apply(new StoreRecord("k"u8.ToArray(), reopened.Clock.Next(), ValueKind.String, "new"u8.ToArray(), 3, 0)));
        Assert.Equal("new", Get(reopened, "k"));
    }

    [Fact]
    public void Active_segment_rolls_at_the_size_limit_and_every_segment_is_read_back()
    {
        using (var store = Open(segmentSize: 4096))
        {
            for (var i = 0; i < 500; i++)
                Set(store, $"key:{i}", new string((char)('a' + i % 26), 50));
            Assert.True(store.SegmentCount > 5, $"{store.SegmentCount} segments");
        }

        foreach (var file in Directory.GetFiles(_dir.Path, "*.seg"))
            Assert.True(new FileInfo(file).Length <= 4096 + 200);

        using var reopened = Open(segmentSize: 4096);
        Assert.Equal(500, reopened.Count);
        for (var i = 0; i < 500; i++)
            Assert.Equal(new string((char)('a' + i % 26), 50), Get(reopened, $"key:{i}"));
    }

    [Fact]
    public void Torn_last_record_is_truncated_never_applied_and_reported()
    {
        using (var store = Open())
        {
            for (var i = 0; i < 10; i++)
                Set(store, $"k{i}", $"value-{i}");
        }

        var last = LastSegment();
        var length = new FileInfo(last).Length;
        using (var f = new FileStream(last, FileMode.Open))
            f.SetLength(length - 3);

        using (var store = Open())
        {
            Assert.Equal(9, store.Count);
            for (var i = 0; i < 9; i++)
                Assert.Equal($"value-{i}", Get(store, $"k{i}"));
            Assert.Null(Get(store, "k9"));
            var damage = Assert.Single(store.Recovery!.Damaged);
            Assert.True(damage.Truncated);
            Assert.Equal(length - RecordFormat.RecordSize(2, 7), damage.Offset);
            Assert.Equal(damage.Offset, new FileInfo(last).Length);

            // Writes after the cut land where the torn record was and survive the next restart.
            Set(store, "k9", "again");
        }

        using var reopened = Open();
        Assert.Empty(reopened.Recovery!.Damaged);
        Assert.Equal("again", Get(reopened, "k9"));
        Assert.Equal(10, reopened.Count);
    }

    [Fact]
    public void Garbage_after_the_last_record_is_truncated()
    {
        using (var store = Open())
            Set(store, "k", "v");
        var last = LastSegment();
        var length = new FileInfo(last).Length;
        using (var f = new FileStream(last, FileMode.Append))
            f.Write(Enumerable.Repeat((byte)0xA5, 4096).ToArray());

        using var reopened = Open();
        Assert.Equal("v", Get(reopened, "k"));
        Assert.True(Assert.Single(reopened.Recovery!.Damaged).Truncated);
        Assert.Equal(length, new FileInfo(last).Length);
    }

    // Under appendfsync always the active segment's file is zero-filled ahead of its records: after a crash, the
    // zeros past the last record are room never written, cut without a damage report; a record torn before them is
    // still damage.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Zeros_after_the_last_record_are_cut_silently_and_a_torn_record_before_them_is_reported(bool torn)
    {
        using (var store = Open())
        {
            Set(store, "k", "v");
            Set(store, "other", "w");
        }

        var last = LastSegment();
        var length = new FileInfo(last).Length;
        var cut = torn ? length - 3 : length;
        using (var f = new FileStream(last, FileMode.Open))
        {
            f.SetLength(cut);
            f.Seek(0, SeekOrigin.End);
            f.Write(new byte[64 * 1024]);
        }

        var events = new List<string>();
        using var reopened = LogStore.Open(new LogStoreOptions { Directory = _dir.Path, SegmentSize = 64 * 1024, CacheBytes = 1 << 20, Fsync = FsyncPolicy.Always, Log = (_, text) => events.Add(text) }, _time);
        Assert.Equal("v", Get(reopened, "k"));
        Assert.Equal(torn ? null : "w", Get(reopened, "other"));
        Assert.Equal(torn ? 1 : 0, reopened.Recovery!.Damaged.Count);
        Assert.Equal(torn ? length - RecordFormat.RecordSize(5, 1) : length, new FileInfo(last).Length);
        Assert.Contains(events, e => e.Contains(torn ? "torn or damaged tail" : "bytes of zeros after its last record cut", StringComparison.Ordinal));
    }

    // Under always, a roll with the zero-filled spare ready makes it the active segment: its file is the segment
    // size while records go in, cut to them when sealed and at close; the spare's file is gone after close. What
    // was written is all there after a restart.
    [Fact]
    public async Task Segments_from_zero_filled_spares_are_cut_to_their_records_when_sealed_and_at_close()
    {
        const int SegmentSize = 8192;
        var values = new Dictionary<string, string>();
        long records;
        using (var store = Open(segmentSize: SegmentSize, fsync: FsyncPolicy.Always))
        {
            Assert.True(await store.SpareReady);
            var i = 0;
            void Write()
            {
                values[$"key:{i % 200}"] = $"value-{i}";
                Set(store, $"key:{i % 200}", $"value-{i}");
                i++;
            }

            // Past the first roll, which takes the spare, then past the next, with a new spare ready for it.
            while (store.SegmentCount < 2)
                Write();
            Assert.True(await store.SpareReady);
            while (store.SegmentCount < 3)
                Write();
            for (var n = 0; n < 20; n++)
                Write();
            await store.CommitAsync();

            var files = Directory.GetFiles(_dir.Path, "*.seg").Order(StringComparer.Ordinal).Select(f => new FileInfo(f).Length).ToArray();
            Assert.Equal(SegmentSize, files[^1]);
            Assert.True(files[^2] < SegmentSize);
            records = store.DiskBytes().Total;
        }

        Assert.False(File.Exists(Path.Combine(_dir.Path, LogWriter.SpareName)));
        Assert.Equal(records, Directory.GetFiles(_dir.Path, "*.seg").Sum(f => new FileInfo(f).Length));
        using var reopened = Open(segmentSize: SegmentSize, fsync: FsyncPolicy.Always);
        Assert.Empty(reopened.Recovery!.Damaged);
        foreach (var (key, value) in values)
            Assert.Equal(value, Get(reopened, key));
    }

    // A spare that is gone when the roll comes (deleted under the store, say) costs the zero-filling, never a write:
    // the new segment is created empty, and the next roll has a new spare.
    [Fact]
    public async Task A_missing_spare_leaves_the_roll_to_an_empty_segment_and_the_next_roll_a_new_spare()
    {
        const int SegmentSize = 8192;
        using var store = Open(segmentSize: SegmentSize, fsync: FsyncPolicy.Always);
        Assert.True(await store.SpareReady);
        File.Delete(Path.Combine(_dir.Path, LogWriter.SpareName));
        var i = 0;
        while (store.SegmentCount < 2)
            Set(store, $"key:{i}", $"value-{i++}");
        await store.CommitAsync();

        Assert.True(new FileInfo(LastSegment()).Length < SegmentSize);
        Assert.True(await store.SpareReady);
        while (store.SegmentCount < 3)
            Set(store, $"key:{i}", $"value-{i++}");
        Assert.Equal(SegmentSize, new FileInfo(LastSegment()).Length);
        for (var n = 0; n < i; n++)
            Assert.Equal($"value-{n}", Get(store, $"key:{n}"));
    }

    [Fact]
    public void Damage_inside_a_sealed_segment_skips_only_the_damaged_record_and_is_reported()
    {
        var values = new Dictionary<string, string>();
        using (var store = Open(segmentSize: 2048))
        {
            for (var i = 0; i < 200; i++)
            {
                values[$"key:{i}"] = $"value-{i}-" + new string('x', i % 13);
                Set(store, $"key:{i}", values[$"key:{i}"]);
            }
        }

        // Without hint files (a store whose segments were sealed by an older version, or lost their hints), so that
        // the start reads the segments through.
        foreach (var hint in Directory.GetFiles(_dir.Path, "*.hint"))
            File.Delete(hint);
        var first = Directory.GetFiles(_dir.Path, "*.seg").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(first);
        var middle = bytes.Length / 2;
        bytes[middle] ^= 0x5A;
        bytes[middle + 1] ^= 0xA5;
        File.WriteAllBytes(first, bytes);

        using var reopened = Open(segmentSize: 2048);
        var damage = Assert.Single(reopened.Recovery!.Damaged);
        Assert.False(damage.Truncated);
        Assert.Equal(0, damage.Segment);
        Assert.InRange(damage.Offset, middle - 200, middle + 1);
        var missing = 0;
        foreach (var (key, value) in values)
        {
            var read = Get(reopened, key);
            if (read is null)
                missing++;
            else
                Assert.Equal(value, read);
        }

        Assert.InRange(missing, 1, 2);
        Assert.Equal(200 - missing, reopened.Count);
    }

    [Fact]
    public void Clear_survives_a_restart_and_deletes_old_segments()
    {
        using (var store = Open(segmentSize: 1024))
        {
            for (var i = 0; i < 100; i++)
                Set(store, $"k{i}", "value");
            store.Clear();
            Set(store, "after", "v");
        }

        Assert.Single(Directory.GetFiles(_dir.Path, "*.seg"));
        using var reopened = Open(segmentSize: 1024);
        Assert.Equal(1, reopened.Count);
        Assert.Equal("v", Get(reopened, "after"));
    }

    [Fact]
    public void A_second_store_cannot_open_a_directory_in_use()
    {
        using var store = Open();
        Assert.Throws<IOException>(() => Open());
    }

    [Fact]
    public void Every_value_kind_survives_a_restart_with_its_type()
    {
        var kinds = new[] { ValueKind.String, ValueKind.Hash, ValueKind.List, ValueKind.Set, ValueKind.SortedSet };
        using (var store = Open())
        {
            foreach (var kind in kinds)
                store.SetValue(Encoding.ASCII.GetBytes($"k{kind}"), kind, [1, 0, (byte)kind], 3, 0);
        }

        using (var store = Open())
        {
            foreach (var kind in kinds)
            {
                Assert.True(store.TryGet(Encoding.ASCII.GetBytes($"k{kind}"), out var value));
                Assert.Equal(kind, value.Kind);
                Assert.Equal([1, 0, (byte)kind], value.Bytes.ToArray());
            }
        }
    }

    [Fact]
    public void Dataset_four_times_the_cache_budget_is_served_correctly()
    {
        const int Budget = 1024 * 1024;
        const int Keys = 4096;
        var value = new byte[1024];
        using (var store = Open(cacheBytes: Budget))
        {
            for (var i = 0; i < Keys; i++)
            {
                var bytes = new byte[1024];
                new Random(i).NextBytes(bytes);
                store.SetString(Encoding.ASCII.GetBytes($"key:{i}"), bytes, bytes.Length, 0);
                Assert.True(store.CacheBytes <= Budget);
            }

            for (var round = 0; round < 2; round++)
            {
                for (var i = 0; i < Keys; i++)
                {
                    new Random(i).NextBytes(value);
                    Assert.True(store.TryGet(Encoding.ASCII.GetBytes($"key:{i}"), out var read));
                    Assert.Equal(value, read.Bytes.ToArray());
                    Assert.True(store.CacheBytes <= Budget);
                }
            }

            Assert.True(store.DiskReads > Keys, $"{store.DiskReads} disk reads");
            Assert.True(store.CacheBytes > Budget / 2, $"cache holds {store.CacheBytes} bytes");
        }
    }

    [Fact]
    public async Task Commits_pending_together_share_one_fsync_under_always()
    {
        using var store = Open(fsync: FsyncPolicy.Always);
        var before = store.FsyncCount;
        for (var i = 0; i < 32; i++)
            Set(store, $"k{i}", "v");
        var position = store.AppendedBytes;

        var commits = new Task[32];
        for (var i = 0; i < commits.Length; i++)
            commits[i] = store.CommitAsync().AsTask();
        await Task.WhenAll(commits).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, store.FsyncCount - before);
        Assert.True(store.SyncedBytes >= position);
    }

    [Fact]
    public async Task Concurrent_writers_under_always_are_acknowledged_only_after_their_fsync()
    {
        using var store = Open(fsync: FsyncPolicy.Always);
        const int Writers = 16;
        const int Writes = 25;
        var before = store.FsyncCount;
        var writers = new Task[Writers];
        for (var w = 0; w < Writers; w++)
        {
            var id = w;
            writers[w] = Task.Run(async () =>
            {
                for (var i = 0; i < Writes; i++)
                {
                    Set(store, $"w{id}:{i}", "v");
                    var position = store.AppendedBytes;
                    await store.CommitAsync();
                    Assert.True(store.SyncedBytes >= position);
                }
            });
        }

        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));

        var fsyncs = store.FsyncCount - before;
        Assert.InRange(fsyncs, 1, Writers * Writes);
        Assert.Equal(Writers * Writes, store.Count);
    }

    [Fact]
    public async Task Prefetch_reads_the_tables_without_locks_safely_while_they_grow_shrink_and_evict()
    {
        // Prefetch reads entries, buckets, keys and cache slots without the shards' locks: while writers add and
        // remove keys (buckets double and halve, entries re-lay out, the arena compacts, the small cache evicts),
        // it must never throw nor change what the store holds.
        using var store = Open(cacheBytes: 64 * 1024);
        var keys = Enumerable.Range(0, 4000).Select(i => Encoding.ASCII.GetBytes($"prefetch:{i}")).ToArray();
        var data = keys.SelectMany(k => k).ToArray();
        var ranges = new List<Range>();
        for (int i = 0, offset = 0; i < keys.Length; offset += keys[i].Length, i++)
            ranges.Add(new Range(offset, offset + keys[i].Length));

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            var random = new Random(7);
            for (var round = 0; round < 6; round++)
            {
                foreach (var key in keys)
                {
                    var value = new byte[random.Next(1, 300)];
                    store.SetString(key, value, value.Length, 0);
                }
                foreach (var key in keys.Where((_, i) => i % 8 != round))
                    store.Remove(key);
            }

            stop.Cancel();
        });
        var prefetches = 0;
        while (!stop.IsCancellationRequested)
        {
            for (var i = 0; i + 16 <= ranges.Count; i += 16)
                store.Prefetch(data, ranges.GetRange(i, 16).ToArray());
            prefetches++;
        }

        await writer;
        Assert.True(prefetches > 0);
        for (var i = 0; i < keys.Length; i++)
            Assert.Equal(i % 8 == 5, store.TryGet(keys[i], out _));
    }

    [Fact]
    public void Commit_under_always_fsyncs_on_the_calling_thread_once_for_what_was_appended()
    {
        using var store = Open(fsync: FsyncPolicy.Always);
        for (var i = 0; i < 10; i++)
            Set(store, $"k{i}", "v");
        var position = store.AppendedBytes;
        var before = store.FsyncCount;

        store.Commit();

        Assert.True(store.SyncedBytes >= position);
        Assert.Equal(1, store.FsyncCount - before);
        store.Commit();
        Assert.Equal(1, store.FsyncCount - before);
    }

    [Fact]
    public void Commit_on_the_calling_thread_under_everysec_hands_records_to_the_os()
    {
        using var store = Open(fsync: FsyncPolicy.EverySecond);
        Set(store, "k", "v");

        store.Commit();

        Assert.Equal(RecordFormat.RecordSize(1, 1), new FileInfo(LastSegment()).Length);
    }

    [Fact]
    public void Commit_under_everysec_hands_records_to_the_os_before_returning()
    {
        using var store = Open(fsync: FsyncPolicy.EverySecond);
        Set(store, "k", "v");

        Assert.True(store.CommitAsync().AsTask().IsCompletedSuccessfully);

        var length = new FileInfo(LastSegment()).Length;
        Assert.Equal(RecordFormat.RecordSize(1, 1), length);
    }

    [Theory]
    [InlineData(FsyncPolicy.EverySecond)]
    [InlineData(FsyncPolicy.No)]
    [InlineData(FsyncPolicy.Always)]
    public async Task A_write_is_uncommitted_from_its_append_until_a_commit_makes_it_as_durable_as_the_policy_says(FsyncPolicy policy)
    {
        using var store = Open(fsync: policy);
        Assert.False(store.HasUncommittedWrites);

        Set(store, "k", "v");
        Assert.True(store.HasUncommittedWrites);
        await store.CommitAsync();

        Assert.False(store.HasUncommittedWrites);
        Assert.True(policy != FsyncPolicy.Always || store.SyncedBytes == store.AppendedBytes);
    }

    [Fact]
    public void Slot_digest_depends_on_the_pairs_held_not_on_the_order_they_arrived()
    {
        var records = new List<StoreRecord>();
        for (var i = 0; i < 300; i++)
            records.Add(new StoreRecord(Encoding.ASCII.GetBytes($"{{tag{i % 5}}}:{i}"), 1000 + i, ValueKind.String, "v"u8.ToArray(), 1, 0));
        records.Add(StoreRecord.Tombstone("{tag0}:0"u8.ToArray(), 5000));

        using var a = new TempDirectory();
        using var b = new TempDirectory();
        using var first = LogStore.Open(new LogStoreOptions { Directory = a.Path, Fsync = FsyncPolicy.No }, _time);
        using var second = LogStore.Open(new LogStoreOptions { Directory = b.Path, Fsync = FsyncPolicy.No }, _time);
        foreach (var r in records)
            first.Apply(r);
        var shuffled = records.ToArray();
        new Random(3).Shuffle(shuffled);
        foreach (var r in shuffled)
            second.Apply(r);

        for (var t = 0; t < 5; t++)
        {
            var slot = KeySlots.Of(Encoding.ASCII.GetBytes($"{{tag{t}}}"));
            Assert.Equal(first.GetSlotDigest(slot), second.GetSlotDigest(slot));
            Assert.Equal(t == 0 ? 59 : 60, first.GetSlotDigest(slot).Count);
        }
    }

    [Fact]
    public void Slot_digest_changes_with_every_write_and_counts_tombstones()
    {
        using var store = Open();
        var slot = KeySlots.Of("{s}"u8);
        var empty = store.GetSlotDigest(slot);

        Set(store, "{s}a", "1");
        var one = store.GetSlotDigest(slot);
        Set(store, "{s}a", "2");
        var rewritten = store.GetSlotDigest(slot);
        store.Remove("{s}a"u8);
        var deleted = store.GetSlotDigest(slot);

        Assert.Equal(new SlotDigest(0, 0), empty);
        Assert.Equal(1, one.Count);
        Assert.NotEqual(one.Digest, rewritten.Digest);
        Assert.Equal(0, deleted.Count);
        Assert.NotEqual(0UL, deleted.Digest);
        Assert.NotEqual(rewritten.Digest, deleted.Digest);
    }

    [Fact]
    public void Slot_digest_is_rebuilt_identically_by_recovery()
    {
        var digests = new Dictionary<int, SlotDigest>();
        using (var store = Open(segmentSize: 2048))
        {
            for (var i = 0; i < 300; i++)
            {
                Set(store, $"{{t{i % 7}}}:{i % 50}", $"v{i}", i % 4 == 0 ? _time.NowMs + 100_000 : 0);
                if (i % 9 == 0)
                    store.Remove(Encoding.ASCII.GetBytes($"{{t{(i + 3) % 7}}}:{i % 50}"));
            }

            for (var t = 0; t < 7; t++)
            {
                var slot = KeySlots.Of(Encoding.ASCII.GetBytes($"{{t{t}}}"));
                digests[slot] = store.GetSlotDigest(slot);
            }
        }

        using var reopened = Open(segmentSize: 2048);
        foreach (var (slot, digest) in digests)
            Assert.Equal(digest, reopened.GetSlotDigest(slot));
    }

    // Sealed segments of thousands of records load from their hint files on several threads, each applying the records
    // of its own shards: the directory they build must be the one the writes built, and the one a single thread
    // builds (values, versions, expiries, tombstones, every slot's count and digest, the byte counters, dead bytes).
    [Fact]
    public void Hint_files_loaded_on_several_threads_rebuild_the_directory_the_writes_built()
    {
        var random = new Random(7);
        string Key(int i) => i % 10 == 0 ? $"{{tag}}:{i}" : $"key:{i}";
        string State(LogStore store)
        {
            var text = new StringBuilder();
            text.Append($"count {store.Count} expiring {store.ExpiringCount} tombstones {store.TombstoneCount} ");
            text.Append($"key bytes {store.UsedBytes - store.CacheBytes} tombstone bytes {store.TombstoneBytes} ");
            text.Append($"disk {store.DiskBytes()}\n");
            for (var slot = 0; slot < KeySlots.Count; slot++)
                text.Append(store.GetSlotDigest(slot)).Append(' ');
            for (var i = 0; i < 30_000; i++)
            {
                var key = Encoding.ASCII.GetBytes(Key(i));
                var found = store.TryGet(key, out var value, touch: false);
                store.TryGetVersion(key, out var version);
                text.Append($"\n{i} {(found ? Encoding.ASCII.GetString(value.Bytes) : "-")} {version} {(found ? value.ExpiresAt : 0)}");
            }

            return text.ToString();
        }

        string written;
        using (var store = Open(segmentSize: 512 * 1024, cacheBytes: 0))
        {
            for (var i = 0; i < 30_000; i++)
                Set(store, Key(i), $"v{i}", i % 7 == 0 ? _time.NowMs + 3_600_000 : 0);
            for (var n = 0; n < 20_000; n++)
            {
                var i = random.Next(30_000);
                if (n % 5 == 0)
                    store.Remove(Encoding.ASCII.GetBytes(Key(i)));
                else
                    Set(store, Key(i), $"w{n}");
            }

            written = State(store);
        }

        var loaded = new List<string>();
        foreach (var threads in new[] { 1, 3, 2 })
        {
            using var store = LogStore.Open(new LogStoreOptions { Directory = _dir.Path, SegmentSize = 512 * 1024, CacheBytes = 0, Fsync = FsyncPolicy.No, LoadThreads = threads }, _time);
            Assert.True(store.Recovery!.HintsUsed >= 2);
            Assert.Empty(store.Recovery.Damaged);
            loaded.Add(State(store));
        }

        Assert.Equal(written, loaded[0]);
        Assert.Equal(written, loaded[1]);
        Assert.Equal(written, loaded[2]);
    }

    [Fact]
    public void ScanSlot_lists_every_key_of_the_slot_with_versions_and_tombstones()
    {
        using var store = Open();
        var expected = new HashSet<string>();
        for (var i = 0; i < 500; i++)
        {
            Set(store, $"{{a}}{i}", "v");
            Set(store, $"{{b}}{i}", "v");
            expected.Add($"{{a}}{i}");
        }

        store.Remove("{a}7"u8);
        var slot = KeySlots.Of("{a}"u8);
        var entries = new List<SlotEntry>();
        ulong cursor = 0;
        do
        {
            cursor = store.ScanSlot(slot, cursor, 10, entries);
        }
        while (cursor != 0);

        Assert.Equal(expected, entries.Select(e => Encoding.ASCII.GetString(e.Key)).ToHashSet());
        Assert.Equal(500, entries.Count);
        Assert.True(entries.Single(e => Encoding.ASCII.GetString(e.Key) == "{a}7").Tombstone);
        foreach (var e in entries)
        {
            Assert.True(store.TryGetVersion(e.Key, out var version));
            Assert.Equal(version, e.Version);
        }
    }

    [Fact]
    public void Compaction_reclaims_dead_records_and_keeps_every_live_value_across_a_restart()
    {
        using (var store = Open(segmentSize: 4096))
        {
            // Stable keys share their segments with keys that are rewritten over and over.
            for (var round = 0; round < 10; round++)
            {
                for (var i = 0; i < 100; i++)
                {
                    if (round == 0 || i % 10 != 0)
                        Set(store, $"key:{i}", $"value-{round}-{i}");
                }
            }

            var (before, dead) = store.DiskBytes();
            Assert.True(dead > before / 2);

            var result = store.Compact(0.5);

            Assert.True(result.Segments > 0);
            Assert.True(result.BytesAfter > 0);
            var (after, _) = store.DiskBytes();
            Assert.True(after < before / 2, $"{before} bytes before, {after} after");
            for (var i = 0; i < 100; i++)
                Assert.Equal(Expected(i), Get(store, $"key:{i}"));
        }

        using var reopened = Open(segmentSize: 4096, cacheBytes: 0);
        Assert.True(reopened.Recovery!.HintsUsed > 0);
        Assert.Equal(100, reopened.Count);
        for (var i = 0; i < 100; i++)
            Assert.Equal(Expected(i), Get(reopened, $"key:{i}"));

        static string Expected(int i) => i % 10 == 0 ? $"value-0-{i}" : $"value-9-{i}";
    }

    [Fact]
    public void Compaction_of_segments_that_are_mostly_garbage_finds_their_live_records_from_the_key_directory()
    {
        using (var store = Open(segmentSize: 4096))
        {
            // 20 keys rewritten 50 times: each sealed segment holds a few live records among many dead ones.
            for (var round = 0; round < 50; round++)
            {
                for (var i = 0; i < 20; i++)
                    Set(store, $"key:{i}", $"value-{round}-{i}");
            }

            store.Remove("key:0"u8);
            var result = store.Compact(0, sealActive: true);

            Assert.True(result.Segments > 5, $"{result.Segments} segments");
            Assert.Equal(result.Segments, result.Listed);
            Assert.Equal(2, store.SegmentCount);
            Assert.Null(Get(store, "key:0"));
            for (var i = 1; i < 20; i++)
                Assert.Equal($"value-49-{i}", Get(store, $"key:{i}"));
        }

        using var reopened = Open(segmentSize: 4096, cacheBytes: 0);
        Assert.Equal(19, reopened.Count);
        Assert.Equal(1, reopened.TombstoneCount);
        for (var i = 1; i < 20; i++)
            Assert.Equal($"value-49-{i}", Get(reopened, $"key:{i}"));
    }

    [Fact]
    public void Compaction_reads_segments_through_when_walking_the_key_directory_would_cost_more()
    {
        using var store = Open(segmentSize: 4096);
        // Many keys in the directory against the one or two sealed segments of a few kilobytes that the first
        // keys, rewritten, left dead.
        for (var i = 0; i < 2000; i++)
            Set(store, $"key:{i}", "v");
        for (var i = 0; i < 120; i++)
            Set(store, $"key:{i}", "w");

        var result = store.Compact(0.5);

        Assert.InRange(result.Segments, 1, 2);
        Assert.Equal(0, result.Listed);
        for (var i = 0; i < 2000; i++)
            Assert.Equal(i < 120 ? "w" : "v", Get(store, $"key:{i}"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FLUSHALL_marker_survives_compaction_and_keeps_older_records_out_after_a_restart(bool fromDirectory)
    {
        var options = new LogStoreOptions
        {
            Directory = _dir.Path, Fsync = FsyncPolicy.No, SegmentSize = 1024,
            CompactionSource = fromDirectory ? CompactionSource.Directory : CompactionSource.Segments,
        };
        long version;
        using (var store = LogStore.Open(options, _time))
        {
            Set(store, "old", "v");
            Assert.True(store.TryGetVersion("old"u8, out version));
            store.Clear();
            for (var i = 0; i < 100; i++)
                Set(store, $"key:{i % 5}", $"value-{i}");

            Assert.True(store.Compact(0, sealActive: true).Segments > 1);
        }

        using var reopened = LogStore.Open(options, _time);
        Assert.False(reopened.Apply(new StoreRecord("old"u8.ToArray(), version, ValueKind.String, "v"u8.ToArray(), 1, 0)));
        Assert.Equal(5, reopened.Count);
        Assert.Equal("value-99", Get(reopened, "key:4"));
    }

    [Fact]
    public async Task Writes_during_compaction_keep_their_newer_values()
    {
        using var store = Open(segmentSize: 2048);
        for (var i = 0; i < 300; i++)
            Set(store, $"key:{i % 50}", $"old-{i}");

        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 50; i++)
                Set(store, $"key:{i}", $"new-{i}");
        });
        store.Compact(0);
        await writer.WaitAsync(TimeSpan.FromSeconds(30));

        for (var i = 0; i < 50; i++)
            Assert.Equal($"new-{i}", Get(store, $"key:{i}"));
    }

    [Fact]
    public void Tombstone_in_its_grace_period_survives_compaction_and_restart()
    {
        long version;
        using (var store = Open(segmentSize: 1024))
        {
            Set(store, "k", "v");
            Assert.True(store.TryGetVersion("k"u8, out version));
            store.Remove("k"u8);
            store.Compact(0, sealActive: true);
        }

        using var reopened = Open(segmentSize: 1024);
        Assert.False(reopened.Apply(new StoreRecord("k"u8.ToArray(), version, ValueKind.String, "old"u8.ToArray(), 3, 0)));
        Assert.False(reopened.Exists("k"u8));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Purged_tombstone_is_not_dropped_by_compaction_while_an_older_record_of_its_key_remains(bool fromDirectory)
    {
        var options = new LogStoreOptions
        {
            Directory = _dir.Path, Fsync = FsyncPolicy.No, SegmentSize = 2048, TombstoneGrace = TimeSpan.FromSeconds(1),
            CompactionBytesPerSecond = 0, CompactionSource = fromDirectory ? CompactionSource.Directory : CompactionSource.Segments,
        };
        using (var store = LogStore.Open(options, _time))
        {
            // Segment A: the old value and live fillers (little dead). Segment B: the tombstone among fillers
            // that are overwritten afterwards (mostly dead).
            Set(store, "victim", "old value");
            for (var i = 0; store.SegmentCount < 2; i++)
                Set(store, $"a:{i}", new string('a', 40));
            store.Remove("victim"u8);
            for (var i = 0; store.SegmentCount < 3; i++)
                Set(store, $"b:{i}", new string('b', 40));
            for (var i = 0; i < 200; i++)
                Set(store, $"b:{i}", "x");

            _time.Advance(2000);
            for (var n = 0; n < 1000 && store.TombstoneCount > 0; n++)
                store.ExpireCycle(TimeSpan.FromMinutes(1));
            Assert.Equal(0, store.TombstoneCount);

            Assert.True(store.Compact(0.5).Segments > 0);
        }

        using var reopened = LogStore.Open(options, _time);
        Assert.False(reopened.Exists("victim"u8));
    }

    [Fact]
    public void Key_directory_memory_follows_the_live_keys_under_a_set_and_delete_churn_of_distinct_keys()
    {
        const int Live = 2000;
        var options = new LogStoreOptions
        {
            Directory = _dir.Path, Fsync = FsyncPolicy.No, SegmentSize = 1 << 20, TombstoneGrace = TimeSpan.FromSeconds(1),
            CacheBytes = 0,
        };
        using var store = LogStore.Open(options, _time);
        var random = new Random(3);
        var live = new List<string>();
        long afterFirst = 0;
        var next = 0;
        // Forty times the live set goes through: each round deletes a random half of the keys (so that every
        // arena chunk keeps some live keys for a while) and writes as many new ones; the tombstones are purged
        // once their grace is over.
        for (var round = 0; round < 80; round++)
        {
            for (var n = 0; n < Live / 2 && round > 0; n++)
            {
                var at = random.Next(live.Count);
                Assert.True(store.Remove(Encoding.ASCII.GetBytes(live[at])));
                live[at] = live[^1];
                live.RemoveAt(live.Count - 1);
            }

            while (live.Count < Live)
            {
                // One hash tag: every key in one slot, so in one shard of the directory.
                var key = $"{{sessions}}:{next++}:{new string('s', random.Next(40))}";
                Set(store, key, "v");
                live.Add(key);
            }

            _time.Advance(2000);
            for (var n = 0; n < 10_000 && store.TombstoneCount > 0; n++)
                store.ExpireCycle(TimeSpan.FromMinutes(1));
            Assert.Equal(0, store.TombstoneCount);
            Assert.Equal(Live, store.Count);
            if (round == 0)
                afterFirst = store.KeyDirectoryBytes;
            Assert.True(store.KeyDirectoryBytes <= 2 * afterFirst, $"round {round}: {store.KeyDirectoryBytes} bytes, {afterFirst} after the first");
        }
    }

    // A segment gets its hint file as it is sealed (written as its records were appended), not only when compaction
    // comes round: a restart soon after, even a crash's, reads the hints instead of the segments. The active
    // segment's unfinished hint is dropped at close, since that segment goes on after the restart.
    [Fact]
    public void Segments_have_their_hint_files_once_sealed_and_a_restart_reads_them()
    {
        var sealedIds = new List<int>();
        using (var store = Open(segmentSize: 4096))
        {
            for (var i = 0; i < 1200; i++)
                Set(store, $"k{i % 150}", $"value-{i}", i % 3 == 0 ? _time.NowMs + 60_000 : 0);
            store.Remove("k7"u8);
            sealedIds.AddRange(Directory.GetFiles(_dir.Path, "*.seg").Select(f => Segment.ParseId(Path.GetFileName(f), ".seg")).Order().SkipLast(1));
        }

        Assert.True(sealedIds.Count >= 5);
        Assert.Equal(sealedIds.Select(id => Segment.HintName(id)), Directory.GetFiles(_dir.Path, "*.hint*").Select(Path.GetFileName).Order());
        using var reopened = Open(segmentSize: 4096);
        Assert.Equal(sealedIds.Count, reopened.Recovery!.HintsUsed);
        Assert.Empty(reopened.Recovery.MissingHints);
        Assert.Empty(reopened.Recovery.Damaged);
        for (var i = 1050; i < 1200; i++)
            Assert.Equal(i % 150 == 7 ? null : $"value-{i}", Get(reopened, $"k{i % 150}"));
    }

    // A hint entry larger than the hint writer's buffer (a key of 100 KB) is written past the buffer, in its place.
    [Fact]
    public void A_key_larger_than_the_hint_buffer_is_in_its_segment_hint_in_order()
    {
        var large = new string('k', 100_000);
        using (var store = Open(segmentSize: 256 * 1024))
        {
            Set(store, "before", "1");
            Set(store, large, "2");
            Set(store, "after", "3");
            for (var i = 0; i < 40; i++)
                Set(store, $"fill{i}", new string('x', 10_000));
        }

        using var reopened = Open(segmentSize: 256 * 1024);
        Assert.True(reopened.Recovery!.HintsUsed >= 1);
        Assert.Empty(reopened.Recovery.DamagedHints);
        Assert.Equal("1", Get(reopened, "before"));
        Assert.Equal("2", Get(reopened, large));
        Assert.Equal("3", Get(reopened, "after"));
    }

    [Fact]
    public void Deleted_hint_file_is_reported_and_its_segment_scanned()
    {
        using (var store = Open(segmentSize: 2048))
        {
            for (var i = 0; i < 300; i++)
                Set(store, $"key:{i}", $"value-{i}");
        }

        var hints = Directory.GetFiles(_dir.Path, "*.hint").Order(StringComparer.Ordinal).ToArray();
        Assert.True(hints.Length > 3);
        File.Delete(hints[1]);
        var damaged = File.ReadAllBytes(hints[2]);
        damaged[damaged.Length / 2] ^= 1;
        File.WriteAllBytes(hints[2], damaged);

        using var reopened = Open(segmentSize: 2048);
        var report = reopened.Recovery!;
        Assert.Equal(hints.Length - 2, report.HintsUsed);
        Assert.Equal([Segment.ParseId(Path.GetFileName(hints[1]), ".hint")], report.MissingHints);
        Assert.Equal([Segment.ParseId(Path.GetFileName(hints[2]), ".hint")], report.DamagedHints);
        Assert.Equal(300, reopened.Count);
        for (var i = 0; i < 300; i++)
            Assert.Equal($"value-{i}", Get(reopened, $"key:{i}"));
    }

    [Fact]
    public void Damage_to_a_value_behind_a_hint_file_reads_as_missing_and_is_counted()
    {
        using (var store = Open(segmentSize: 2048))
        {
            for (var i = 0; i < 100; i++)
                Set(store, $"key:{i}", $"value-{i}-" + new string('v', 20));
        }

        using (Open(segmentSize: 2048))
        {
            // Writes the hint files.
        }

        var first = Directory.GetFiles(_dir.Path, "*.seg").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(first);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(first, bytes);

        using var reopened = Open(segmentSize: 2048, cacheBytes: 0);
        var missing = 0;
        for (var i = 0; i < 100; i++)
        {
            if (Get(reopened, $"key:{i}") is null)
                missing++;
        }

        Assert.Equal(1, missing);
        Assert.Equal(1, reopened.CorruptReads);
    }

    [Fact]
    public async Task Clear_during_a_compaction_leaves_an_empty_store_that_stays_empty_after_a_restart()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using (var store = Open(segmentSize: 2048))
            {
                for (var i = 0; i < 400; i++)
                    Set(store, $"key:{i % 100}", $"value-{attempt}-{i}");

                var compaction = Task.Run(() => store.Compact(0, sealActive: true));
                store.Clear();
                await compaction.WaitAsync(TimeSpan.FromSeconds(30));
                Set(store, "after", "v");

                Assert.Equal(1, store.Count);
            }

            using (var reopened = Open(segmentSize: 2048))
            {
                Assert.Equal(1, reopened.Count);
                Assert.Equal("v", Get(reopened, "after"));
                reopened.Remove("after"u8);
            }
        }
    }

    [Fact]
    public async Task Concurrent_writers_readers_and_compactions_lose_nothing_across_a_restart()
    {
        const int Writers = 4;
        const int Keys = 200;
        var last = new string[Writers, Keys];
        using (var store = Open(segmentSize: 4096, cacheBytes: 64 * 1024))
        {
            using var stop = new CancellationTokenSource();
            var compactor = Task.Run(() =>
            {
                // At least one compaction that rewrote something, however fast the writers are.
                var n = 0;
                while (!stop.IsCancellationRequested || store.Compactions == 0)
                    store.Compact(n++ % 2 == 0 ? 0.3 : 0, sealActive: n % 3 == 0);
            });
            var tasks = new Task[Writers];
            for (var w = 0; w < Writers; w++)
            {
                var id = w;
                tasks[w] = Task.Run(() =>
                {
                    var random = new Random(id);
                    for (var i = 0; i < 3000; i++)
                    {
                        var k = random.Next(Keys);
                        var key = Encoding.ASCII.GetBytes($"w{id}:{k}");
                        if (random.Next(10) == 0)
                        {
                            store.Remove(key);
                            last[id, k] = null!;
                        }
                        else
                        {
                            var value = $"{id}-{k}-{i}-" + new string('x', random.Next(60));
                            Set(store, $"w{id}:{k}", value);
                            last[id, k] = value;
                        }

                        var probe = random.Next(Keys);
                        var read = Get(store, $"w{id}:{probe}");
                        Assert.Equal(last[id, probe], read);
                    }
                });
            }

            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(120));
            await stop.CancelAsync();
            await compactor.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(store.Compactions > 0);
        }

        using var reopened = Open(segmentSize: 4096, cacheBytes: 64 * 1024);
        for (var w = 0; w < Writers; w++)
        {
            for (var k = 0; k < Keys; k++)
                Assert.Equal(last[w, k], Get(reopened, $"w{w}:{k}"));
        }
    }

    [Fact]
    public void Hint_files_written_at_run_time_serve_the_next_start()
    {
        int sealedSegments;
        using (var store = Open(segmentSize: 2048))
        {
            for (var i = 0; i < 100; i++)
                Set(store, $"key:{i}", $"value-{i}");
        }

        using (var store = Open(segmentSize: 2048))
        {
            // The active segment, recovered with records in it, has no hint of its own: once sealed, it waits for
            // WriteMissingHints (the segments sealed after it got theirs as they were written).
            for (var i = 100; i < 300; i++)
                Set(store, $"key:{i}", $"value-{i}");
            sealedSegments = store.SegmentCount - 1;

            Assert.Equal(1, store.WriteMissingHints());
            Assert.Equal(0, store.WriteMissingHints());
        }

        using var reopened = Open(segmentSize: 2048);
        Assert.Equal(sealedSegments, reopened.Recovery!.HintsUsed);
        Assert.Empty(reopened.Recovery.MissingHints);
        for (var i = 0; i < 300; i++)
            Assert.Equal($"value-{i}", Get(reopened, $"key:{i}"));
    }

    [Fact]
    public void Hint_files_of_segments_that_are_gone_are_removed_at_start()
    {
        using (var store = Open())
            Set(store, "k", "v");
        var stray = Path.Combine(_dir.Path, Segment.HintName(7));
        var temporary = Path.Combine(_dir.Path, Segment.HintName(0) + ".tmp");
        File.WriteAllBytes(stray, [1, 2, 3]);
        File.WriteAllBytes(temporary, [1, 2, 3]);

        using var reopened = Open();

        Assert.False(File.Exists(stray));
        Assert.False(File.Exists(temporary));
        Assert.Equal("v", Get(reopened, "k"));
    }

    [Fact]
    public void Directory_sync_succeeds_on_a_directory_and_fails_on_a_missing_one()
    {
        DirectorySync.Flush(_dir.Path);
        if (OperatingSystem.IsLinux())
            Assert.Throws<IOException>(() => DirectorySync.Flush(Path.Combine(_dir.Path, "missing")));
    }

    [Fact]
    public void A_dropped_slot_is_gone_for_good_while_records_pulled_later_count_across_restarts_and_compactions()
    {
        // Hash tags put "{a}..." in one slot and "{b}..." in another.
        var dropped = KeySlot.Of("{a}"u8);
        var kept = KeySlot.Of("{b}"u8);
        using (var store = Open(segmentSize: 4096))
        {
            for (var i = 0; i < 50; i++)
            {
                Set(store, $"{{a}}{i}", "old");
                Set(store, $"{{b}}{i}", "kept");
            }

            Assert.True(store.Remove("{a}0"u8));
            Assert.Equal(50, store.DropSlots([dropped]));
            Assert.Equal(new SlotDigest(0, 0), store.GetSlotDigest(dropped));
            Assert.Null(Get(store, "{a}1"));
            Assert.False(store.TryGetVersion("{a}0"u8, out _));
            Assert.Equal(50, store.GetSlotDigest(kept).Count);

            // The slot is pulled again later: a record older than the drop (its version is the writer's), applied now.
            var pulled = HybridClock.VersionAt(_time.NowMs - 60_000);
            Assert.True(store.Apply(new StoreRecord("{a}7"u8.ToArray(), pulled, ValueKind.String, "pulled"u8.ToArray(), 6, 0)));
        }

        for (var round = 0; round < 2; round++)
        {
            using var store = Open(segmentSize: 4096);
            Assert.Equal("pulled", Get(store, "{a}7"));
            for (var i = 0; i < 50; i++)
            {
                if (i != 7)
                    Assert.Null(Get(store, $"{{a}}{i}"));
                Assert.Equal("kept", Get(store, $"{{b}}{i}"));
            }

            Assert.Equal(1, store.GetSlotDigest(dropped).Count);
            // Compaction must not carry the dropped records into new segments, where they would count again.
            store.Compact(0, sealActive: true);
        }
    }

    [Fact]
    public void A_slot_dropped_during_a_compaction_stays_dropped_after_a_restart()
    {
        var dropped = KeySlot.Of("{a}"u8);
        using (var store = Open(segmentSize: 4096))
        {
            for (var round = 0; round < 5; round++)
            {
                for (var i = 0; i < 50; i++)
                {
                    Set(store, $"{{a}}{i}", $"a-{round}");
                    Set(store, $"{{b}}{i}", $"b-{round}");
                }
            }

            // The drop comes after the compaction listed the slot's records and before it copies them: its output
            // segments would be made after the drop's roll, above the slot's floor.
            store.AfterListing = () => Assert.Equal(50, store.DropSlots([dropped]));
            var result = store.Compact(0, sealActive: true);

            Assert.Equal(0, result.Segments);
            Assert.Null(Get(store, "{a}1"));
            Assert.Equal("b-4", Get(store, "{b}1"));
        }

        using var reopened = Open(segmentSize: 4096);
        Assert.Equal(new SlotDigest(0, 0), reopened.GetSlotDigest(dropped));
        for (var i = 0; i < 50; i++)
        {
            Assert.Null(Get(reopened, $"{{a}}{i}"));
            Assert.Equal("b-4", Get(reopened, $"{{b}}{i}"));
        }
    }

    private LogStore Open(long segmentSize = 64 * 1024, long cacheBytes = 1 << 20, FsyncPolicy fsync = FsyncPolicy.No) =>
        LogStore.Open(new LogStoreOptions { Directory = _dir.Path, SegmentSize = segmentSize, CacheBytes = cacheBytes, Fsync = fsync }, _time);

    private string LastSegment() => Directory.GetFiles(_dir.Path, "*.seg").Order(StringComparer.Ordinal).Last();

    private static void Set(LogStore store, string key, string value, long expiresAt = 0)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        store.SetString(Encoding.ASCII.GetBytes(key), bytes, bytes.Length, expiresAt);
    }

    private static string? Get(LogStore store, string key) =>
        store.TryGet(Encoding.ASCII.GetBytes(key), out var value) ? Encoding.ASCII.GetString(value.Bytes) : null;
}
