using System.Text.Json;
using System.Text.RegularExpressions;

namespace OneId.Sandbox.World;

/// <summary>A world file or body that cannot be used; the message says what to fix.</summary>
public sealed class SandboxWorldException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>Reads and checks world JSON.</summary>
public static partial class WorldLoader
{
    [GeneratedRegex("^wx[0-9a-f]{16}$")]
    private static partial Regex AppIdShape();

    [GeneratedRegex("^[A-Za-z0-9]{43}$")]
    private static partial Regex AesKeyShape();

    /// <summary>Parses world JSON and validates it.</summary>
    public static SandboxWorld Parse(string json)
    {
        SandboxWorld? world;
        try
        {
            world = JsonSerializer.Deserialize<SandboxWorld>(json, SandboxJson.Options);
        }
        catch (JsonException ex)
        {
            throw new SandboxWorldException($"world JSON is invalid at {ex.Path ?? "$"} (line {ex.LineNumber + 1}): {ex.Message.Split('.')[0]}", ex);
        }
        if (world is null)
        {
            throw new SandboxWorldException("world JSON is null; expected an object with union_spaces, apps, corps, components");
        }
        Validate(world);
        return world;
    }

    /// <summary>Reads a world file.</summary>
    public static async Task<SandboxWorld> LoadFileAsync(string path, CancellationToken cancellationToken)
    {
        string json;
        try
        {
            json = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SandboxWorldException($"cannot read world file '{path}': {ex.Message}", ex);
        }
        return Parse(json);
    }

