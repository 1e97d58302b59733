namespace OneId.Sandbox;

/// <summary>
/// Rate limits and quotas the sandbox enforces (docs/wechat-api.md §1, §4.1, §6.6, §10.5). The defaults are WeChat's;
/// tests lower them to reach a limit in a few calls.
/// </summary>
public sealed class SandboxLimits
{
    /// <summary>cgi-bin/token calls per day for an OA (2000, §1.1).</summary>
    public int OfficialAccountTokenPerDay { get; set; } = 2000;

    /// <summary>cgi-bin/token calls per day for other apps (10,000 for MP, unconfirmed in §1.1).</summary>
    public int OtherAppTokenPerDay { get; set; } = 10_000;

    /// <summary>stable_token calls per minute (10,000) and per day (500,000), §1.2.</summary>
    public int StableTokenPerMinute { get; set; } = 10_000;
    public int StableTokenPerDay { get; set; } = 500_000;

    /// <summary>stable_token force_refresh per day (20, §1.2).</summary>
    public int StableTokenForceRefreshPerDay { get; set; } = 20;

    /// <summary>jscode2session per user per minute (100, §4.1).</summary>
    public int Jscode2SessionPerUserPerMinute { get; set; } = 100;

    /// <summary>sns/oauth2 token exchanges per app per minute (50,000, §3.2).</summary>
    public int SnsOAuthPerMinute { get; set; } = 50_000;

    /// <summary>idconvert/unionid_to_external_userid per corp or provider per hour and per day (§6.6).</summary>
    public int IdConvertPerHour { get; set; } = 100_000;
    public int IdConvertPerDay { get; set; } = 480_000;

    /// <summary>unionid_to_external_userid_3rd per provider per hour (50,000) and per day (240,000), §6.8.</summary>
    public int ThirdPartyIdConvertPerHour { get; set; } = 50_000;
    public int ThirdPartyIdConvertPerDay { get; set; } = 240_000;

    /// <summary>
    /// WeCom's base frequency per corp and API: 10,000 calls a minute and 150,000 an hour (45009 beyond). Benchmarks
    /// raise them.
    /// </summary>
    public int WeComApiPerMinute { get; set; } = 10_000;
    public int WeComApiPerHour { get; set; } = 150_000;

    /// <summary>WeCom gettoken per app per minute before 45009 (WeCom throttles "frequent" calls; the number is ours).</summary>
    public int WeComGetTokenPerMinute { get; set; } = 600;
}
