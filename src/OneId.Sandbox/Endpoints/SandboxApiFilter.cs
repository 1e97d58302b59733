using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OneId.Sandbox.State;

namespace OneId.Sandbox.Endpoints;

/// <summary>
/// Wraps every emulated endpoint: plays injected faults, turns <see cref="WeChatApiException"/> into the WeChat
/// envelope of the flavour, and records the call. An endpoint filter (not middleware) so that the sandbox can be
/// mounted inside another app with <c>MapOneIdSandbox</c>.
/// </summary>
internal sealed class SandboxApiFilter(ApiFlavor flavor) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var runtime = http.RequestServices.GetRequiredService<SandboxRuntime>();
        var path = http.Request.Path.Value ?? "/";
        var callerIp = http.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1";
        object? result;
        if (runtime.Faults.Take(path) is { } fault)
        {
            if (fault.DelayMs is > 0)
            {
                await Task.Delay(fault.DelayMs.Value, http.RequestAborted).ConfigureAwait(false);
            }
            result = fault.Errcode is { } code && code != 0
                ? WeChatResult.Error(flavor, code, null, callerIp)
                : await InvokeNextAsync(context, next, callerIp).ConfigureAwait(false);
        }
        else
        {
            result = await InvokeNextAsync(context, next, callerIp).ConfigureAwait(false);
        }
        var errcode = result is WeChatResult r ? r.Errcode : 0;
        runtime.Calls.Record(new SandboxCall(runtime.Clock.GetUtcNow(), http.Request.Method, path, errcode));
        return result;
    }

    private async ValueTask<object?> InvokeNextAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, string callerIp)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (WeChatApiException ex)
        {
            return WeChatResult.Error(flavor, ex.Errcode, ex.CustomMessage, callerIp);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or System.Text.Json.JsonException)
        {
            // A body of the wrong shape (a number where a string belongs, …): 47001 "data format error" (§0.2).
            return WeChatResult.Error(flavor, 47001, null, callerIp);
        }
    }
}
