using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Storage.Secrets;
using OneId.Server.Security;
using OneId.Storage.Hub;
using OneId.Server.Tenants;

namespace OneId.Server.Application;

/// <summary>
/// The hub's own login state: an opaque, revocable, expiring token <c>oneids.{tenant}.{random}</c> (only its hash is
/// stored). For Mini Programs it stands for the session_key, which stays on the server encrypted and is never returned.
/// </summary>
public sealed class LoginSessions(TenantRegistry tenants, DataProtector protector, IOptions<HubOptions> options, TimeProvider time)
{
    public sealed record Session(HubTenant Tenant, string TokenHash, StoredSession Stored)
    {
        public string AppId => Stored.AppId;
        public string OpenId => Stored.OpenId;
    }

    /// <summary>A login about to be written: its token, and the session row that its observation carries (<see cref="Observation.Attachment"/>).</summary>
    public sealed record NewLogin(string Token, DateTimeOffset ExpiresAt, NewSession Row);

    /// <summary>
    /// A new login of <paramref name="openId"/>: the token is valid once its row is committed, which happens in the
    /// login's graph write (the flow attaches <see cref="NewLogin.Row"/> to its observation), so a login either has
    /// both its observation and its session or neither.
    /// </summary>
    public NewLogin New(HubTenant tenant, string appId, string openId, string? sessionKey)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var token = $"oneids.{tenant.Name}.{ApiKeys.Base64Url(RandomNumberGenerator.GetBytes(32))}";
        var expires = time.GetUtcNow().AddMinutes(options.Value.SessionMinutes);
        var stored = sessionKey is null ? "" : protector.Protect(sessionKey, AssociatedData(appId, openId));
        return new NewLogin(token, expires, new NewSession(ApiKeys.Hash(token), appId, openId, stored, expires));
    }

    /// <summary>The live session of a login token, or null (unknown, expired, revoked, or not a login token).</summary>
    public async Task<Session?> FindAsync(string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 512)
        {
            return null;
        }
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0] != "oneids" || tenants.Get(parts[1]) is not { } tenant)
        {
            return null;
        }
        var hash = ApiKeys.Hash(token);
        return await tenant.Sessions.FindSessionAsync(hash, cancellationToken).ConfigureAwait(false) is { } stored
            ? new Session(tenant, hash, stored)
            : null;
    }

    /// <summary>The session_key, or null when it was not kept (web logins) or cannot be decrypted (another data key).</summary>
    public string? SessionKeyOf(Session session) =>
        string.IsNullOrEmpty(session?.Stored.ProtectedSessionKey) ? null : protector.Unprotect(session.Stored.ProtectedSessionKey, AssociatedData(session.AppId, session.OpenId));

    public Task RevokeAsync(Session session, CancellationToken cancellationToken) =>
        session.Tenant.Sessions.RevokeSessionAsync(session.TokenHash, cancellationToken);

    // Binding the ciphertext to its app and user stops a row's session_key from being pasted onto another user's row.
    private static string AssociatedData(string appId, string openId) => appId + ":" + openId;
}
