using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Server.Application;
using OneId.Server.Flows;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.Storage.Hub;

namespace OneId.Server.Api;

/// <summary>
/// <c>{"kind","appid"}</c>; an OA account migration adds <c>from_appid</c> (the old account); a WeCom id upgrade names
/// <c>corpid</c> and <c>app</c> instead of <c>appid</c>.
/// </summary>
public sealed record StartJobRequest(string? Kind, string? Appid, string? FromAppid = null, string? Corpid = null, string? App = null);

public sealed record JobProgressView(int Pages, int Followers, int NewPersons, int Merges, int Conflicts, int Replaced);

/// <summary>A job as the API answers it; <c>eta_seconds</c> is null while unknown.</summary>
public sealed record JobView(long Id, string Kind, string Appid, string State, JobProgressView Progress, double? EtaSeconds, string? Error,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    internal static JobView From(StoredJob job, DateTimeOffset now)
    {
        var p = JobProgress.Parse(job.Progress);
        return new JobView(job.Id, job.Kind, job.AppId, job.State.ToString().ToLowerInvariant(),
            new JobProgressView(p.Pages, p.Followers, p.NewPersons, p.Merges, p.Conflicts, p.Replaced),
            job.State == JobState.Running ? p.EtaSeconds(job.StartedAt, now) : null, job.Error, job.CreatedAt, job.StartedAt, job.FinishedAt);
    }
}

/// <summary>Durable jobs (backfills): start one, follow its progress. Admin keys only.</summary>
public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/v1/jobs").WithTags("Jobs").RequireApiKey(admin: true).AddEndpointFilter<FlowErrorFilter>();
        jobs.MapPost("", StartAsync);
        jobs.MapGet("", ListAsync);
        jobs.MapGet("/{id}", GetAsync);
        return app;
    }

    internal static async Task<Results<Accepted<JobView>, ProblemHttpResult>> StartAsync(StartJobRequest? request, HttpContext http, TenantRegistry tenants,
        BackfillJobs jobs, TimeProvider time, CancellationToken ct)
    {
        if (request is null)
        {
            return Problems.BadRequest("Missing body", $"Send {{\"kind\":\"{JobKinds.OaFollowersBackfill}\",\"appid\":\"wx…\"}}.");
        }
        var job = await jobs.StartAsync(tenants.Get(http.Caller().Tenant)!, new JobRequest(request.Kind, request.Appid, request.FromAppid, request.Corpid, request.App), ct).ConfigureAwait(false);
        return TypedResults.Accepted($"/v1/jobs/{job.Id}", JobView.From(job, time.GetUtcNow()));
    }

    internal static async Task<Ok<JobView[]>> ListAsync(int? limit, HttpContext http, TenantRegistry tenants, TimeProvider time, CancellationToken ct)
    {
        var list = await tenants.Get(http.Caller().Tenant)!.Jobs.ListJobsAsync(Math.Clamp(limit ?? 100, 1, 1000), ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        return TypedResults.Ok(list.Select(j => JobView.From(j, now)).ToArray());
    }

    internal static async Task<Results<Ok<JobView>, ProblemHttpResult>> GetAsync(string id, HttpContext http, TenantRegistry tenants, TimeProvider time, CancellationToken ct)
    {
        if (!long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var jobId))
        {
            return Problems.BadRequest("Malformed job id", "Job ids are positive integers, as answered by POST /v1/jobs.");
        }
        return await tenants.Get(http.Caller().Tenant)!.Jobs.GetJobAsync(jobId, ct).ConfigureAwait(false) is { } job
            ? TypedResults.Ok(JobView.From(job, time.GetUtcNow()))
            : Problems.NotFound("Unknown job", $"No job {jobId} in this key's tenant.");
    }
}
