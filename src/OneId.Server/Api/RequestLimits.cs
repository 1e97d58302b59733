using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace OneId.Server.Api;

/// <summary>
/// Refuses, with ProblemDetails, request targets no endpoint of the hub can want: longer than 8 KiB (414) or with a
/// NUL or other control character in the decoded path (400). Runs first, before routing.
/// </summary>
internal static class RequestLimits
{
    /// <summary>The hub's limit on the request target (path and query).</summary>
    public const int MaxRequestTarget = 8 * 1024;

    /// <summary>Kestrel's own limit, set above the hub's so that Kestrel's empty-bodied 414 is only for absurd lines.</summary>
    public const int KestrelMaxRequestLine = 64 * 1024;

    public static IApplicationBuilder UseRequestLimits(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        if (target.Length > MaxRequestTarget)
        {
            await WriteAsync(http, StatusCodes.Status414UriTooLong, "Request target too long",
                $"Path and query together may be at most {MaxRequestTarget} characters; send long input in a POST body.").ConfigureAwait(false);
            return;
        }
        if ((http.Request.Path.Value ?? "").Any(char.IsControl))
        {
            await WriteAsync(http, StatusCodes.Status400BadRequest, "Invalid path", "The path contains a control character (such as %00); no hub route has one.").ConfigureAwait(false);
            return;
        }
        await next(http).ConfigureAwait(false);
    });

    private static async Task WriteAsync(HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }
}
