using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OneId.Server.Api;

/// <summary>ProblemDetails answers with a title that names the problem and a detail that says what to do. Never a secret.</summary>
public static class Problems
{
    public static ProblemHttpResult BadRequest(string title, string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: title);
    public static ProblemHttpResult Unauthorized(string title, string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: title);
    public static ProblemHttpResult Forbidden(string title, string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: title);
    public static ProblemHttpResult NotFound(string title, string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: title);
    public static ProblemHttpResult Conflict(string title, string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: title);
    public static ProblemHttpResult BadGateway(string title, string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status502BadGateway, title: title);
}
