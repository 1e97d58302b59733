using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Server.Api;

/// <summary>Writes operator actions to each tenant's audit log, on the hub's clock.</summary>
public sealed class OperatorAudit(TimeProvider time)
{
    public Task RecordAsync(HubTenant tenant, Caller caller, string action, string? target, int status, string? detail, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(caller);
        return tenant.Audit.AppendAsync(time.GetUtcNow(), caller.KeyId, action, target, status, detail, cancellationToken);
    }

    /// <summary>An endpoint puts a short account of what it did here (e.g. "3 accepted, 1 rejected") for its audit entry.</summary>
    public static void Note(HttpContext http, string detail) => http.Items[typeof(OperatorAudit)] = detail;
}

/// <summary>Records every call of the endpoint in the operator audit log: which key, what, on what, with which outcome.</summary>
internal sealed class AuditedFilter(string action) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context).ConfigureAwait(false);
        var http = context.HttpContext;
        if (http.Items[typeof(Caller)] is Caller caller && http.RequestServices.GetRequiredService<TenantRegistry>().Get(caller.Tenant) is { } tenant)
        {
            var status = StatusOf(result) ?? http.Response.StatusCode;
            var target = string.Join(' ', http.Request.RouteValues.Where(v => v.Key is "id" or "other" or "webhook").Select(v => v.Value?.ToString()));
            if (http.Request.Query.TryGetValue("other", out var other))
            {
                target = $"{target} {other}".Trim();
            }
            var detail = http.Items[typeof(OperatorAudit)] as string;
            // Recorded even when the request was refused: the log answers "who tried what".
            await http.RequestServices.GetRequiredService<OperatorAudit>()
                .RecordAsync(tenant, caller, action, target.Length == 0 ? null : target, status, detail, CancellationToken.None).ConfigureAwait(false);
        }
        return result;
    }

    private static int? StatusOf(object? result) => result switch
    {
        INestedHttpResult nested => StatusOf(nested.Result),
        IStatusCodeHttpResult s => s.StatusCode,
        _ => null,
    };
}

public static class AuditExtensions
{
    /// <summary>Audits the endpoint as <paramref name="action"/>. Add it after RequireApiKey: the key must be known to be named.</summary>
    public static TBuilder Audited<TBuilder>(this TBuilder builder, string action) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new AuditedFilter(action));
}
