using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Storage.Hub;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;

namespace OneId.Server.Application;

/// <summary>Wakes the inbox worker when a push was stored, so that it does not wait for the next poll.</summary>
public sealed class InboxSignal : WorkerSignal;

/// <summary>
/// Works off every tenant's durable inbox: claims due pushes with a lease (so no other hub instance processes them at
/// the same time), hands each to <see cref="PushFlows.ProcessAsync"/>, and marks it done, or schedules a retry with
/// exponential backoff (1 s doubling to 5 min), or after <see cref="InboxOptions.MaxAttempts"/> gives up: the push
/// stays in the inbox, dead, with its last error, and the give-up is logged. A push whose claimer died is claimed
/// again when the lease lapses. Processing is idempotent (observing the same identifiers again changes no person), so
/// a push processed twice after a crash has its effect once.
/// </summary>
public sealed partial class InboxWorker(
    TenantRegistry tenants,
    PushFlows flows,
    InboxSignal signal,
    IOptions<HubOptions> options,
    TimeProvider time,
    ILogger<InboxWorker> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan KeepDone = TimeSpan.FromDays(1);
    private readonly string _owner = "inbox-" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<Task> _running = [];
    private DateTimeOffset _nextPurge = DateTimeOffset.MinValue;

    /// <summary>Backoff after <paramref name="attempts"/> failed attempts: 1 s, 2 s, 4 s … capped at 5 minutes.</summary>
    public static TimeSpan Backoff(int attempts) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Clamp(attempts - 1, 0, 20))));

    private InboxOptions Options => options.Value.Inbox;

    // A claim must outlast an attempt, or another instance could take the push while this one still works on it.
    private TimeSpan Lease => TimeSpan.FromSeconds(Math.Max(1, Options.AttemptTimeoutSeconds) * 2 + 10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await tenants.InitializeAsync(stoppingToken).ConfigureAwait(false);
        var poll = TimeSpan.FromMilliseconds(Math.Max(20, Options.PollMilliseconds));
        var concurrency = Math.Max(1, Options.Concurrency);
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                _running.RemoveAll(t => t.IsCompleted);
                foreach (var tenant in tenants.All)
                {
                    var free = concurrency - _running.Count;
                    if (free <= 0)
                    {
                        break;
                    }
                    var items = await tenant.Inbox.ClaimAsync(_owner, Lease, free, stoppingToken).ConfigureAwait(false);
                    claimed += items.Count;
                    foreach (var item in items)
                    {
                        _running.Add(Task.Run(() => ProcessAsync(tenant, item, stoppingToken), CancellationToken.None));
                    }
                }
                await PurgeAsync(stoppingToken).ConfigureAwait(false);
                await SampleAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The database may be down for a moment: keep the loop alive and try again at the next poll.
                LogLoopFailed(logger, e);
            }
            try
            {
                if (claimed > 0 && _running.Count < concurrency)
                {
                    continue; // more may be waiting
                }
                if (_running.Count >= concurrency)
                {
                    // Every slot is busy: wait for one to free up (or a poll, for the purge).
                    await Task.WhenAny(Task.WhenAny(_running), Task.Delay(poll, time, stoppingToken)).ConfigureAwait(false);
                }
                else
                {
                    await signal.WaitAsync(poll, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await Task.WhenAll(_running).ConfigureAwait(false);
    }

    private async Task ProcessAsync(HubTenant tenant, InboxItem item, CancellationToken stoppingToken)
    {
        var inbox = tenant.Inbox;
        string error;
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            attempt.CancelAfter(TimeSpan.FromSeconds(Math.Max(1, Options.AttemptTimeoutSeconds)));
            var push = flows.OpenFromInbox(item);
            await flows.ProcessAsync(tenant, push, attempt.Token).ConfigureAwait(false);
            await inbox.CompleteAsync(item.Id, _owner, CancellationToken.None).ConfigureAwait(false);
            Observability.HubMetrics.InboxProcessed(tenant.Name, time.GetUtcNow() - item.ReceivedAt);
            LogProcessed(logger, tenant.Name, item.Id, item.Kind, item.Target, item.Attempts);
            return;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: hand the push back at once so that another instance (or the next start) takes it.
            await TryAsync(() => inbox.RetryLaterAsync(item.Id, _owner, time.GetUtcNow(), "hub stopped during processing", CancellationToken.None)).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException)
        {
            error = $"timed out after {Options.AttemptTimeoutSeconds} s";
        }
        catch (WeChatApiException e)
        {
            error = $"WeChat errcode {e.ErrCode ?? 0}: {e.Message}";
        }
        catch (Exception e)
        {
            error = $"{e.GetType().Name}: {e.Message}";
        }
        if (item.Attempts >= Math.Max(1, Options.MaxAttempts))
        {
            await TryAsync(() => inbox.DeadAsync(item.Id, _owner, error, CancellationToken.None)).ConfigureAwait(false);
            LogGaveUp(logger, tenant.Name, item.Id, item.Kind, item.Target, item.Attempts, error);
            return;
        }
        var next = time.GetUtcNow() + Backoff(item.Attempts);
        await TryAsync(() => inbox.RetryLaterAsync(item.Id, _owner, next, error, CancellationToken.None)).ConfigureAwait(false);
        LogRetry(logger, tenant.Name, item.Id, item.Kind, item.Target, item.Attempts, error, next);
    }

    // A failed bookkeeping write leaves the claim to lapse: the push is then claimed again, never lost.
    private async Task TryAsync(Func<Task<bool>> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogBookkeepingFailed(logger, e);
        }
    }

    private DateTimeOffset _nextSample;

    // The inbox gauges (depth, oldest age) are sampled here every few seconds, so that a metrics scrape never queries.
    private async Task SampleAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (now < _nextSample)
        {
            return;
        }
        _nextSample = now + TimeSpan.FromSeconds(5);
        foreach (var tenant in tenants.All)
        {
            var stats = await tenant.Inbox.StatsAsync(ct).ConfigureAwait(false);
            Observability.HubMetrics.InboxState(tenant.Name, stats.Pending, stats.OldestPending is { } oldest ? now - oldest : TimeSpan.Zero);
        }
    }

    private async Task PurgeAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (now < _nextPurge)
        {
            return;
        }
        _nextPurge = now + TimeSpan.FromMinutes(10);
        foreach (var tenant in tenants.All)
        {
            await tenant.Inbox.PurgeDoneAsync(now - KeepDone, ct).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "{Tenant}: push #{Id} ({Kind} {Target}) processed at attempt {Attempt}")]
    private static partial void LogProcessed(ILogger logger, string tenant, long id, string kind, string target, int attempt);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "{Tenant}: push #{Id} ({Kind} {Target}) failed at attempt {Attempt}: {Error}; next attempt at {Next}")]
    private static partial void LogRetry(ILogger logger, string tenant, long id, string kind, string target, int attempt, string error, DateTimeOffset next);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Error, Message = "{Tenant}: gave up on push #{Id} ({Kind} {Target}) after {Attempts} attempts: {Error}. It stays in the inbox as dead; requeue it with POST /v1/inbox/{Id}/requeue")]
    private static partial void LogGaveUp(ILogger logger, string tenant, long id, string kind, string target, int attempts, string error);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Error, Message = "Inbox worker pass failed; retrying at the next poll")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "Inbox bookkeeping write failed; the claim will lapse and the push be claimed again")]
    private static partial void LogBookkeepingFailed(ILogger logger, Exception exception);
}
