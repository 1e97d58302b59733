using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Storage.Hub;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;

namespace OneId.Server.Application;

public static class JobKinds
{
    /// <summary>S12: every follower of an OA, with its unionid (user/get + user/info/batchget).</summary>
    public const string OaFollowersBackfill = "oa_followers_backfill";

    /// <summary>S16: an OA account migration: every openid of the old appid through changeopenid (the job's parameter is the old appid).</summary>
    public const string OaAccountMigration = "oa_account_migration";

    /// <summary>S16: WeCom's id upgrade for a provider app (get_new_external_userid, open_corpid, the finish switch); the job's app is corpid/app.</summary>
    public const string WeComIdUpgrade = "wecom_id_upgrade";

    /// <summary>S17: every existing customer of a WeCom app's members (get_follow_user_list + batch/get_by_user); the job's target is corpid/app.</summary>
    public const string WeComContactsBackfill = "wecom_contacts_backfill";

    public static readonly IReadOnlyList<string> All = [OaFollowersBackfill, OaAccountMigration, WeComIdUpgrade, WeComContactsBackfill];
}

/// <summary>A job's progress, as stored and as answered (snake_case).</summary>
public sealed record JobProgress(
    [property: JsonPropertyName("pages")] int Pages,
    [property: JsonPropertyName("followers")] int Followers,
    [property: JsonPropertyName("new_persons")] int NewPersons,
    [property: JsonPropertyName("merges")] int Merges,
    [property: JsonPropertyName("conflicts")] int Conflicts,
    [property: JsonPropertyName("total")] int? Total)
{
    public static readonly JobProgress None = new(0, 0, 0, 0, 0, null);

    /// <summary>Identifiers a migration replaced (docs/model.md §3.9).</summary>
    [JsonPropertyName("replaced")]
    public int Replaced { get; init; }

    /// <summary>A WeCom customer backfill: members whose customers are all read.</summary>
    [JsonPropertyName("members")]
    public int Members { get; init; }

    /// <summary>A WeCom customer backfill: (customer, member) pairs read.</summary>
    [JsonPropertyName("contacts")]
    public int Contacts { get; init; }

    public static JobProgress Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<JobProgress>(json) ?? None;
        }
        catch (JsonException)
        {
            return None;
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Seconds left at the rate so far, or null while unknown (no total yet, nothing done yet).</summary>
    public double? EtaSeconds(DateTimeOffset? startedAt, DateTimeOffset now)
    {
        // An OA backfill counts followers of user/get's total; a WeCom backfill counts members of get_follow_user_list's.
        var done = Members > 0 ? Members : Followers;
        if (Total is not { } total || startedAt is not { } started || done <= 0)
        {
            return null;
        }
        var elapsed = (now - started).TotalSeconds;
        return elapsed <= 0 ? null : Math.Max(0, Math.Round((total - done) / (done / elapsed), 1));
    }
}

/// <summary>Wakes the job worker when a job was queued.</summary>
public sealed class JobSignal : WorkerSignal;

/// <summary>The trigger "start a backfill job": checks what can be checked at once, then queues the job for the <see cref="JobWorker"/>.</summary>
public sealed class BackfillJobs(ITokenStore tokens, JobSignal signal)
{
    public Task<StoredJob> StartAsync(HubTenant tenant, string? kind, string? appId, CancellationToken cancellationToken) =>
        StartAsync(tenant, new JobRequest(kind, appId, null, null, null), cancellationToken);

