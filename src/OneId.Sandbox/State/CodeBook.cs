using System.Collections.Concurrent;
using System.Security.Cryptography;
using OneId.Sandbox.Endpoints;

namespace OneId.Sandbox.State;

internal enum CodeKind
{
    /// <summary>wx.login js_code (§4.1): 5 min.</summary>
    JsCode,

    /// <summary>OA web authorization code (§3.1): 5 min; website/mobile codes: 10 min (§3.6, §3.7).</summary>
    OAuth,

    /// <summary>getPhoneNumber code (§4.6): 5 min.</summary>
    Phone,

    /// <summary>pre_auth_code (§5.3): 1800 s.</summary>
    PreAuth,

    /// <summary>Component authorization_code (§5.4).</summary>
    ComponentAuthorization,
}

/// <summary>A code handed to a user's client, exchanged once by a server.</summary>
internal sealed class CodeGrant
{
    public required string Code { get; init; }
    public required CodeKind Kind { get; init; }
    public required string Appid { get; init; }
    public string? User { get; init; }
    public string? Scope { get; init; }
    public bool Snapshot { get; init; }
    public string? ComponentAppid { get; init; }
    public string? Phone { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public int Used;
}

/// <summary>
/// Single-use codes with expiry (docs/wechat-api.md §10.2). Reuse answers 40163 "code been used"; an unknown code or a
/// code of another app answers 40029; an expired code also answers 40029, since §3.2 says that is what WeChat does
/// in practice, although 42003 exists.
/// </summary>
internal sealed class CodeBook(SandboxClock clock)
{
    private readonly ConcurrentDictionary<string, CodeGrant> _codes = new(StringComparer.Ordinal);
    private long _issued;

    public CodeGrant Issue(CodeKind kind, string appid, TimeSpan lifetime, string? user = null, string? scope = null,
        bool snapshot = false, string? componentAppid = null, string? phone = null)
    {
        var grant = new CodeGrant
        {
            Code = NewCode(kind),
            Kind = kind,
            Appid = appid,
            User = user,
            Scope = scope,
            Snapshot = snapshot,
            ComponentAppid = componentAppid,
            Phone = phone,
            ExpiresAt = clock.GetUtcNow() + lifetime,
        };
        _codes[grant.Code] = grant;
        if (Interlocked.Increment(ref _issued) % 50_000 == 0)
        {
            // Forget codes expired for an hour: they would answer 40029 either way.
            var cutoff = clock.GetUtcNow() - TimeSpan.FromHours(1);
            foreach (var (code, old) in _codes)
            {
                if (old.ExpiresAt < cutoff)
                {
                    _codes.TryRemove(code, out _);
                }
            }
        }
        return grant;
    }

    /// <summary>Looks at a code without spending it.</summary>
    public CodeGrant? Peek(string code) => _codes.GetValueOrDefault(code);

    /// <summary>Redeems a code once; throws the WeChat error otherwise.</summary>
    public CodeGrant Redeem(string? code, CodeKind kind, string appid, int missingErrcode = 41008,
        int invalidErrcode = 40029, int expiredErrcode = 40029, int usedErrcode = 40163)
    {
        if (string.IsNullOrEmpty(code))
        {
            throw new WeChatApiException(missingErrcode);
        }
        if (!_codes.TryGetValue(code, out var grant) || grant.Kind != kind || grant.Appid != appid)
        {
            throw new WeChatApiException(invalidErrcode);
        }
        if (grant.ExpiresAt <= clock.GetUtcNow())
        {
            throw new WeChatApiException(expiredErrcode);
        }
        if (Interlocked.Exchange(ref grant.Used, 1) == 1)
        {
            if (usedErrcode != 40163)
            {
                throw new WeChatApiException(usedErrcode);
            }
            // §4.1: "code been used, hints: [ req_id: … ]".
            throw new WeChatApiException(40163, $"code been used, hints: [ req_id: {Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))} ]");
        }
        return grant;
    }

    private static string NewCode(CodeKind kind)
    {
        var random = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', 'A').Replace('/', 'B').TrimEnd('=');
        return kind switch
        {
            CodeKind.PreAuth => "preauthcode@@@" + random,
            CodeKind.ComponentAuthorization => "queryauthcode@@@" + random,
            _ => "0" + random[..31],
        };
    }
}
