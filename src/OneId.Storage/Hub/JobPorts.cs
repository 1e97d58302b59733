namespace OneId.Storage.Hub;

public enum JobState
{
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// <summary>A durable job (a backfill): what it is, where it stands, and its progress as the job's own JSON.</summary>
public sealed record StoredJob(long Id, string Kind, string AppId, JobState State, string Progress, string? Error,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    /// <summary>What the job works on besides its app (e.g. the old appid of an OA account migration); null for most kinds.</summary>
    public string? Parameter { get; init; }
}

/// <summary>
/// Durable jobs, one active (queued or running) per app at a time. A worker claims a job with a lease and renews it
/// with every progress report; a job whose worker died is claimed again once its lease lapses and resumes from its
/// checkpoint.
/// </summary>
public interface IJobStore
{
    /// <summary>Queues a job; null when a job for <paramref name="appId"/> is already queued or running.</summary>
    Task<StoredJob?> CreateJobAsync(string kind, string appId, CancellationToken ct);

    /// <summary>Queues a job with a <see cref="StoredJob.Parameter"/>; null when a job for <paramref name="appId"/> is already queued or running.</summary>
    Task<StoredJob?> CreateJobAsync(string kind, string appId, string? parameter, CancellationToken ct);

    Task<StoredJob?> GetJobAsync(long id, CancellationToken ct);

    /// <summary>The newest jobs first.</summary>
    Task<IReadOnlyList<StoredJob>> ListJobsAsync(int max, CancellationToken ct);

    /// <summary>Claims the oldest queued job (or a running one whose worker's lease lapsed) for <paramref name="owner"/>, now running.</summary>
    Task<StoredJob?> ClaimJobAsync(string owner, TimeSpan lease, CancellationToken ct);

    /// <summary>Saves progress and renews the lease; false when the claim was lost.</summary>
    Task<bool> ReportJobAsync(long id, string owner, string progress, TimeSpan lease, CancellationToken ct);

    /// <summary>Ends a claimed job as succeeded or failed (with the error).</summary>
    Task<bool> FinishJobAsync(long id, string owner, JobState state, string progress, string? error, CancellationToken ct);

    /// <summary>Gives back a claimed job (the hub is stopping): queued again, to resume from its checkpoint.</summary>
    Task<bool> ReleaseJobAsync(long id, string owner, CancellationToken ct);
}
