using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace OneId.Server.Api;

/// <summary>
/// Turns exceptions into ProblemDetails: unreadable requests are the caller's 400 (never a 500), anything else is a 500
/// whose answer says nothing about the internals (the log has the details, never a secret).
/// </summary>
internal sealed partial class HubExceptionHandler(IProblemDetailsService problems, ILogger<HubExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException e => (e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request too large" : "Bad request", Describe(e)),
            JsonException => (StatusCodes.Status400BadRequest, "Bad request", "The body is not the JSON this endpoint expects."),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Client closed request", ""),
            // An identifier WeChat sent failed the graph's shape checks: WeChat's answer, not the caller's input, is at fault.
            // The database is away (restarting, unreachable, out of connections): the caller should come back shortly.
            System.Data.Common.DbException or TimeoutException => (StatusCodes.Status503ServiceUnavailable, "Database unavailable",
                "The hub's database did not answer; nothing was changed. Try again in a few seconds."),
            FormatException => (StatusCodes.Status502BadGateway, "Unexpected answer from WeChat", "WeChat returned an identifier of an unexpected shape; the operator's log has the details."),
            _ => (StatusCodes.Status500InternalServerError, "Internal error", "The hub failed to handle the request; the operator can find the cause in its log."),
        };
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "5";
            LogDatabaseUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.Message);
        }
        else if (status >= 500)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }

    // The framework's messages name the parameter and what was wrong with it, and carry no secrets; keep the first line.
    private static string Describe(BadHttpRequestException e) =>
        (e.InnerException is JsonException j ? $"{e.Message.Split('\n')[0]} ({j.Message.Split('.')[0]})" : e.Message.Split('\n')[0]).Trim();

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "Database unavailable on {Method} {Path}: {Message}; answered 503")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string method, string path, string message);

    [LoggerMessage(EventId = 1900, Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
