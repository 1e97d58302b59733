using System.Net.Http.Json;
using System.Text.Json;
using OneId.Sandbox.Hosting;

namespace OneId.Server.Tests;

/// <summary>The tests' one way to drive the sandbox's <c>_sandbox/…</c> control API (users, logins, faults, clock).</summary>
internal static class SandboxCalls
{
    /// <summary>
    /// GET (no body) or POST (a JSON body) a control path, or <paramref name="method"/> when given; answers the JSON
    /// (default for an empty answer). A refused call fails the test with the sandbox's own answer in the message.
    /// </summary>
    public static async Task<JsonElement> CallAsync(this RunningSandbox sandbox, string path, object? body = null, HttpMethod? method = null)
    {
        using var c = new HttpClient { BaseAddress = sandbox.BaseAddress };
        using var request = new HttpRequestMessage(method ?? (body is null ? HttpMethod.Get : HttpMethod.Post), path) { Content = body is null ? null : JsonContent.Create(body) };
        using var r = await c.SendAsync(request);
        var text = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"sandbox {request.Method} {path}: {(int)r.StatusCode} {text}", null, r.StatusCode);
        }
        return string.IsNullOrEmpty(text) ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}
