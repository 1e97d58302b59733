using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Server.Application;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.Storage.Hub;

namespace OneId.Server.Api;

public sealed record InboxItemView(long Id, string Kind, string Target, string State, int Attempts, DateTimeOffset ReceivedAt,
    DateTimeOffset? NextAttemptAt, string? LastError, DateTimeOffset? FinishedAt)
{
    internal static InboxItemView From(InboxEntry e) => new(e.Id, e.Kind, e.Target, e.State.ToString().ToLowerInvariant(), e.Attempts, e.ReceivedAt,
        e.NextAttemptAt, e.LastError, e.FinishedAt);
}

public sealed record InboxView(long Pending, long Dead, DateTimeOffset? OldestPendingAt, IReadOnlyList<InboxItemView> Items);

/// <summary>The durable inbox as an operator sees it: how much waits, what was given up (dead letters, with their last error), and requeueing.</summary>
public static class InboxApi
{
    public static IEndpointRouteBuilder MapInboxApi(this IEndpointRouteBuilder app)
    {
        var inbox = app.MapGroup("/v1/inbox").WithTags("Inbox").RequireApiKey(admin: true);
        inbox.MapGet("", ListAsync);
        inbox.MapPost("/{id:long}/requeue", RequeueAsync);
        return app;
    }

    internal static async Task<Results<Ok<InboxView>, ProblemHttpResult>> ListAsync(string? state, int? limit, HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        InboxState? filter = state switch
        {
            null or "" => null,
            "pending" => InboxState.Pending,
            "done" => InboxState.Done,
            "dead" => InboxState.Dead,
            _ => (InboxState?)(-1),
        };
        if (filter is (InboxState)(-1))
        {
            return Problems.BadRequest("Unknown state", "state is pending, done or dead (or leave it out for all).");
        }
        var tenant = tenants.Get(http.Caller().Tenant)!;
        var stats = await tenant.Inbox.StatsAsync(ct).ConfigureAwait(false);
        var items = await tenant.Inbox.ListAsync(filter, Math.Clamp(limit ?? 100, 1, 1000), ct).ConfigureAwait(false);
        return TypedResults.Ok(new InboxView(stats.Pending, stats.Dead, stats.OldestPending, items.Select(InboxItemView.From).ToArray()));
    }

    internal static async Task<Results<Accepted, ProblemHttpResult>> RequeueAsync(long id, HttpContext http, TenantRegistry tenants, InboxSignal signal, CancellationToken ct)
    {
        var tenant = tenants.Get(http.Caller().Tenant)!;
        if (!await tenant.Inbox.RequeueAsync(id, ct).ConfigureAwait(false))
        {
            return Problems.Conflict("Not a dead push", $"Push {id} is not in the inbox as dead; only pushes given up on can be requeued.");
        }
        signal.Notify();
        return TypedResults.Accepted((string?)null);
    }
}
