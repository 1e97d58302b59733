using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.Graph;
using OneId.Server.Application;
using OneId.Server.Configuration;
using OneId.Server.Tenants;

namespace OneId.Server.Webhooks;

/// <summary>The JSON body of one webhook delivery.</summary>
public sealed record WebhookEvent(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("sequence")] long Sequence,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("person")] string? Person,
    [property: JsonPropertyName("others")] IReadOnlyList<string> Others,
    [property: JsonPropertyName("observation")] string? Observation,
    [property: JsonPropertyName("identifiers")] IReadOnlyList<string> Identifiers);

/// <summary>Wakes the dispatcher when the graph changed, so that deliveries do not wait for the next poll.</summary>
public sealed class WebhookSignal : WorkerSignal;

/// <summary>
/// Delivers person.* events from each tenant's outbox (the graph's event log, written in the same transaction as each
/// change) to its webhooks: at least once, in sequence order (so in order per person), each body signed with
/// HMAC-SHA256 in <c>X-OneId-Signature: sha256=&lt;hex&gt;</c>. A failed delivery blocks that webhook's cursor and is
/// retried with exponential backoff; cursor, attempt count and next attempt time are persisted, so retries survive a restart.
/// </summary>
public sealed partial class WebhookDispatcher(
    TenantRegistry tenants,
    IHttpClientFactory httpClients,
    IOptions<HubOptions> options,
    WebhookSignal signal,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "oneid-webhooks";
    public const string SignatureHeader = "X-OneId-Signature";
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    /// <summary>The cursor name of a webhook: its position and URL, so that a changed URL starts from its own cursor.</summary>
    public static string CursorName(int index, WebhookOptions webhook) =>
        $"{index}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(webhook.Url)))[..16]}";

    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>Backoff after <paramref name="attempts"/> failures: 1 s, 2 s, 4 s … capped at 10 minutes.</summary>
    public static TimeSpan Backoff(int attempts) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(attempts - 1, 20))));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await tenants.InitializeAsync(stoppingToken).ConfigureAwait(false);
        var poll = TimeSpan.FromMilliseconds(Math.Max(50, options.Value.WebhookPollMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DeliverPendingAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogLoopFailed(logger, e);
            }
            try
            {
                await signal.WaitAsync(poll, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var tenant in tenants.All)
            {
                await tenant.WebhookCursors.ReleaseWebhookLeasesAsync(_instance, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is System.Data.Common.DbException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // Not started, or the database is gone: the lease lapses by itself within 10 s.
        }
    }

    /// <summary>One pass over every tenant's webhooks. Public so that tests and the demo can drive delivery directly.</summary>
    public async Task DeliverPendingAsync(CancellationToken cancellationToken)
    {
        // One pass at a time in this process, or two passes could send the same event out of order.
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var tenant in tenants.All)
            {
                for (var i = 0; i < tenant.Options.Webhooks.Count; i++)
                {
                    await DeliverAsync(tenant, i, tenant.Options.Webhooks[i], cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// Moves a webhook's cursor back so that every event after <paramref name="after"/> is delivered again (an operator
    /// redelivers after the receiver lost data). Taken between passes and under the webhook's lease, so no delivery in
    /// flight overwrites it; false while another hub instance holds the lease.
    /// </summary>
    public async Task<bool> RedeliverAsync(HubTenant tenant, int index, long after, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var webhook = tenant.Options.Webhooks[index];
        var name = CursorName(index, webhook);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!await tenant.WebhookCursors.TryLeaseWebhookAsync(name, _instance, time.GetUtcNow() + LeaseFor, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
            await tenant.WebhookCursors.SaveWebhookCursorAsync(name, after, 0, DateTimeOffset.MinValue, null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        signal.Notify();
        return true;
    }


    // A short lease kept alive by a heartbeat: renewed at every pass (each poll) and every few seconds during a long
    // one, released on shutdown. After a crash another instance takes over once it lapses, within 10 s.
    public static readonly TimeSpan LeaseFor = TimeSpan.FromSeconds(10);
    private readonly string _instance = Guid.NewGuid().ToString("N");

    private async Task DeliverAsync(HubTenant tenant, int index, WebhookOptions webhook, CancellationToken cancellationToken)
    {
        var name = CursorName(index, webhook);
        if (!await tenant.WebhookCursors.TryLeaseWebhookAsync(name, _instance, time.GetUtcNow() + LeaseFor, cancellationToken).ConfigureAwait(false))
        {
            return; // another hub instance delivers this webhook now
        }
        // The heartbeat renews the lease while this pass delivers; if it is ever lost, the pass stops at once, so two
        // instances never deliver one webhook side by side.
        using var pass = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = HeartbeatAsync(tenant, name, pass);
        try
        {
            await DeliverLeasedAsync(tenant, index, webhook, name, pass.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (pass.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // the lease was lost: the next owner carries on from the saved cursor
        }
        finally
        {
            await pass.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }
    }

    private async Task HeartbeatAsync(HubTenant tenant, string name, CancellationTokenSource pass)
    {
        while (!pass.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(LeaseFor / 3, time, pass.Token).ConfigureAwait(false);
                if (!await tenant.WebhookCursors.TryLeaseWebhookAsync(name, _instance, time.GetUtcNow() + LeaseFor, pass.Token).ConfigureAwait(false))
                {
                    await pass.CancelAsync().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Could not renew (database away): stop delivering rather than risk an overlap.
                LogLoopFailed(logger, e);
                await pass.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task DeliverLeasedAsync(HubTenant tenant, int index, WebhookOptions webhook, string name, CancellationToken ct)
    {
        var cursor = await tenant.WebhookCursors.GetWebhookCursorAsync(name, ct).ConfigureAwait(false);
        if (cursor.NextAttemptAt > time.GetUtcNow())
        {
            return;
        }
        var tiers = webhook.Tiers.Count == 0
            ? new HashSet<DataTier> { DataTier.Internal }
            : webhook.Tiers.Select(t => Tiers.TryParse(t, out var x) ? x : DataTier.Internal).ToHashSet();
        var seq = cursor.Sequence;
        var attempts = cursor.Attempts;
        var client = httpClients.CreateClient(HttpClientName);
        while (true)
        {
            var events = await tenant.Graph.ReadEventsAsync(seq, 100, ct).ConfigureAwait(false);
            if (events.Count == 0)
            {
                return;
            }
            foreach (var e in events)
            {
                if (e.WebhookName is not { } type || (webhook.Events.Count > 0 && !webhook.Events.Contains(type)))
                {
                    seq = e.Sequence;
                    continue;
                }
                var body = JsonSerializer.SerializeToUtf8Bytes(new WebhookEvent(
                    $"{tenant.Name}-{e.Sequence}", type, tenant.Name, e.Sequence, e.At, e.Person?.ToString(),
                    e.Others.Select(p => p.ToString()).ToArray(), e.Observation?.ToString(),
                    e.Identifiers.Where(id => tiers.Contains(id.Type == IdentifierType.Phone ? DataTier.Private : DataTier.Internal))
                        .Select(id => id.ToString()).ToArray()));
                var error = await PostAsync(client, webhook, type, $"{tenant.Name}-{e.Sequence}", body, ct).ConfigureAwait(false);
                if (error is not null)
                {
                    attempts++;
                    var next = time.GetUtcNow() + Backoff(attempts);
                    await tenant.WebhookCursors.SaveWebhookCursorAsync(name, seq, attempts, next, error, ct).ConfigureAwait(false);
                    LogDeliveryFailed(logger, tenant.Name, index, e.Sequence, attempts, error, next);
                    return;
                }
                seq = e.Sequence;
                attempts = 0;
                // Saved after every delivery: a crash re-sends at most the one event in flight (at least once).
                await tenant.WebhookCursors.SaveWebhookCursorAsync(name, seq, 0, DateTimeOffset.MinValue, null, ct).ConfigureAwait(false);
                LogDelivered(logger, tenant.Name, index, type, e.Sequence);
            }
            await tenant.WebhookCursors.SaveWebhookCursorAsync(name, seq, 0, DateTimeOffset.MinValue, null, ct).ConfigureAwait(false);
        }
    }

    private static async Task<string?> PostAsync(HttpClient client, WebhookOptions webhook, string type, string id, byte[] body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add(SignatureHeader, Sign(webhook.Secret, body));
        request.Headers.Add("X-OneId-Event", type);
        request.Headers.Add("X-OneId-Delivery", id);
        try
        {
            using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return "timeout";
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Webhook {Tenant}#{Index}: delivered {Type} #{Sequence}")]
    private static partial void LogDelivered(ILogger logger, string tenant, int index, string type, long sequence);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Webhook {Tenant}#{Index}: event #{Sequence} failed (attempt {Attempts}: {Error}); next try at {Next}")]
    private static partial void LogDeliveryFailed(ILogger logger, string tenant, int index, long sequence, int attempts, string error, DateTimeOffset next);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Webhook dispatcher pass failed; retrying at the next poll")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);
}

public static class WebhookExtensions
{
    public static IServiceCollection AddOneIdWebhooks(this IServiceCollection services)
    {
        services.TryAddSingleton<WebhookSignal>();
        services.TryAddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddHttpClient(WebhookDispatcher.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10));
        return services;
    }
}
