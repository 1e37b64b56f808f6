using System.Runtime.CompilerServices;
using System.Text;
using Estoraje.Storage.Log;
using Estoraje.Storage.Memory;

namespace Estoraje.Tests.Storage;

public sealed class KeyTableTests
{
    [Fact]
    public void A_page_of_entries_of_either_table_stays_off_the_large_object_heap()
    {
        Assert.True(1024 * Unsafe.SizeOf<KeyTable.Entry>() < 85_000);
        Assert.True(1024 * Unsafe.SizeOf<KeyDirectory.Entry>() < 85_000);
    }

    [Fact]
    public void Added_key_is_found_and_removed_key_is_not()
    {
        var table = new KeyTable();
        var key = Key("a");
        var index = table.Add(key, Hash(key));

        Assert.Equal(index, table.Find(key, Hash(key)));
        Assert.Same(key, table[index].Key);
        Assert.Equal(1, table.Count);

        table.RemoveAt(index);

        Assert.Equal(-1, table.Find(key, Hash(key)));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Keys_with_the_same_hash_are_told_apart()
    {
        var table = new KeyTable();
        var a = Key("a");
        var b = Key("b");
        var ia = table.Add(a, 42);
        var ib = table.Add(b, 42);

        Assert.Equal(ia, table.Find(a, 42));
        Assert.Equal(ib, table.Find(b, 42));
        table.RemoveAt(ia);
        Assert.Equal(-1, table.Find(a, 42));
        Assert.Equal(ib, table.Find(b, 42));
    }

    [Fact]
    public void Table_grows_and_shrinks_and_keeps_every_key_findable()
    {
        var table = new KeyTable();
        var keys = Enumerable.Range(0, 5000).Select(i => Key($"k{i}")).ToList();
        foreach (var key in keys)
            table.Add(key, Hash(key));
        var grown = table.BucketCount;
        Assert.True(grown >= 5000);

        for (var i = 0; i < 4990; i++)
            table.RemoveAt(table.Find(keys[i], Hash(keys[i])));

        Assert.True(table.BucketCount < grown / 8, $"buckets {table.BucketCount} after shrinking from {grown}");
        Assert.Equal(10, table.Count);
        for (var i = 4990; i < 5000; i++)
            Assert.True(table.Find(keys[i], Hash(keys[i])) >= 0);
    }

    [Fact]
    public void Expiring_list_holds_exactly_the_keys_with_an_expiry_through_resizes()
    {
        var random = new Random(3);
        var table = new KeyTable();
        var expiring = new HashSet<string>();
        var present = new List<byte[]>();
        for (var step = 0; step < 20_000; step++)
        {
            var op = random.Next(10);
            if (op < 5 || present.Count == 0)
            {
                var key = Key($"k{random.Next(3000)}");
                var index = table.Find(key, Hash(key));
                if (index < 0)
                {
                    index = table.Add(key, Hash(key));
                    present.Add(key);
                }

                var expiresAt = random.Next(2) == 0 ? 0 : random.Next(1, 1000);
                table.SetExpiry(index, expiresAt);
                if (expiresAt == 0)
                    expiring.Remove(Name(key));
                else
                    expiring.Add(Name(key));
            }
            else
            {
                var at = random.Next(present.Count);
                var key = present[at];
                table.RemoveAt(table.Find(key, Hash(key)));
                expiring.Remove(Name(key));
                present[at] = present[^1];
                present.RemoveAt(present.Count - 1);
            }

            Assert.Equal(expiring.Count, table.ExpiringCount);
            if (step % 100 == 0)
            {
                // Sampling hits only expiring keys, and (with enough draws) all of them.
                var sampled = new HashSet<string>();
                for (var draw = 0; draw < expiring.Count * 20; draw++)
                {
                    var i = table.RandomExpiring(random);
                    Assert.NotEqual(0, table[i].ExpiresAt);
                    sampled.Add(Name(table[i].Key!));
                }

                Assert.True(expiring.SetEquals(sampled));
            }
        }
    }

    [Fact]
    public void RandomExpiring_of_a_table_without_expiring_keys_is_minus_one()
    {
        var table = new KeyTable();
        table.Add(Key("a"), 1);
        Assert.Equal(-1, table.RandomExpiring(new Random(1)));
    }

    [Fact]
    public void RandomEntry_returns_only_live_entries()
    {
        var table = new KeyTable();
        Assert.Equal(-1, table.RandomEntry(new Random(1)));
        var keys = Enumerable.Range(0, 100).Select(i => Key($"k{i}")).ToList();
        foreach (var key in keys)
            table.Add(key, Hash(key));
        for (var i = 0; i < 100; i += 3)
            table.RemoveAt(table.Find(keys[i], Hash(keys[i])));

        var random = new Random(2);
        for (var draw = 0; draw < 1000; draw++)
        {
            var entry = table[table.RandomEntry(random)];
            Assert.NotNull(entry.Key);
            Assert.NotEqual(0, int.Parse(Name(entry.Key)[1..], System.Globalization.CultureInfo.InvariantCulture) % 3);
        }
    }

    [Fact]
    public void Bucket_walk_of_an_unchanging_table_visits_every_key_once()
    {
        var table = new KeyTable();
        var keys = Enumerable.Range(0, 777).Select(i => Key($"k{i}")).ToList();
        foreach (var key in keys)
            table.Add(key, Hash(key));

        var seen = new List<string>();
        var found = new List<byte[]>();
        ulong cursor = 0;
        do
        {
            cursor = table.ScanBucket(cursor, found);
        }
        while (cursor != 0);
        seen.AddRange(found.Select(Name));

        Assert.Equal(777, seen.Count);
        Assert.Equal(keys.Select(Name).ToHashSet(), seen.ToHashSet());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Bucket_walk_returns_every_key_present_throughout_while_the_table_doubles_and_halves(int seed)
    {
        var random = new Random(seed);
        var table = new KeyTable();
        var stable = Enumerable.Range(0, 50).Select(i => Key($"stable{i}")).ToList();
        foreach (var key in stable)
            table.Add(key, Hash(key));

        var churn = new List<byte[]>();
        var next = 0;
        var sizes = new HashSet<int> { table.BucketCount };
        var seen = new HashSet<string>();
        var found = new List<byte[]>();
        ulong cursor = 0;
        do
        {
            cursor = table.ScanBucket(cursor, found);

            // Swing between growing far past the stable keys and shrinking back, a random amount each step.
            var grow = random.Next(3) != 0 ? random.Next(0, 200) : -random.Next(0, 400);
            for (var i = 0; i < grow; i++)
            {
                var key = Key($"churn{next++}");
                table.Add(key, Hash(key));
                churn.Add(key);
            }

            for (var i = 0; i < -grow && churn.Count > 0; i++)
            {
                var at = random.Next(churn.Count);
                table.RemoveAt(table.Find(churn[at], Hash(churn[at])));
                churn[at] = churn[^1];
                churn.RemoveAt(churn.Count - 1);
            }

            if (churn.Count > 4000)
            {
                foreach (var key in churn)
                    table.RemoveAt(table.Find(key, Hash(key)));
                churn.Clear();
            }

            sizes.Add(table.BucketCount);
        }
        while (cursor != 0);

        foreach (var key in found)
            seen.Add(Name(key));
        Assert.True(sizes.Count >= 3, $"the table only had sizes {string.Join(", ", sizes)}");
        var missed = stable.Select(Name).Where(k => !seen.Contains(k)).ToList();
        Assert.True(missed.Count == 0, $"the walk missed {string.Join(", ", missed)}");
    }

    private static byte[] Key(string name) => Encoding.ASCII.GetBytes(name);

    private static string Name(byte[] key) => Encoding.ASCII.GetString(key);

    private static int Hash(byte[] key)
    {
        var h = new HashCode();
        h.AddBytes(key);
        return h.ToHashCode();
    }
}
