using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Server.Api;

public sealed record ConsoleSignInRequest(string? Key);

public sealed record ConsoleSessionView(string Tenant, IReadOnlyList<string> Tiers, bool Admin, bool Write, string KeyId, DateTimeOffset? ExpiresAt);

/// <summary>
/// The web console: its sign-in (an API key exchanged for an HttpOnly, SameSite=Strict session cookie) and its built
/// files under <c>/console</c>. The console itself calls only the public API.
/// </summary>
public static class ConsoleApi
{
    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder app)
    {
        var session = app.MapGroup("/v1/console").WithTags("Console");
        session.MapPost("/session", SignInAsync);
        session.MapGet("/session", (HttpContext http) => TypedResults.Ok(View(http.Caller(), null))).RequireApiKey();
        session.MapDelete("/session", SignOut);

        var files = ConsoleFiles.Locate();
        // "/console" and "/console/…" both land here (routing ignores a trailing slash); the first is sent to "/console/"
        // so that the page's relative URLs resolve under it.
        app.MapGet("/console/{**path}", (string? path, HttpContext http) =>
            http.Request.Path.Value == "/console" ? TypedResults.Redirect("/console/") : Serve(files, path, http)).ExcludeFromDescription();
        return app;
    }

    private static ConsoleSessionView View(Caller caller, DateTimeOffset? expires) =>
        new(caller.Tenant, caller.Tiers.Order().Select(Tiers.Name).ToArray(), caller.IsAdmin, caller.MayWrite, caller.KeyId, expires);

    internal static async Task<Results<Ok<ConsoleSessionView>, ProblemHttpResult>> SignInAsync(ConsoleSignInRequest? request, HttpContext http, ApiKeys keys,
        ConsoleSessions sessions, TenantRegistry tenants, OperatorAudit audit, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request?.Key))
        {
            return Problems.BadRequest("Missing key", "Send {\"key\":\"oneid.…\"}: an API key (`oneid keys create --admin`, or the one `oneid demo --keep-running` prints).");
        }
        var caller = await keys.AuthenticateAsync(request.Key.Trim(), ct).ConfigureAwait(false);
        if (caller is null)
        {
            return Problems.Unauthorized("API key not recognized", "The key is unknown or revoked.");
        }
        var (value, expires) = sessions.Issue(request.Key.Trim());
        http.Response.Cookies.Append(ConsoleSessions.CookieName, value, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/",
            Expires = expires,
        });
        if (tenants.Get(caller.Tenant) is { } tenant)
        {
            await audit.RecordAsync(tenant, caller, "console.sign_in", null, StatusCodes.Status200OK, null, ct).ConfigureAwait(false);
        }
        return TypedResults.Ok(View(caller, expires));
    }

    internal static NoContent SignOut(HttpContext http)
    {
        http.Response.Cookies.Delete(ConsoleSessions.CookieName, new CookieOptions { Path = "/", SameSite = SameSiteMode.Strict, HttpOnly = true });
        return TypedResults.NoContent();
    }

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    private static IResult Serve(ConsoleFiles files, string? path, HttpContext http)
    {
        if (files.Provider is not { } provider)
        {
            return TypedResults.Content(
                "<!doctype html><meta charset=utf-8><title>OneId console</title><p>The console is not built. Run <code>./oneid</code> (it builds console/ when its sources change) or <code>cd console &amp;&amp; npm ci &amp;&amp; npx vite build</code>.</p>",
                "text/html; charset=utf-8", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        var file = string.IsNullOrEmpty(path) ? null : provider.GetFileInfo(path);
        if (file is not { Exists: true, IsDirectory: false })
        {
            if (path is not null && path.StartsWith("assets/", StringComparison.Ordinal))
            {
                return TypedResults.NotFound();
            }
            // Any other path is a page of the single-page app: its router reads the path.
            file = provider.GetFileInfo("index.html");
            http.Response.Headers.CacheControl = "no-cache";
        }
        else
        {
            // Built assets carry a content hash in their names: they never change under the same URL.
            http.Response.Headers.CacheControl = path!.StartsWith("assets/", StringComparison.Ordinal) ? "public, max-age=31536000, immutable" : "no-cache";
        }
        if (!file.Exists || file.PhysicalPath is null)
        {
            return TypedResults.NotFound();
        }
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
        return TypedResults.PhysicalFile(file.PhysicalPath, ContentTypes.TryGetContentType(file.Name, out var type) ? type : "application/octet-stream");
    }
}

/// <summary>
/// Where the built console is: ONEID_CONSOLE_DIR, else the repository's <c>.build/console</c> found by walking up from
/// the running assembly (the CLI runs from <c>.build/cli</c>, tests from their bin folders).
/// </summary>
public sealed class ConsoleFiles(PhysicalFileProvider? provider)
{
    public PhysicalFileProvider? Provider { get; } = provider;

    public static ConsoleFiles Locate()
    {
        var configured = Environment.GetEnvironmentVariable("ONEID_CONSOLE_DIR");
        if (!string.IsNullOrEmpty(configured))
        {
            return new ConsoleFiles(File.Exists(Path.Combine(configured, "index.html")) ? new PhysicalFileProvider(Path.GetFullPath(configured)) : null);
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".build", "console");
            if (File.Exists(Path.Combine(candidate, "index.html")))
            {
                return new ConsoleFiles(new PhysicalFileProvider(candidate));
            }
        }
        return new ConsoleFiles(null);
    }
}
