using System.Diagnostics.Metrics;

namespace OneId.WeChat.Http;

/// <summary>
/// The WeChat client's own meter: every API call by endpoint and outcome, so an operator sees which API is failing
/// and with which errcode (45009 quota, 40001 token, -1 busy …) before users do.
/// </summary>
public static class WeChatMetrics
{
    public const string MeterName = "OneId.WeChat";

    private static readonly Meter Meter = new(MeterName);

    /// <summary><c>api</c> is the path (cgi-bin/user/info); <c>errcode</c> is WeChat's errcode, 0 for success, or "http" / "transport" / "timeout".</summary>
    public static readonly Counter<long> Calls = Meter.CreateCounter<long>("oneid.wechat.calls", "{call}", "WeChat API calls by api and errcode");

    internal static void Record(string api, string errcode) =>
        Calls.Add(1, new KeyValuePair<string, object?>("api", api), new KeyValuePair<string, object?>("errcode", errcode));
}
