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

/// <summary>The JSON body of a batched delivery (a webhook with <c>batch_size</c> above 1): events in sequence order.</summary>
public sealed record WebhookBatch([property: JsonPropertyName("events")] IReadOnlyList<WebhookEvent> Events);

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
        var batchSize = Math.Clamp(webhook.BatchSize, 1, WebhookOptions.MaxBatchSize);
        var delivery = new WebhookDelivery(tenant, index, webhook, name, batchSize, cursor.Attempts, httpClients.CreateClient(HttpClientName)) { Saved = cursor.Sequence };
        var seq = cursor.Sequence;
        var batch = new List<WebhookEvent>(batchSize);
        while (true)
        {
            var events = await tenant.Graph.ReadEventsAsync(seq, Math.Max(100, batchSize), ct).ConfigureAwait(false);
            if (events.Count == 0)
            {
                Observability.HubMetrics.WebhookBehind(tenant.Name, index, 0);
                return;
            }
            // `seq` moves only past events that were delivered, or that this webhook does not take and that come
            // before anything still undelivered, so a crash or a failure re-sends from the first undelivered event.
            var through = seq;
            foreach (var e in events)
            {
                through = e.Sequence;
                if (e.WebhookName is not { } type || (webhook.Events.Count > 0 && !webhook.Events.Contains(type)))
                {
                    if (batch.Count == 0)
                    {
                        seq = e.Sequence;
                    }
                    continue;
                }
                batch.Add(new WebhookEvent(
                    $"{tenant.Name}-{e.Sequence}", type, tenant.Name, e.Sequence, e.At, e.Person?.ToString(),
                    e.Others.Select(p => p.ToString()).ToArray(), e.Observation?.ToString(),
                    e.Identifiers.Where(id => tiers.Contains(id.Type == IdentifierType.Phone ? DataTier.Private : DataTier.Internal))
                        .Select(id => id.ToString()).ToArray()));
                if (batch.Count == batchSize)
                {
                    if (!await SendAsync(delivery, batch, seq, through, ct).ConfigureAwait(false))
                    {
                        return;
                    }
                    seq = through;
                    batch.Clear();
                }
            }
            if (batch.Count > 0)
            {
                if (!await SendAsync(delivery, batch, seq, through, ct).ConfigureAwait(false))
                {
                    return;
                }
                batch.Clear();
            }
            seq = through;
            if (delivery.Saved != seq)
            {
                // The page ended in events this webhook does not take: remember that they are behind us.
                await tenant.WebhookCursors.SaveWebhookCursorAsync(name, seq, 0, DateTimeOffset.MinValue, null, ct).ConfigureAwait(false);
                delivery.Saved = seq;
            }
        }
    }

    /// <summary>One webhook's delivery state during a pass.</summary>
    private sealed class WebhookDelivery(HubTenant tenant, int index, WebhookOptions webhook, string name, int batchSize, int attempts, HttpClient client)
    {
        public HubTenant Tenant { get; } = tenant;
        public int Index { get; } = index;
        public WebhookOptions Webhook { get; } = webhook;
        public string Name { get; } = name;
        /// <summary>1: each event is its own body; above 1: <c>{"events":[…]}</c> bodies.</summary>
        public int BatchSize { get; } = batchSize;
        public HttpClient Client { get; } = client;
        public int Attempts { get; set; } = attempts;
        /// <summary>The sequence last written to the cursor.</summary>
        public long Saved { get; set; }
    }

    /// <summary>
    /// POSTs one event (batch_size 1) or one <c>{"events":[…]}</c> body and moves the cursor to <paramref name="through"/>
    /// when the receiver acknowledged it, or keeps it at <paramref name="before"/> and schedules the retry when not.
    /// </summary>
    private async Task<bool> SendAsync(WebhookDelivery d, List<WebhookEvent> batch, long before, long through, CancellationToken ct)
    {
        var single = d.BatchSize == 1;
        var body = single
            ? JsonSerializer.SerializeToUtf8Bytes(batch[0])
            : JsonSerializer.SerializeToUtf8Bytes(new WebhookBatch(batch));
        var type = single ? batch[0].Type : BatchEventType;
        var id = single ? batch[0].Id : $"{d.Tenant.Name}-{batch[0].Sequence}-{batch[^1].Sequence}";
        var error = await PostAsync(d.Client, d.Webhook, type, id, body, ct).ConfigureAwait(false);
        if (error is not null)
        {
            Observability.HubMetrics.WebhookBehind(d.Tenant.Name, d.Index, (await d.Tenant.Graph.GetVersionAsync(ct).ConfigureAwait(false)).Events - before);
            d.Attempts++;
            var next = time.GetUtcNow() + Backoff(d.Attempts);
            await d.Tenant.WebhookCursors.SaveWebhookCursorAsync(d.Name, before, d.Attempts, next, error, ct).ConfigureAwait(false);
            LogDeliveryFailed(logger, d.Tenant.Name, d.Index, batch[0].Sequence, d.Attempts, error, next);
            return false;
        }
        d.Attempts = 0;
        // Saved after every acknowledged POST: a crash re-sends at most the one body in flight (at least once).
        await d.Tenant.WebhookCursors.SaveWebhookCursorAsync(d.Name, through, 0, DateTimeOffset.MinValue, null, ct).ConfigureAwait(false);
        d.Saved = through;
        LogDelivered(logger, d.Tenant.Name, d.Index, type, batch.Count, batch[^1].Sequence);
        return true;
    }

    /// <summary>The X-OneId-Event header of a batched delivery; each event in the body still carries its own type.</summary>
    public const string BatchEventType = "batch";

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

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Webhook {Tenant}#{Index}: delivered {Type} ({Count} events, through #{Sequence})")]
    private static partial void LogDelivered(ILogger logger, string tenant, int index, string type, int count, long sequence);

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
