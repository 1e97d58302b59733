using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Web;

namespace OneId.WeChat.Tests.Support;

/// <summary>A scripted in-process WeChat: routes by path, records every call (path, query, body).</summary>
internal sealed class FakeWeChat : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, Func<FakeRequest, FakeResponse>> _routes = new(StringComparer.Ordinal);

    public ConcurrentQueue<FakeRequest> Calls { get; } = new();

    public TimeSpan Latency { get; set; }

    public FakeWeChat On(string path, Func<FakeRequest, FakeResponse> respond)
    {
        _routes[path] = respond;
        return this;
    }

    public FakeWeChat On(string path, string json) => On(path, _ => FakeResponse.Json(json));

    public int CountOf(string path) => Calls.Count(c => c.Path == path);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var path = request.RequestUri!.AbsolutePath.TrimStart('/');
        var call = new FakeRequest(request.Method.Method, path, HttpUtility.ParseQueryString(request.RequestUri.Query), body, request.RequestUri);
        Calls.Enqueue(call);
        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, cancellationToken);
        }
        var response = _routes.TryGetValue(path, out var route) ? route(call) : new FakeResponse(404, "not found", "text/plain");
        return new HttpResponseMessage((HttpStatusCode)response.Status)
        {
            Content = new StringContent(response.Body, Encoding.UTF8, response.ContentType),
        };
    }
}

internal sealed record FakeRequest(string Method, string Path, System.Collections.Specialized.NameValueCollection Query, string Body, Uri Uri);

internal sealed record FakeResponse(int Status, string Body, string ContentType)
{
    public static FakeResponse Json(string json) => new(200, json, "application/json");

    public static FakeResponse Error(int errcode, string errmsg) => Json($"{{\"errcode\":{errcode},\"errmsg\":\"{errmsg} rid: 64b09fbb-56b7faa9-1054a9fe\"}}");
}

/// <summary>A settable clock.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public ManualTimeProvider() : this(new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
