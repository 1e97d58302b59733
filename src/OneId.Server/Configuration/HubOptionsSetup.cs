using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using OneId.Graph;

namespace OneId.Server.Configuration;

/// <summary>Replaces <c>env:NAME</c> values with the environment variable NAME, so that secrets need not sit in the file.</summary>
internal sealed class HubOptionsSecrets : IPostConfigureOptions<HubOptions>
{
    public void PostConfigure(string? name, HubOptions options)
    {
        options.DataKey = Resolve(options.DataKey, "data_key", options);
        options.BootstrapKey = Resolve(options.BootstrapKey, "bootstrap_key", options);
        options.Database = Resolve(options.Database, "database", options) ?? "";
        for (var t = 0; t < options.Tenants.Count; t++)
        {
            var tenant = options.Tenants[t];
            for (var i = 0; i < tenant.Apps.Count; i++)
            {
                ResolveConsole(tenant.Apps[i], $"tenants[{t}].apps[{i}]", options);
            }
            for (var c = 0; c < tenant.Corps.Count; c++)
            {
                for (var i = 0; i < tenant.Corps[c].Apps.Count; i++)
                {
                    ResolveConsole(tenant.Corps[c].Apps[i], $"tenants[{t}].corps[{c}].apps[{i}]", options);
                    tenant.Corps[c].Apps[i].ProviderSecret = Resolve(tenant.Corps[c].Apps[i].ProviderSecret, $"tenants[{t}].corps[{c}].apps[{i}].provider_secret", options);
                }
            }
            for (var i = 0; i < tenant.Components.Count; i++)
            {
                ResolveConsole(tenant.Components[i], $"tenants[{t}].components[{i}]", options);
            }
            for (var i = 0; i < tenant.Webhooks.Count; i++)
            {
                tenant.Webhooks[i].Secret = Resolve(tenant.Webhooks[i].Secret, $"tenants[{t}].webhooks[{i}].secret", options) ?? "";
            }
        }
    }

    private static void ResolveConsole(WeChatConsoleOptions a, string path, HubOptions options)
    {
        a.Secret = Resolve(a.Secret, path + ".secret", options);
        a.Token = Resolve(a.Token, path + ".token", options);
        a.AesKey = Resolve(a.AesKey, path + ".aes_key", options);
    }

    private static string? Resolve(string? value, string field, HubOptions options)
    {
        if (value is null || !value.StartsWith("env:", StringComparison.Ordinal))
        {
            return value;
        }
        var variable = value[4..];
        var resolved = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(resolved))
        {
            options.UnresolvedSecrets.Add($"{field}: environment variable {variable} is not set; export it or put the value in the file");
            return null;
        }
        return resolved;
    }
}

/// <summary>
/// Checks the configuration at start-up. Each failure names the field (as written in oneid.json) and says how to fix it,
/// so that a wrong appid or a missing secret stops the hub before WeChat ever answers 40013 or 40125.
/// </summary>
internal sealed partial class HubOptionsValidator : IValidateOptions<HubOptions>
{
    [GeneratedRegex("^wx[0-9a-f]{16}$")] private static partial Regex AppIdShape();
    [GeneratedRegex("^[a-z][a-z0-9_]{0,40}$")] private static partial Regex TenantShape();
    [GeneratedRegex("^[A-Za-z0-9]{43}$")] private static partial Regex AesKeyShape();
    [GeneratedRegex("^[A-Za-z0-9_-]{4,64}$")] private static partial Regex CorpIdShape();
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")] private static partial Regex NameShape();

