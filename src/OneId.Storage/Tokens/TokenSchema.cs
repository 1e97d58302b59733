namespace OneId.Storage.Tokens;

/// <summary>
/// Tables of the WeChat token service (OneId.WeChat's <c>ITokenStore</c>): tokens, their refresh leases, component verify
/// tickets and authorizer refresh tokens. Times are unix milliseconds. The same SQL serves SQLite (3.35+) and PostgreSQL.
/// </summary>
public static class TokenSchema
{
    private const string Init = """
        CREATE TABLE wechat_tokens (
            key TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL,
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            forced_day TEXT NULL,
            forced_count INTEGER NOT NULL DEFAULT 0,
            last_forced_at BIGINT NULL);
        CREATE TABLE wechat_token_leases (
            key TEXT NOT NULL PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at BIGINT NOT NULL);
        CREATE TABLE wechat_verify_tickets (
            component_appid TEXT NOT NULL PRIMARY KEY,
            ticket TEXT NOT NULL,
            create_time BIGINT NOT NULL);
        CREATE TABLE wechat_authorizers (
            component_appid TEXT NOT NULL,
            authorizer_appid TEXT NOT NULL,
            refresh_token TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (component_appid, authorizer_appid));
        """;

    public static IReadOnlyList<Migration> Migrations { get; } = [new Migration("tokens/001-init", Init, Init)];
}
