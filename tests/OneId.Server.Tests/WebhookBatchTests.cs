using FluentAssertions;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Webhooks;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>batch_size above 1: several events per POST, still every event, in order, at least once.</summary>
public sealed class WebhookBatchTests
{
    private static Action<HubOptions> WithBatchedWebhook(string url, int batchSize) => o =>
    {
        o.Tenants.Clear();
        var t = TestHub.DefaultTenant("acme");
        t.Webhooks.Add(new WebhookOptions { Url = url, Secret = WebhookReceiver.Secret, BatchSize = batchSize });
        o.Tenants.Add(t);
    };

    private static Observation[] Followers(int from, int count) => Enumerable.Range(from, count)
        .Select(i => new Observation([Identifier.Parse($"openid:wx1111111111111111:oBatch{i:D22}")], "test", DateTimeOffset.UtcNow))
        .ToArray();

    [Fact]
    public async Task A_burst_arrives_in_few_posts_with_every_event_in_sequence_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var hub = await TestHub.StartAsync(configure: WithBatchedWebhook(receiver.Url, 50));

        // One transaction: the dispatcher sees all 120 person.created events at once.
        await hub.Graph().ObserveManyAsync(Followers(0, 120), default);

        await Eventually.TrueAsync(() => receiver.Received.Count >= 120, "120 events delivered");
        var sequences = receiver.Received.Select(r => r.GetProperty("sequence").GetInt64()).ToArray();
        sequences.Should().HaveCount(120).And.OnlyHaveUniqueItems().And.BeInAscendingOrder();
        (sequences[^1] - sequences[0]).Should().Be(119, "no event is left out");
        receiver.Received.Select(r => r.GetProperty("type").GetString()).Should().AllBe("person.created");
        // Pages of 100 events, batches of 50: 50 + 50, then 20.
        receiver.Posts.Should().Be(3);
        receiver.EventHeaders.Should().AllBe(WebhookDispatcher.BatchEventType);
        receiver.BadSignatures.Should().Be(0);
    }

    [Fact]
    public async Task A_refused_batch_is_sent_again_from_its_first_event()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Failing = true;
        await using var hub = await TestHub.StartAsync(configure: WithBatchedWebhook(receiver.Url, 20));
        await hub.Graph().ObserveManyAsync(Followers(0, 30), default);

        await Eventually.TrueAsync(() => receiver.Refused >= 1, "the receiver refused a batch");
        receiver.Received.Should().BeEmpty();
        receiver.Failing = false;
        await hub.Graph().ObserveManyAsync(Followers(30, 5), default);

        await Eventually.TrueAsync(() => receiver.Received.Count >= 35, "all 35 events delivered after the receiver recovered");
        var sequences = receiver.Received.Select(r => r.GetProperty("sequence").GetInt64()).ToArray();
        sequences.Should().HaveCount(35).And.OnlyHaveUniqueItems().And.BeInAscendingOrder();
        (sequences[^1] - sequences[0]).Should().Be(34);
    }

    [Fact]
    public async Task A_batch_size_out_of_range_stops_startup_naming_the_field()
    {
        var act = () => TestHub.StartAsync(configure: WithBatchedWebhook("http://127.0.0.1:9/hooks", 0));
        var e = await act.Should().ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>();
        e.Which.Message.Should().Contain("tenants[0].webhooks[0].batch_size").And.Contain("between 1 and 1000");
    }
}