    public ValidateOptionsResult Validate(string? name, HubOptions o)
    {
        var errors = new List<string>(o.UnresolvedSecrets);
        if (string.IsNullOrWhiteSpace(o.Database))
        {
            errors.Add("database: is empty; give a SQLite file path (oneid.db) or a PostgreSQL connection string (Host=…;Database=…) with --db or ONEID_DATABASE");
        }
        if (o.PublicUrl is { Length: > 0 } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
        {
            errors.Add($"public_url: '{url}' is not an absolute http(s) URL; write the address WeChat and browsers reach the hub at, e.g. https://id.example.com");
        }
        if (o.DataKey is { Length: > 0 } key && !IsDataKey(key))
        {
            errors.Add("data_key: must be 32 random bytes in base64; generate one with `openssl rand -base64 32` and set ONEID_DATA_KEY");
        }
        foreach (var (origin, i) in o.ReturnToOrigins.Select((x, i) => (x, i)))
        {
            if (!OneId.Server.Security.ReturnTarget.IsOrigin(origin))
            {
                errors.Add($"return_to_origins[{i}]: '{origin}' is not an origin; write scheme and host (and port) only, e.g. https://shop.example.com");
            }
        }
        if (o.CallbackWindowSeconds is < 10 or > 86_400)
        {
            errors.Add($"callback_window_seconds: {o.CallbackWindowSeconds} is out of range; use 10 to 86400 (WeChat retries within about 15 s; the default is 300)");
        }
        if (o.SessionMinutes is < 1 or > 60 * 24 * 90)
        {
            errors.Add($"session_minutes: {o.SessionMinutes} is out of range; use 1 to 129600 (90 days)");
        }
        if (o.Tenants.Count == 0)
        {
            errors.Add("tenants: none configured; add at least one tenant, e.g. {\"name\":\"acme\",\"union_spaces\":[\"acme\"],\"apps\":[…]}");
        }
        if (o.BootstrapTenant is { Length: > 0 } bt && o.Tenants.All(t => t.Name != bt))
        {
            errors.Add($"bootstrap_tenant: '{bt}' is not a configured tenant; use one of {string.Join(", ", o.Tenants.Select(t => t.Name))}");
        }
        CheckUrl(errors, "wechat.api_base_url", o.WeChat.ApiBaseUrl);
        CheckUrl(errors, "wechat.wecom_base_url", o.WeChat.WeComBaseUrl);
        CheckUrl(errors, "wechat.open_base_url", o.WeChat.OpenBaseUrl);

        var tenantNames = new HashSet<string>(StringComparer.Ordinal);
        var appIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var corpIds = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var t = 0; t < o.Tenants.Count; t++)
        {
            var tenant = o.Tenants[t];
            var at = $"tenants[{t}]";
            if (!TenantShape().IsMatch(tenant.Name ?? ""))
            {
                errors.Add($"{at}.name: '{tenant.Name}' must be lowercase letters, digits and _ starting with a letter (it names the database file or schema)");
            }
            else if (!tenantNames.Add(tenant.Name!))
            {
                errors.Add($"{at}.name: '{tenant.Name}' is used twice; each tenant needs its own name");
            }
            for (var s = 0; s < tenant.UnionSpaces.Count; s++)
            {
                if (!Identifier.TryCreate(IdentifierType.UnionId, tenant.UnionSpaces[s], "placeholder", out _, out var error))
                {
                    errors.Add($"{at}.union_spaces[{s}]: {error}");
                }
            }
            for (var i = 0; i < tenant.Apps.Count; i++)
            {
                var a = tenant.Apps[i];
                var f = $"{at}.apps[{i}]";
                if (!AppIdShape().IsMatch(a.AppId ?? ""))
                {
                    errors.Add($"{f}.appid: '{a.AppId}' is not an appid (wx + 16 lowercase hex); copy it from the WeChat console");
                }
                else if (!appIds.TryAdd(a.AppId!, f))
                {
                    errors.Add($"{f}.appid: {a.AppId} is already configured at {appIds[a.AppId!]}; an app belongs to one tenant");
                }
                if (!AppTypes.All.Contains(a.Type))
                {
                    errors.Add($"{f}.type: '{a.Type}' is not one of {string.Join(", ", AppTypes.All)}");
                }
                if (string.IsNullOrEmpty(a.Secret) && string.IsNullOrEmpty(a.ComponentAppId) && !Unresolved(o, $"{f}.secret"))
                {
                    errors.Add($"{f}.secret: missing; set the AppSecret (or \"env:NAME\"), or component_appid when a third-party platform acts for the app");
                }
                if (a.ComponentAppId is { Length: > 0 } comp && tenant.Components.All(c => c.ComponentAppId != comp))
                {
                    errors.Add($"{f}.component_appid: {comp} is not among {at}.components; add the platform or remove component_appid");
                }
                if (a.UnionSpace is { Length: > 0 } space && !tenant.UnionSpaces.Contains(space))
                {
                    errors.Add($"{f}.union_space: '{space}' is not listed in {at}.union_spaces; add it there or fix the name");
                }
                CheckAesKey(errors, $"{f}.aes_key", a.AesKey);
                if (a.MessageMode is { Length: > 0 } mode)
                {
                    if (mode is not (MessageModes.Plain or MessageModes.Compatible or MessageModes.Safe))
                    {
                        errors.Add($"{f}.message_mode: '{mode}' is not a mode; use plain, compatible or safe, as the console's 消息加解密方式 says");
                    }
                    else if (mode != MessageModes.Plain && string.IsNullOrEmpty(a.AesKey))
                    {
                        errors.Add($"{f}.message_mode: {mode} mode needs aes_key (the console's EncodingAESKey)");
                    }
                }
                if (!string.IsNullOrEmpty(a.AesKey) && string.IsNullOrEmpty(a.Token))
                {
                    errors.Add($"{f}.token: missing; safe mode (aes_key) also needs the callback Token from the console");
                }
            }
            for (var c = 0; c < tenant.Corps.Count; c++)
            {
                var corp = tenant.Corps[c];
                var f = $"{at}.corps[{c}]";
                if (!CorpIdShape().IsMatch(corp.CorpId ?? ""))
                {
                    errors.Add($"{f}.corpid: '{corp.CorpId}' is not a corpid; copy it from WeCom admin → My Company (ww…)");
                }
                else if (!corpIds.TryAdd(corp.CorpId!, f))
                {
                    errors.Add($"{f}.corpid: {corp.CorpId} is already configured at {corpIds[corp.CorpId!]}");
                }
                if (corp.UnionSpace is { Length: > 0 } cs && !tenant.UnionSpaces.Contains(cs))
                {
                    errors.Add($"{f}.union_space: '{cs}' is not listed in {at}.union_spaces; add it there or fix the name");
                }
                var names = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < corp.Apps.Count; i++)
                {
                    var a = corp.Apps[i];
                    var af = $"{f}.apps[{i}]";
                    if (!NameShape().IsMatch(a.Name ?? "") || !names.Add(a.Name!))
                    {
                        errors.Add($"{af}.name: '{a.Name}' must be a unique name of [A-Za-z0-9_.-] (it is the last part of the callback URL)");
                    }
                    if (a.Kind is not (CorpAppKinds.SelfBuilt or CorpAppKinds.Provider))
                    {
                        errors.Add($"{af}.kind: '{a.Kind}' is not self_built or provider");
                    }
                    if (a.Kind == CorpAppKinds.Provider && !NameShape().IsMatch(a.Provider ?? ""))
                    {
                        errors.Add($"{af}.provider: a provider app needs the provider's name (its ciphertext ids live in namespace corpid/provider)");
                    }
                    if (a.Kind == CorpAppKinds.Provider && string.IsNullOrEmpty(a.SuiteId))
                    {
                        errors.Add($"{af}.suite_id: a provider app's callbacks are encrypted for its suite_id; copy it from the provider console");
                    }
                    if (string.IsNullOrEmpty(a.Secret) && !Unresolved(o, $"{af}.secret"))
                    {
                        errors.Add($"{af}.secret: missing; set the app's Secret (or \"env:NAME\")");
                    }
                    if (string.IsNullOrEmpty(a.Token) || string.IsNullOrEmpty(a.AesKey))
                    {
                        errors.Add($"{af}: WeCom callbacks are always encrypted; set token and aes_key from the app's 接收消息 settings");
                    }
                    CheckAesKey(errors, $"{af}.aes_key", a.AesKey);
                    if (a.AgentId is <= 0)
                    {
                        errors.Add($"{af}.agent_id: {a.AgentId} is not an agentid (a positive number, e.g. 1000002)");
                    }
                }
            }
            for (var i = 0; i < tenant.Components.Count; i++)
            {
                var a = tenant.Components[i];
                var f = $"{at}.components[{i}]";
                if (!AppIdShape().IsMatch(a.ComponentAppId ?? ""))
                {
                    errors.Add($"{f}.component_appid: '{a.ComponentAppId}' is not an appid (wx + 16 lowercase hex)");
                }
                else if (!appIds.TryAdd(a.ComponentAppId!, f))
                {
                    errors.Add($"{f}.component_appid: {a.ComponentAppId} is already configured at {appIds[a.ComponentAppId!]}");
                }
                if (string.IsNullOrEmpty(a.Secret) || string.IsNullOrEmpty(a.Token) || string.IsNullOrEmpty(a.AesKey))
                {
                    errors.Add($"{f}: a third-party platform needs secret, token and aes_key (its pushes are always encrypted)");
                }
                CheckAesKey(errors, $"{f}.aes_key", a.AesKey);
            }
            CheckSubjects(errors, tenant, at);
            for (var i = 0; i < tenant.Webhooks.Count; i++)
            {
                var w = tenant.Webhooks[i];
                var f = $"{at}.webhooks[{i}]";
                CheckUrl(errors, $"{f}.url", w.Url);
                if (string.IsNullOrEmpty(w.Secret) || w.Secret.Length < 16)
                {
                    errors.Add($"{f}.secret: needs at least 16 characters; generate one with `openssl rand -hex 32`");
                }
                foreach (var e in w.Events.Where(e => !WebhookEventNames.All.Contains(e)))
                {
                    errors.Add($"{f}.events: '{e}' is not one of {string.Join(", ", WebhookEventNames.All)}");
                }
                foreach (var tier in w.Tiers.Where(x => !Tiers.TryParse(x, out _)))
                {
                    errors.Add($"{f}.tiers: '{tier}' is not public, internal or private");
                }
                if (w.BatchSize is < 1 or > WebhookOptions.MaxBatchSize)
                {
                    errors.Add($"{f}.batch_size: {w.BatchSize} is not between 1 and {WebhookOptions.MaxBatchSize}");
                }
            }
        }
        if (!string.IsNullOrWhiteSpace(o.Telemetry.OtlpEndpoint))
        {
            CheckUrl(errors, "telemetry.otlp_endpoint", o.Telemetry.OtlpEndpoint);
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// subjects[]: each names what it owns; every name must be configured in the tenant, and nothing may belong to two
    /// subjects (WeChat would then be told two different subject_types for the same ids).
    /// </summary>
    private static void CheckSubjects(List<string> errors, TenantOptions tenant, string at)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        var providers = tenant.Corps.SelectMany(c => c.Apps).Where(a => a.Kind == CorpAppKinds.Provider && !string.IsNullOrEmpty(a.Provider)).Select(a => a.Provider!).ToHashSet(StringComparer.Ordinal);
        for (var s = 0; s < tenant.Subjects.Count; s++)
        {
            var subject = tenant.Subjects[s];
            var f = $"{at}.subjects[{s}]";
            if (string.IsNullOrWhiteSpace(subject.Name))
            {
                errors.Add($"{f}.name: missing; name the legal entity (主体), e.g. \"Acme Ltd\"");
            }
            else if (!names.Add(subject.Name))
            {
                errors.Add($"{f}.name: '{subject.Name}' is declared twice; list everything the subject owns in one entry");
            }
            void Check(List<string> values, string field, string kind, Func<string, bool> known, string where)
            {
                for (var i = 0; i < values.Count; i++)
                {
                    var value = values[i];
                    if (!known(value))
                    {
                        errors.Add($"{f}.{field}[{i}]: '{value}' is not {where}; fix the name or remove it here");
                    }
                    else if (!owners.TryAdd($"{kind}:{value}", $"{f}.{field}[{i}]"))
                    {
                        errors.Add($"{f}.{field}[{i}]: '{value}' already belongs to the subject at {owners[$"{kind}:{value}"]}; an account has one subject");
                    }
                }
            }
            Check(subject.UnionSpaces, "union_spaces", "space", tenant.UnionSpaces.Contains, $"in {at}.union_spaces");
            Check(subject.Apps, "apps", "app", a => tenant.Apps.Any(x => x.AppId == a), $"the appid of one of {at}.apps");
            Check(subject.Corps, "corps", "corp", c => tenant.Corps.Any(x => x.CorpId == c), $"the corpid of one of {at}.corps");
            Check(subject.Providers, "providers", "provider", providers.Contains, $"the provider of a provider app in {at}.corps");
        }
    }

