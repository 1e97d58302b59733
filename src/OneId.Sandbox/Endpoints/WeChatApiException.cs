namespace OneId.Sandbox.Endpoints;

/// <summary>
/// Thrown inside an emulated endpoint to answer with a WeChat error: HTTP 200 and
/// <c>{"errcode":…,"errmsg":…}</c> (docs/wechat-api.md §0.1). The endpoint filter turns it into the OA or WeCom
/// flavour of the envelope.
/// </summary>
internal sealed class WeChatApiException(int errcode, string? message = null) : Exception(message ?? $"errcode {errcode}")
{
    public int Errcode { get; } = errcode;

    /// <summary>An errmsg that replaces the table text (e.g. 40163's "code been used, hints: [ req_id: … ]").</summary>
    public string? CustomMessage { get; } = message;
}
