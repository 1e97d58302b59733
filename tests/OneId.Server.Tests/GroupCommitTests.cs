using System.Collections.Concurrent;
using FluentAssertions;
using OneId.Server.Application;
using Xunit;

namespace OneId.Server.Tests;

public sealed class GroupCommitTests
{
    [Fact]
    public async Task Concurrent_writes_share_batches_in_arrival_order_and_a_bad_one_fails_alone()
    {
        var applied = new ConcurrentQueue<int>();
        var largest = 0;
        await using var commit = new GroupCommit<int, int>(async (items, ct) =>
        {
            largest = Math.Max(largest, items.Count);
            await Task.Delay(5, ct);
            if (items.Contains(13))
            {
                throw new InvalidOperationException("13 is refused");
            }
            foreach (var i in items)
            {
                applied.Enqueue(i);
            }
            return items.Select(i => i * 2).ToArray();
        });

        var tasks = Enumerable.Range(0, 100).Select(i => commit.SubmitAsync(i, CancellationToken.None)).ToArray();
        var outcomes = await Task.WhenAll(tasks.Select(async t =>
        {
            try
            {
                return (int?)await t;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }));

        outcomes.Where((o, i) => i != 13).Should().Equal(Enumerable.Range(0, 100).Where(i => i != 13).Select(i => (int?)(i * 2)));
        outcomes[13].Should().BeNull("only the refused write fails");
        applied.Should().BeInAscendingOrder().And.HaveCount(99);
        largest.Should().BeGreaterThan(1, "writes that queue up together share a batch");
    }
}