    public async Task<StoredJob> StartAsync(HubTenant tenant, JobRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(request);
        var (kind, appId) = (request.Kind, request.AppId);
        if (!JobKinds.All.Contains(kind))
        {
            throw new FlowRefusedException(FlowRefusal.BadInput, "Unknown job kind", $"kind must be one of {string.Join(", ", JobKinds.All.Select(k => $"\"{k}\""))}.");
        }
        if (kind == JobKinds.WeComIdUpgrade)
        {
            return await StartWeComUpgradeAsync(tenant, request, cancellationToken).ConfigureAwait(false);
        }
        if (kind == JobKinds.WeComContactsBackfill)
        {
            return await StartWeComContactsAsync(tenant, request.CorpId, request.App, cancellationToken).ConfigureAwait(false);
        }
        if (string.IsNullOrEmpty(appId) || tenant.FindApp(appId) is not { } app)
        {
            throw new FlowRefusedException(FlowRefusal.NotFound, "Unknown app", $"This key's tenant configures no app '{(appId is { Length: > 40 } ? appId[..40] + "…" : appId)}'; send the appid of one of its official accounts.");
        }
        if (app.Type != AppTypes.OfficialAccount)
        {
            throw new FlowRefusedException(FlowRefusal.BadInput, "Wrong kind of app", $"{appId} is configured as {app.Type}; only official accounts have followers to backfill.");
        }
        // An app that acts through its platform can call user/get only once its admin has authorized the platform
        // (the authorizer_refresh_token arrives with the authorized event): refused now, not as a failed job later.
        await PlatformApps.EnsureAuthorizedAsync(tokens, app, cancellationToken).ConfigureAwait(false);
        string? parameter = null;
        if (kind == JobKinds.OaAccountMigration)
        {
            // changeopenid is called with the NEW account's token and names the old account (docs/wechat-api.md §2.4).
            if (string.IsNullOrEmpty(request.FromAppId) || !Graph.Identifier.TryCreate(Graph.IdentifierType.OpenId, request.FromAppId, "probe0", out _, out _))
            {
                throw new FlowRefusedException(FlowRefusal.BadInput, "Missing from_appid",
                    "An OA account migration needs \"from_appid\": the appid of the old account whose openids the hub holds (wx + 16 lowercase hex); \"appid\" is the new account.");
            }
            if (request.FromAppId == app.AppId)
            {
                throw new FlowRefusedException(FlowRefusal.BadInput, "Same account", "from_appid must be the old account, not the new one (appid).");
            }
            parameter = request.FromAppId;
        }
        var job = await tenant.Jobs.CreateJobAsync(kind!, app.AppId, parameter, cancellationToken).ConfigureAwait(false)
            ?? throw new FlowRefusedException(FlowRefusal.Conflict, "A job is already running",
                $"A job for {appId} is already queued or running; wait for it (GET /v1/jobs) before starting another.");
        signal.Notify();
        return job;
    }

    private async Task<StoredJob> StartWeComContactsAsync(HubTenant tenant, string? corpId, string? corpApp, CancellationToken cancellationToken)
    {
        var corp = tenant.Options.Corps.FirstOrDefault(c => c.CorpId == corpId);
        var app = corp?.Apps.FirstOrDefault(a => a.Name == corpApp);
        if (corp is null || app is null)
        {
            throw new FlowRefusedException(FlowRefusal.NotFound, "Unknown WeCom app",
                $"This key's tenant configures no WeCom app '{Shorten(corpApp)}' in corp '{Shorten(corpId)}'; send {{\"kind\":\"{JobKinds.WeComContactsBackfill}\",\"corpid\":\"ww…\",\"app\":\"<app name>\"}}.");
        }
        var job = await tenant.Jobs.CreateJobAsync(JobKinds.WeComContactsBackfill, ContactTarget(corp, app), null, cancellationToken).ConfigureAwait(false)
            ?? throw new FlowRefusedException(FlowRefusal.Conflict, "A job is already running",
                $"A job for {corp.CorpId}/{app.Name} is already queued or running; wait for it (GET /v1/jobs) before starting another.");
        signal.Notify();
        return job;
    }

    /// <summary>The job target of a WeCom app: corpid/app name (stored where an OA job keeps its appid).</summary>
    public static string ContactTarget(CorpOptions corp, CorpAppOptions app) => $"{corp?.CorpId}/{app?.Name}";

    private static string? Shorten(string? s) => s is { Length: > 40 } ? s[..40] + "…" : s;

    private async Task<StoredJob> StartWeComUpgradeAsync(HubTenant tenant, JobRequest request, CancellationToken ct)
    {
        var corp = tenant.Options.Corps.FirstOrDefault(c => c.CorpId == request.CorpId);
        var app = corp?.Apps.FirstOrDefault(a => a.Name == request.App);
        if (corp is null || app is null)
        {
            throw new FlowRefusedException(FlowRefusal.NotFound, "Unknown WeCom app",
                "A WeCom id upgrade needs \"corpid\" and \"app\" naming a provider app configured in this key's tenant.");
        }
        if (app.Kind != CorpAppKinds.Provider)
        {
            throw new FlowRefusedException(FlowRefusal.BadInput, "Not a provider app", $"{corp.CorpId}/{app.Name} is self-built: it sees plaintext ids, which WeCom's upgrade does not change.");
        }
        if (string.IsNullOrEmpty(app.ProviderCorpId) || string.IsNullOrEmpty(app.ProviderSecret))
        {
            throw new FlowRefusedException(FlowRefusal.BadInput, "Provider credentials missing",
                $"Set provider_corpid and provider_secret on {corp.CorpId}/{app.Name}: the upgrade's provider-level calls (corpid_to_opencorpid, finish_external_userid_migration) need the provider's own token.");
        }
        var job = await tenant.Jobs.CreateJobAsync(JobKinds.WeComIdUpgrade, $"{corp.CorpId}/{app.Name}", null, ct).ConfigureAwait(false)
            ?? throw new FlowRefusedException(FlowRefusal.Conflict, "A job is already running",
                $"A job for {corp.CorpId}/{app.Name} is already queued or running; wait for it (GET /v1/jobs) before starting another.");
        signal.Notify();
        return job;
    }
}