    // A secret whose env:NAME was not set is already reported; do not report it missing a second time.
    private static bool Unresolved(HubOptions o, string field) => o.UnresolvedSecrets.Any(u => u.StartsWith(field + ":", StringComparison.Ordinal));

    private static void CheckUrl(List<string> errors, string field, string? value)
    {
        if (!(Uri.TryCreate(value, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
        {
            errors.Add($"{field}: '{value}' is not an absolute http(s) URL");
        }
    }

    private static void CheckAesKey(List<string> errors, string field, string? value)
    {
        if (!string.IsNullOrEmpty(value) && !AesKeyShape().IsMatch(value))
        {
            errors.Add($"{field}: the EncodingAESKey must be exactly 43 letters and digits, as the console generates it");
        }
    }

    internal static bool IsDataKey(string key)
    {
        var buffer = new byte[64];
        return Convert.TryFromBase64String(key, buffer, out var n) && n == 32;
    }
}

public static class WebhookEventNames
{
    public static readonly IReadOnlyList<string> All = ["person.created", "person.linked", "person.merged", "person.split", "person.erased"];
}

/// <summary>Data tiers by their names in keys and configuration.</summary>
public static class Tiers
{
    public static bool TryParse(string? text, out DataTier tier)
    {
        switch (text)
        {
            case "public": tier = DataTier.Public; return true;
            case "internal": tier = DataTier.Internal; return true;
            case "private": tier = DataTier.Private; return true;
            default: tier = default; return false;
        }
    }

    public static string Name(DataTier tier) => tier switch
    {
        DataTier.Public => "public",
        DataTier.Internal => "internal",
        _ => "private",
    };
}