    /// <summary>Checks references and id shapes; throws <see cref="SandboxWorldException"/> on the first problem.</summary>
    public static void Validate(SandboxWorld world)
    {
        ArgumentNullException.ThrowIfNull(world);
        if (world.UnionidRule is not (UnionidRules.Current or UnionidRules.Legacy))
        {
            throw new SandboxWorldException($"unionid_rule '{world.UnionidRule}' is not 'current' or 'legacy'");
        }
        var spaces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var space in world.UnionSpaces)
        {
            if (string.IsNullOrWhiteSpace(space.Id) || !spaces.Add(space.Id))
            {
                throw new SandboxWorldException($"union_spaces: id '{space.Id}' is empty or repeated");
            }
        }
        var appids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var app in world.Apps)
        {
            if (!AppIdShape().IsMatch(app.Appid))
            {
                throw new SandboxWorldException($"apps: appid '{app.Appid}' must be 'wx' + 16 lowercase hex digits");
            }
            if (!appids.Add(app.Appid))
            {
                throw new SandboxWorldException($"apps: appid '{app.Appid}' is repeated");
            }
            if (!AppTypes.All.Contains(app.Type))
            {
                throw new SandboxWorldException($"apps: type '{app.Type}' of {app.Appid} is not one of {string.Join(", ", AppTypes.All)}");
            }
            if (string.IsNullOrEmpty(app.Secret))
            {
                throw new SandboxWorldException($"apps: {app.Appid} has no secret");
            }
            if (app.UnionSpace is not null && !spaces.Contains(app.UnionSpace))
            {
                throw new SandboxWorldException($"apps: {app.Appid} names union_space '{app.UnionSpace}', which is not in union_spaces");
            }
            ValidateCallback(app.Callback, $"apps: {app.Appid}");
        }
        var corpids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var corp in world.Corps)
        {
            if (string.IsNullOrWhiteSpace(corp.Corpid) || !corpids.Add(corp.Corpid))
            {
                throw new SandboxWorldException($"corps: corpid '{corp.Corpid}' is empty or repeated");
            }
            if (corp.DeveloperAppid is not null && !appids.Contains(corp.DeveloperAppid))
            {
                throw new SandboxWorldException($"corps: {corp.Corpid} developer_appid '{corp.DeveloperAppid}' is not in apps");
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var app in corp.Apps)
            {
                if (string.IsNullOrWhiteSpace(app.Name) || !names.Add(app.Name))
                {
                    throw new SandboxWorldException($"corps: {corp.Corpid} app name '{app.Name}' is empty or repeated");
                }
                if (app.Kind is not (CorpAppKinds.SelfBuilt or CorpAppKinds.Provider))
                {
                    throw new SandboxWorldException($"corps: {corp.Corpid}/{app.Name} kind '{app.Kind}' is not 'self_built' or 'provider'");
                }
                if (app.Kind == CorpAppKinds.Provider && string.IsNullOrWhiteSpace(app.Provider))
                {
                    throw new SandboxWorldException($"corps: {corp.Corpid}/{app.Name} is a provider app without 'provider'");
                }
                if (string.IsNullOrEmpty(app.Secret))
                {
                    throw new SandboxWorldException($"corps: {corp.Corpid}/{app.Name} has no secret");
                }
                if (app.IdMode is not (ProviderIdModes.Upgraded or ProviderIdModes.Legacy))
                {
                    throw new SandboxWorldException($"corps: {corp.Corpid}/{app.Name} id_mode '{app.IdMode}' is not 'upgraded' or 'legacy'");
                }
                ValidateCallback(app.Callback, $"corps: {corp.Corpid}/{app.Name}");
            }
        }
        var providers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var provider in world.Providers)
        {
            if (string.IsNullOrWhiteSpace(provider.Id) || !providers.Add(provider.Id))
            {
                throw new SandboxWorldException($"providers: id '{provider.Id}' is empty or repeated");
            }
        }
        foreach (var component in world.Components)
        {
            if (!AppIdShape().IsMatch(component.ComponentAppid) || !appids.Add(component.ComponentAppid))
            {
                throw new SandboxWorldException($"components: component_appid '{component.ComponentAppid}' must be 'wx' + 16 lowercase hex and not repeat an app");
            }
            foreach (var authorizer in component.Authorizers)
            {
                if (!world.Apps.Exists(a => a.Appid == authorizer))
                {
                    throw new SandboxWorldException($"components: {component.ComponentAppid} authorizer '{authorizer}' is not in apps");
                }
            }
            if (component.AesKey is not null && !AesKeyShape().IsMatch(component.AesKey))
            {
                throw new SandboxWorldException($"components: {component.ComponentAppid} aes_key must be 43 letters or digits");
            }
            ValidateCallback(component.Callback, $"components: {component.ComponentAppid}");
            ValidateCallback(component.MessageCallback, $"components: {component.ComponentAppid} message_callback");
            if (component.MessageCallback is { } messages)
            {
                if (!messages.Url.Contains(SandboxComponent.AppIdPlaceholder, StringComparison.Ordinal))
                {
                    throw new SandboxWorldException($"components: {component.ComponentAppid} message_callback url must contain {SandboxComponent.AppIdPlaceholder}, which WeChat replaces with the authorizer's appid");
                }
                if ((messages.AesKey ?? component.AesKey) is null || string.IsNullOrEmpty(string.IsNullOrEmpty(messages.Token) ? component.Token : messages.Token))
                {
                    throw new SandboxWorldException($"components: {component.ComponentAppid} message_callback needs a token and an aes_key (its own or the platform's): platform pushes are always encrypted");
                }
            }
        }
        var users = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in world.Users)
        {
            if (!SandboxUserNames.IsValid(user.Name) || !users.Add(user.Name))
            {
                throw new SandboxWorldException($"users: name '{user.Name}' is empty, repeated or has characters outside [A-Za-z0-9._-]");
            }
            foreach (var follow in user.Follows)
            {
                if (!world.Apps.Exists(a => a.Appid == follow && a.Type == AppTypes.OfficialAccount))
                {
                    throw new SandboxWorldException($"users: {user.Name} follows '{follow}', which is not an official_account in apps");
                }
            }
        }
    }

    private static void ValidateCallback(SandboxCallback? callback, string where)
    {
        if (callback is null)
        {
            return;
        }
        if (!Uri.TryCreate(callback.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new SandboxWorldException($"{where}: callback url '{callback.Url}' is not an absolute http(s) URL");
        }
        if (callback.AesKey is not null && !AesKeyShape().IsMatch(callback.AesKey))
        {
            throw new SandboxWorldException($"{where}: callback aes_key must be 43 letters or digits (EncodingAESKey)");
        }
    }
}

/// <summary>Rules for user names (they appear in URLs of the control API).</summary>
public static partial class SandboxUserNames
{
    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex Shape();

    public static bool IsValid(string? name) => name is not null && Shape().IsMatch(name);
}
