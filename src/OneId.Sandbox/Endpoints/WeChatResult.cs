using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace OneId.Sandbox.Endpoints;

/// <summary>Which envelope an endpoint speaks (§0.1).</summary>
internal enum ApiFlavor
{
    /// <summary>api.weixin.qq.com: successes mostly without errcode, errmsg suffix " rid: …".</summary>
    Official,

    /// <summary>qyapi.weixin.qq.com: errcode 0 + "ok" always, errmsg suffix ", hint: […], from ip: …".</summary>
    WeCom,
}

/// <summary>A WeChat answer: always HTTP 200, JSON body, the errcode kept for the call log.</summary>
internal sealed class WeChatResult(JsonObject body, int errcode, string contentType = WeChatResult.JsonContentType) : IResult
{
    // WeChat's own header (captured): "application/json; encoding=utf-8".
    public const string JsonContentType = "application/json; encoding=utf-8";

    public int Errcode { get; } = errcode;
    public JsonObject Body { get; } = body;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(Body.ToJsonString(SandboxJson.Options));
        await httpContext.Response.Body.WriteAsync(bytes, httpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>OA/MP success where WeChat leaves errcode out (token, sns/*, jscode2session …).</summary>
    public static WeChatResult Bare(JsonObject body) => new(body, 0);

    /// <summary>Success with <c>"errcode":0,"errmsg":"ok"</c> first (getpaidunionid, WeCom …).</summary>
    public static WeChatResult Ok(JsonObject? fields = null)
    {
        var body = new JsonObject { ["errcode"] = 0, ["errmsg"] = "ok" };
        if (fields is not null)
        {
            foreach (var (key, value) in fields.ToList())
            {
                fields.Remove(key);
                body[key] = value;
            }
        }
        return new WeChatResult(body, 0);
    }

    public static WeChatResult Error(ApiFlavor flavor, int errcode, string? message, string callerIp)
    {
        var text = flavor == ApiFlavor.WeCom
            ? WeChatErrors.WithWeComHint(message ?? WeChatErrors.WeComMessage(errcode), errcode, callerIp)
            : WeChatErrors.WithRid(message ?? WeChatErrors.OfficialMessage(errcode));
        return new WeChatResult(new JsonObject { ["errcode"] = errcode, ["errmsg"] = text }, errcode);
    }

    /// <summary>Reads a JSON body: 44002 when empty, 47001 when it is not a JSON object (§0.2).</summary>
    public static async Task<JsonObject> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new WeChatApiException(44002);
        }
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new WeChatApiException(47001);
        }
        catch (JsonException)
        {
            throw new WeChatApiException(47001);
        }
    }
}
