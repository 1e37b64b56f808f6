using System.Text;
using Estoraje.Storage.Collections;

namespace Estoraje.Tests.Storage.Collections;

public class CollectionScanTests
{
    [Fact]
    public void A_walk_returns_every_element_once_when_nothing_changes()
    {
        var elements = Enumerable.Range(0, 1000).Select(i => Encoding.ASCII.GetBytes($"m{i}")).ToList();
        var seen = new List<string>();
        ulong cursor = 0;
        var steps = 0;
        do
        {
            var page = new List<byte[]>();
            cursor = CollectionScan.Step(elements, static e => e, cursor, 37, page);
            Assert.InRange(page.Count, 1, 40);
            seen.AddRange(page.Select(Encoding.ASCII.GetString));
            steps++;
        }
        while (cursor != 0);

        Assert.Equal(elements.Count, seen.Count);
        Assert.Equal(elements.Select(Encoding.ASCII.GetString).Order(), seen.Order());
        Assert.InRange(steps, 1000 / 37, 1000 / 37 + 2);
    }

    [Fact]
    public void Elements_present_for_the_whole_walk_are_returned_while_others_come_and_go()
    {
        var random = new Random(11);
        var stable = Enumerable.Range(0, 300).Select(i => $"s{i}").ToHashSet();
        var churn = new HashSet<string>();
        var seen = new HashSet<string>();
        ulong cursor = 0;
        var next = 0;
        do
        {
            // Between steps, add and remove other elements (the stable ones stay).
            for (var i = 0; i < 20; i++)
                churn.Add($"c{next++}");
            churn.RemoveWhere(_ => random.Next(3) == 0);
            var current = stable.Concat(churn).Select(Encoding.ASCII.GetBytes).ToList();
            var page = new List<byte[]>();
            cursor = CollectionScan.Step(current, static e => e, cursor, 10, page);
            seen.UnionWith(page.Select(Encoding.ASCII.GetString));
        }
        while (cursor != 0);

        Assert.Subset(seen, stable);
    }
}
