using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Tenants;
using OneId.WeChat.Http;

namespace OneId.Server.Application;

/// <summary>Wakes the follow-up worker when the graph changed.</summary>
public sealed class FollowUpSignal : WorkerSignal;

/// <summary>
/// Follow-ups as a worker over each tenant's graph event log, never inside a login or callback request: after every
/// event that created, linked or merged a person, the person gets what it now lacks from WeChat: the WeCom provider
/// ids of its unionid (<see cref="ProviderConversions"/>) and the corp's plaintext id of a provider id (<see cref="SelfBuiltLinks"/>);
/// after every identifier replacement, the relationships of the old identifier move to its successor
/// (<see cref="RelationshipRecorder.FollowReplacementAsync"/>). The position in the log is a checkpoint in the
/// database, held by one hub instance at a time through a lease; a transient WeChat failure keeps the checkpoint
/// and retries with exponential backoff (1 s doubling to 5 min); after <see cref="MaxAttempts"/> the event is skipped
/// and the give-up logged.
/// </summary>
public sealed partial class FollowUpWorker(TenantRegistry tenants, ProviderConversions conversions, SelfBuiltLinks links, RelationshipRecorder relationships,
    FollowUpSignal signal, TimeProvider time, ILogger<FollowUpWorker> logger) : BackgroundService
{
    /// <summary>The checkpoint's name (it lives beside the webhooks' cursors: both are positions in the event log).</summary>
    public const string CheckpointName = "followup:provider-conversions";

    public const int MaxAttempts = 10;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a woken worker waits for more writes before its pass: follow-ups come this much later at most.</summary>
    private static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(100);
    private readonly string _owner = "followup-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>When this instance last took or renewed each tenant's lease (it holds it for <see cref="Lease"/> from then).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _leasedAt = new(StringComparer.Ordinal);

    /// <summary>How far behind the event log the follow-ups are, per tenant (events not yet followed up).</summary>
    public static System.Collections.Concurrent.ConcurrentDictionary<string, long> Lag { get; } = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await tenants.InitializeAsync(stoppingToken).ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            // Every tenant: any of them can replace identifiers (an import line, an OA account migration).
            foreach (var tenant in tenants.All)
            {
                try
                {
                    await PassAsync(tenant, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    LogPassFailed(logger, tenant.Name, e);
                }
            }
            try
            {
                if (await signal.WaitAsync(Poll, stoppingToken).ConfigureAwait(false))
                {
                    // Woken by a graph write: let the writes right behind it land first, so that a login burst is
                    // followed up in one pass per window (its reads and its cursor write) instead of one per group
                    // commit, each queuing at the store's write gate with the logins themselves.
                    await Task.Delay(Coalesce, time, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        foreach (var tenant in tenants.All)
        {
            try
            {
                await tenant.WebhookCursors.ReleaseWebhookLeasesAsync(_owner, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or ObjectDisposedException or InvalidOperationException)
            {
                // the lease lapses by itself
            }
        }
    }

    /// <summary>How often the instance holding the lease looks for pending_ids whose 90 days are over.</summary>
    private static readonly TimeSpan PendingSweep = TimeSpan.FromSeconds(30);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _lastSweep = new(StringComparer.Ordinal);

    /// <summary>
    /// pending_ids live 90 days (docs/wechat-api.md §6.6): once one is over, its person is converted again, and a
    /// re-issued pending_id replaces the old one (<see cref="ProviderConversions.RefreshDueAsync"/>). A WeChat failure
    /// is logged and the sweep tried again later; it never holds up the event follow-ups.
    /// </summary>
    private async Task RefreshPendingIdsAsync(HubTenant tenant, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_lastSweep.TryGetValue(tenant.Name, out var last) && now - last < PendingSweep && now >= last)
        {
            return;
        }
        _lastSweep[tenant.Name] = now;
        try
        {
            await conversions.RefreshDueAsync(tenant, ct).ConfigureAwait(false);
        }
        catch (WeChatApiException failure)
        {
            LogRefreshFailed(logger, tenant.Name, failure.ErrCode ?? 0, failure.Message);
        }
    }

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "{Tenant}: pending_id refresh failed (errcode {ErrCode}: {Message}); tried again at the next sweep")]
    private static partial void LogRefreshFailed(ILogger logger, string tenant, int errCode, string message);

    /// <summary>Backoff after <paramref name="attempts"/> failures: 1 s, 2 s, 4 s … capped at 5 minutes.</summary>
    public static TimeSpan Backoff(int attempts) => TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, Math.Clamp(attempts - 1, 0, 20))));

    private async Task PassAsync(HubTenant tenant, CancellationToken ct)
    {
        var cursors = tenant.WebhookCursors;
        // A pass follows every graph write (a login burst wakes it per group commit): while this instance holds a
        // lease taken less than a third of its length ago, nobody else can hold it, and renewing it would be two
        // more writes queuing with the logins' own.
        var leasedAt = time.GetUtcNow();
        if (_leasedAt.TryGetValue(tenant.Name, out var held) && leasedAt >= held && leasedAt - held < Lease / 3)
        {
            leasedAt = held;
        }
        else if (await cursors.TryLeaseWebhookAsync(CheckpointName, _owner, leasedAt + Lease, ct).ConfigureAwait(false))
        {
            _leasedAt[tenant.Name] = leasedAt;
        }
        else
        {
            _leasedAt.TryRemove(tenant.Name, out _);
            return; // another instance follows up now
        }
        var wecomFollowUps = ProviderConversions.Applies(tenant.Options) || SelfBuiltLinks.Applies(tenant.Options);
        if (ProviderConversions.Applies(tenant.Options))
        {
            await RefreshPendingIdsAsync(tenant, ct).ConfigureAwait(false);
        }
        var cursor = await cursors.GetWebhookCursorAsync(CheckpointName, ct).ConfigureAwait(false);
        if (cursor.NextAttemptAt > time.GetUtcNow())
        {
            return;
        }
        var seq = cursor.Sequence;
        var attempts = cursor.Attempts;
        while (true)
        {
            var events = await tenant.Graph.ReadEventsAsync(seq, 100, ct).ConfigureAwait(false);
            if (events.Count == 0)
            {
                Lag[tenant.Name] = 0;
                return;
            }
            foreach (var e in events)
            {
                if (time.GetUtcNow() - leasedAt > Lease / 3)
                {
                    leasedAt = time.GetUtcNow();
                    if (!await cursors.TryLeaseWebhookAsync(CheckpointName, _owner, leasedAt + Lease, ct).ConfigureAwait(false))
                    {
                        _leasedAt.TryRemove(tenant.Name, out _);
                        return;
                    }
                    _leasedAt[tenant.Name] = leasedAt;
                }
                if (e.Kind == GraphEventKind.IdentifierReplaced)
                {
                    // Store writes only, no WeChat: a failure fails the pass, which starts again from the checkpoint.
                    await relationships.FollowReplacementAsync(tenant, e, ct).ConfigureAwait(false);
                }
                else if (wecomFollowUps && e.Kind is GraphEventKind.Created or GraphEventKind.Linked or GraphEventKind.Merged && e.Person is { } id
                    && await tenant.Graph.GetAsync(id, ct).ConfigureAwait(false) is { } person)
                {
                    try
                    {
                        await conversions.ConvertMissingAsync(tenant, person, ct).ConfigureAwait(false);
                        await links.LinkMissingAsync(tenant, person, ct).ConfigureAwait(false);
                    }
                    catch (WeChatApiException failure)
                    {
                        attempts++;
                        if (attempts < MaxAttempts)
                        {
                            var next = time.GetUtcNow() + Backoff(attempts);
                            await cursors.SaveWebhookCursorAsync(CheckpointName, seq, attempts, next, failure.Message, ct).ConfigureAwait(false);
                            LogRetry(logger, tenant.Name, e.Sequence, attempts, failure.ErrCode ?? 0, failure.Message, next);
                            return;
                        }
                        LogGaveUp(logger, tenant.Name, e.Sequence, attempts, failure.ErrCode ?? 0, failure.Message);
                    }
                }
                seq = e.Sequence;
                attempts = 0;
            }
            await cursors.SaveWebhookCursorAsync(CheckpointName, seq, 0, DateTimeOffset.MinValue, null, ct).ConfigureAwait(false);
            Lag[tenant.Name] = Math.Max(0, (await tenant.Graph.GetVersionAsync(ct).ConfigureAwait(false)).Events - seq);
        }
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "{Tenant}: follow-up of event #{Sequence} failed (attempt {Attempt}, errcode {ErrCode}: {Message}); next try at {Next}")]
    private static partial void LogRetry(ILogger logger, string tenant, long sequence, int attempt, int errCode, string message, DateTimeOffset next);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Error, Message = "{Tenant}: gave up following up event #{Sequence} after {Attempts} attempts (errcode {ErrCode}: {Message}); the next event that touches the person tries again")]
    private static partial void LogGaveUp(ILogger logger, string tenant, long sequence, int attempts, int errCode, string message);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Error, Message = "{Tenant}: follow-up pass failed; retrying at the next poll")]
    private static partial void LogPassFailed(ILogger logger, string tenant, Exception exception);
}
