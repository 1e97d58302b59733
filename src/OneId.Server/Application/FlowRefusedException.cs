namespace OneId.Server.Application;

/// <summary>Why a flow refused: the endpoints translate each into its HTTP status.</summary>
public enum FlowRefusal
{
    /// <summary>The caller's input cannot be used (400).</summary>
    BadInput,
    /// <summary>The caller may not do this, or the data belongs to someone else (403).</summary>
    Forbidden,
    /// <summary>What the caller names does not exist (404).</summary>
    NotFound,
    /// <summary>The request conflicts with the current state (409).</summary>
    Conflict,
    /// <summary>WeChat answered something the hub cannot use (502).</summary>
    BadUpstream,
}

/// <summary>A flow declined the operation; <see cref="Exception.Message"/> is the title, <see cref="Detail"/> says what to do. Never holds a secret.</summary>
public sealed class FlowRefusedException(FlowRefusal refusal, string title, string detail) : Exception(title)
{
    public FlowRefusal Refusal { get; } = refusal;
    public string Detail { get; } = detail;
}
