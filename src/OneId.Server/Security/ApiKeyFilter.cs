using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OneId.Server.Api;

namespace OneId.Server.Security;

/// <summary>
/// Requires <c>Authorization: Bearer &lt;API key&gt;</c> or the console's session cookie: 401 without a valid key, 403
/// when the endpoint needs a permission the key lacks. A write through the cookie must also carry the console's
/// header: a cross-site form cannot set it, so the cookie alone never changes anything (with SameSite=Strict, the
/// browser does not even send it cross-site). The caller is then available through <see cref="CallerExtensions.Caller"/>.
/// </summary>
public sealed class ApiKeyFilter(KeyPermission permission) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var keys = http.RequestServices.GetRequiredService<ApiKeys>();
        var header = http.Request.Headers.Authorization.ToString();
        Caller? caller;
        if (string.IsNullOrEmpty(header) && http.Request.Cookies.TryGetValue(ConsoleSessions.CookieName, out var cookie))
        {
            var key = http.RequestServices.GetRequiredService<ConsoleSessions>().KeyOf(cookie);
            caller = key is null ? null : await keys.AuthenticateAsync(key, http.RequestAborted).ConfigureAwait(false);
            if (caller is null)
            {
                return Problems.Unauthorized("Session expired", "The console session is expired or its key was revoked; sign in again.");
            }
            if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
                && http.Request.Headers[ConsoleSessions.CsrfHeader] != "1")
            {
                return Problems.Forbidden("Console header missing", $"Changes made with the console's session cookie must carry the header {ConsoleSessions.CsrfHeader}: 1.");
            }
            caller = caller with { ViaConsole = true };
        }
        else
        {
            if (string.IsNullOrEmpty(header) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Problems.Unauthorized("API key required", "Send the key as 'Authorization: Bearer <key>'. An admin creates keys with POST /v1/keys or `oneid keys create`.");
            }
            caller = await keys.AuthenticateAsync(header["Bearer ".Length..].Trim(), http.RequestAborted).ConfigureAwait(false);
            if (caller is null)
            {
                http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                return Problems.Unauthorized("API key not recognized", "The key is unknown or revoked. Check for copy/paste truncation, or ask an admin for a new key.");
            }
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
