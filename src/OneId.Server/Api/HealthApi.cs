using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Server.Tenants;

namespace OneId.Server.Api;

public sealed record ReadyView(string Status, IReadOnlyList<string> Tenants);

/// <summary>
/// <c>/healthz</c> is liveness: the process answers (a load balancer restarts it when it does not). <c>/readyz</c> is
/// readiness: every tenant's store answers a read within 2 s; 503 with Retry-After when not, so that a load balancer
/// sends traffic elsewhere while the database is away.
/// </summary>
public static class HealthApi
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", (TenantRegistry tenants) => TypedResults.Ok(new HealthView("ok", tenants.All.Select(t => t.Name).ToArray()))).WithTags("Health");
        app.MapGet("/readyz", ReadyAsync).WithTags("Health");
        return app;
    }

    internal static async Task<Results<Ok<ReadyView>, ProblemHttpResult>> ReadyAsync(HttpContext http, TenantRegistry tenants, CancellationToken ct)
    {
        foreach (var tenant in tenants.All)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(ReadTimeout);
            try
            {
                await tenant.Graph.GetVersionAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or OperationCanceledException or TimeoutException or InvalidOperationException)
            {
                http.Response.Headers.RetryAfter = "5";
                return TypedResults.Problem($"The database of tenant {tenant.Name} did not answer a read within {ReadTimeout.TotalSeconds:0} s.",
                    statusCode: StatusCodes.Status503ServiceUnavailable, title: "Store unavailable");
            }
        }
        return TypedResults.Ok(new ReadyView("ready", tenants.All.Select(t => t.Name).ToArray()));
    }
}
