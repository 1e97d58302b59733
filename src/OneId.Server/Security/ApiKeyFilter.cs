using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OneId.Server.Api;

namespace OneId.Server.Security;

/// <summary>
/// Requires <c>Authorization: Bearer &lt;API key&gt;</c>: 401 without a valid (unrevoked) key, 403 when the endpoint needs a
/// permission the key lacks. The caller is then available to the endpoint through <see cref="CallerExtensions.Caller"/>.
/// </summary>
public sealed class ApiKeyFilter(KeyPermission permission) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.Unauthorized("API key required", "Send the key as 'Authorization: Bearer <key>'. An admin creates keys with POST /v1/keys or `oneid keys create`.");
        }
        var keys = http.RequestServices.GetRequiredService<ApiKeys>();
        var caller = await keys.AuthenticateAsync(header["Bearer ".Length..].Trim(), http.RequestAborted).ConfigureAwait(false);
        if (caller is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Problems.Unauthorized("API key not recognized", "The key is unknown or revoked. Check for copy/paste truncation, or ask an admin for a new key.");
        }
        if (permission == KeyPermission.Admin && !caller.IsAdmin)
        {
            return Problems.Forbidden("Admin key required", "This operation retracts, erases or manages keys; use a key with the 'admin' permission.");
        }
        if (permission == KeyPermission.Write && !caller.MayWrite)
        {
            return Problems.Forbidden("Write permission required", "Adding observations needs a key with the 'write' (or 'admin') permission.");
        }
        http.Items[typeof(Caller)] = caller;
        return await next(context).ConfigureAwait(false);
    }
}

public static class CallerExtensions
{
    public static Caller Caller(this HttpContext http) =>
        http?.Items[typeof(Caller)] as Caller ?? throw new InvalidOperationException("endpoint is missing RequireApiKey()");

    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder, bool admin = false) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new ApiKeyFilter(admin ? KeyPermission.Admin : KeyPermission.Read));

    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder, KeyPermission permission) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new ApiKeyFilter(permission));
}