/// <summary>What POST /v1/jobs asks for: an OA job names <c>appid</c> (and <c>from_appid</c> for a migration), a WeCom job <c>corpid</c> and <c>app</c>.</summary>
public sealed record JobRequest(string? Kind, string? AppId, string? FromAppId, string? CorpId, string? App);

/// <summary>
/// Runs queued jobs, one per app at a time (the store allows one active job per app), several apps side by side.
/// Progress is saved after every batch, with the job's lease renewed; a job stopped by a crash resumes from its
/// checkpoint in whichever instance claims it next; a job stopped by WeChat (e.g. the 45009 daily quota) fails
/// with the error, and starting it again resumes from the checkpoint.
/// </summary>
public sealed partial class JobWorker(TenantRegistry tenants, FollowerBackfill backfill, IdMigrations migrations, ContactBackfill contacts, JobSignal signal, TimeProvider time, ILogger<JobWorker> logger) : BackgroundService
{
    private const int MaxParallelJobs = 4;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private readonly string _owner = "jobs-" + Guid.NewGuid().ToString("N")[..12];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await tenants.InitializeAsync(stoppingToken).ConfigureAwait(false);
        var running = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                running.RemoveAll(t => t.IsCompleted);
                foreach (var tenant in tenants.All)
                {
                    while (running.Count < MaxParallelJobs && await tenant.Jobs.ClaimJobAsync(_owner, Lease, stoppingToken).ConfigureAwait(false) is { } job)
                    {
                        running.Add(Task.Run(() => RunAsync(tenant, job, stoppingToken), CancellationToken.None));
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogLoopFailed(logger, e);
            }
            try
            {
                await signal.WaitAsync(Poll, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private async Task RunAsync(HubTenant tenant, StoredJob job, CancellationToken stoppingToken)
    {
        var progress = JobProgress.Parse(job.Progress);
        var gate = new object();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        // The heartbeat keeps the lease while a batch waits on WeChat; progress reports renew it too.
        var heartbeat = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(Heartbeat, time, done.Token).ConfigureAwait(false);
                    string json;
                    lock (gate)
                    {
                        json = progress.ToJson();
                    }
                    await tenant.Jobs.ReportJobAsync(job.Id, _owner, json, Lease, done.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    LogHeartbeatFailed(logger, job.Id, e);
                }
            }
        }, CancellationToken.None);
        JobState state;
        string? error = null;
        try
        {
            LogStarted(logger, tenant.Name, job.Id, job.Kind, job.AppId);
            async Task Migrated(MigrationStep step, CancellationToken ct)
            {
                string json;
                lock (gate)
                {
                    progress = progress with
                    {
                        Pages = progress.Pages + step.Calls, Merges = progress.Merges + step.Merges, Conflicts = progress.Conflicts + step.Conflicts,
                        Replaced = progress.Replaced + step.Replaced, Members = progress.Members + step.Members,
                    };
                    json = progress.ToJson();
                }
                await tenant.Jobs.ReportJobAsync(job.Id, _owner, json, Lease, ct).ConfigureAwait(false);
            }
            if (job.Kind == JobKinds.WeComContactsBackfill)
            {
                var corp = tenant.Options.Corps.FirstOrDefault(c => job.AppId.StartsWith(c.CorpId + "/", StringComparison.Ordinal));
                var corpApp = corp?.Apps.FirstOrDefault(a => BackfillJobs.ContactTarget(corp, a) == job.AppId)
                    ?? throw new InvalidOperationException($"WeCom app {job.AppId} is no longer configured");
                await contacts.RunAsync(tenant, corp!, corpApp, stoppingToken, async (page, ct) =>
                {
                    string json;
                    lock (gate)
                    {
                        progress = progress with
                        {
                            Pages = progress.Pages + 1, Members = progress.Members + page.Members, Contacts = progress.Contacts + page.Contacts,
                            NewPersons = progress.NewPersons + page.NewPersons, Merges = progress.Merges + page.Merges, Conflicts = progress.Conflicts + page.Conflicts,
                            Total = page.TotalMembers,
                        };
                        json = progress.ToJson();
                    }
                    await tenant.Jobs.ReportJobAsync(job.Id, _owner, json, Lease, ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
            else if (job.Kind == JobKinds.WeComIdUpgrade)
            {
                var slash = job.AppId.IndexOf('/', StringComparison.Ordinal);
                var corp = tenant.Options.Corps.FirstOrDefault(c => c.CorpId == job.AppId[..Math.Max(0, slash)]);
                var corpApp = corp?.Apps.FirstOrDefault(a => a.Name == job.AppId[(slash + 1)..])
                    ?? throw new InvalidOperationException($"WeCom app {job.AppId} is no longer configured");
                await migrations.RunWeComIdUpgradeAsync(tenant, corp!, corpApp, Migrated, stoppingToken).ConfigureAwait(false);
            }
            else if (tenant.FindApp(job.AppId) is not { } app)
            {
                throw new InvalidOperationException($"app {job.AppId} is no longer configured");
            }
            else if (job.Kind == JobKinds.OaAccountMigration)
            {
                await migrations.RunOaAccountMigrationAsync(tenant, app, job.Parameter ?? throw new InvalidOperationException("the migration names no old appid"),
                    Migrated, stoppingToken).ConfigureAwait(false);
            }
            else
            {
                await backfill.RunAsync(tenant, app, stoppingToken, async (step, ct) =>
                {
                    string json;
                    lock (gate)
                    {
                        progress = step.Batch is { } b
                            ? progress with
                            {
                                Followers = progress.Followers + b.Followers, NewPersons = progress.NewPersons + b.NewPersons,
                                Merges = progress.Merges + b.Merges, Conflicts = progress.Conflicts + b.Conflicts, Total = step.TotalFollowers,
                            }
                            : progress with { Pages = progress.Pages + 1, Total = step.TotalFollowers };
                        json = progress.ToJson();
                    }
                    await tenant.Jobs.ReportJobAsync(job.Id, _owner, json, Lease, ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
            state = JobState.Succeeded;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await done.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            // Stopping: queued again; the next claim resumes from the checkpoint.
            await tenant.Jobs.ReleaseJobAsync(job.Id, _owner, CancellationToken.None).ConfigureAwait(false);
            return;
        }
        catch (WeChatApiException e)
        {
            state = JobState.Failed;
            error = $"WeChat errcode {e.ErrCode ?? 0}: {e.Message} The checkpoint is kept: start the job again to resume{(e.ErrCode == 45009 ? " once the daily quota resets" : "")}.";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            state = JobState.Failed;
            error = $"{e.GetType().Name}: {e.Message}";
        }
        await done.CancelAsync().ConfigureAwait(false);
        await heartbeat.ConfigureAwait(false);
        string final;
        lock (gate)
        {
            final = progress.ToJson();
        }
        await tenant.Jobs.FinishJobAsync(job.Id, _owner, state, final, error, CancellationToken.None).ConfigureAwait(false);
        LogFinished(logger, tenant.Name, job.Id, state, error ?? "");
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "{Tenant}: job #{Id} ({Kind} {AppId}) started")]
    private static partial void LogStarted(ILogger logger, string tenant, long id, string kind, string appId);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "{Tenant}: job #{Id} {State} {Error}")]
    private static partial void LogFinished(ILogger logger, string tenant, long id, JobState state, string error);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Error, Message = "Job worker pass failed; retrying at the next poll")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "Job #{Id}: heartbeat failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, long id, Exception exception);
}
