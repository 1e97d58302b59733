using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OneId.Graph;
using OneId.Server;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid keys create | list | revoke --config oneid.json [--db DB] [--tenant T]</c>: the hub's API keys, for the
/// operator who holds the configuration (the same as <c>POST</c>, <c>GET</c> and <c>DELETE /v1/keys</c>).
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "oneid.json of the hub." };
        var db = new Option<string?>("--db") { Description = "SQLite file path or PostgreSQL connection string; overrides 'database'." };
        var tenant = new Option<string?>("--tenant") { Description = "The tenant the keys belong to (the first tenant by default)." };

        var tiers = new Option<string>("--tiers") { Description = "Comma-separated data tiers: public, internal, private.", DefaultValueFactory = _ => "internal" };
        var admin = new Option<bool>("--admin") { Description = "The key may retract observations, erase profiles and manage keys (same as --permission admin)." };
        var permission = new Option<string?>("--permission") { Description = "read (default), write (may also add observations) or admin." };
        var name = new Option<string?>("--name") { Description = "What the key is for (shown by keys list)." };
        var create = new Command("create", "Create an API key and print it (only its hash is stored).") { config, db, tenant, tiers, admin, permission, name };
        create.SetAction(async (parse, ct) =>
        {
            var granted = new HashSet<DataTier> { DataTier.Public };
            foreach (var tierName in parse.GetValue(tiers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Tiers.TryParse(tierName, out var tier))
                {
                    return CliOutput.Fail($"'{tierName}' is not a tier; use public, internal or private", CliOutput.Usage);
                }
                granted.Add(tier);
            }
            var level = parse.GetValue(admin) ? KeyPermission.Admin : KeyPermission.Read;
            if (parse.GetValue(permission) is { } p)
            {
                if (!ApiKeys.TryParsePermission(p, out var parsed))
                {
                    return CliOutput.Fail($"'{p}' is not a permission; use read, write or admin", CliOutput.Usage);
                }
                level = parsed > level ? parsed : level;
            }
            return await WithTenantAsync(parse.GetValue(config), parse.GetValue(db), parse.GetValue(tenant), async (keys, t) =>
            {
                var (key, _) = await keys.CreateKeyAsync(t, parse.GetValue(name), granted, level, ct);
                Console.WriteLine(key);
                return CliOutput.Ok;
            }, ct);
        });

        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var list = new Command("list", "List the tenant's live keys: id, name, tiers, permissions, created, last used (never the keys).") { config, db, tenant, json };
        list.SetAction(async (parse, ct) => await WithTenantAsync(parse.GetValue(config), parse.GetValue(db), parse.GetValue(tenant), async (keys, t) =>
        {
            var all = await keys.ListAsync(t, ct);
            if (parse.GetValue(json))
            {
                // The same shape as GET /v1/keys, whose JSON is snake_case.
                Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new OneId.Server.Api.KeyListView(all),
                    new System.Text.Json.JsonSerializerOptions(CliOutput.Json) { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower }));
                return CliOutput.Ok;
            }
            Console.WriteLine("id            permissions        tiers                    created               last used             name");
            foreach (var k in all)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{k.Id,-13} {string.Join(',', k.Permissions),-18} {string.Join(',', k.Tiers),-24} {k.CreatedAt:yyyy-MM-dd HH:mm:ss}   {(k.LastUsedAt is { } u ? u.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "never"),-19}   {k.Name}"));
            }
            return CliOutput.Ok;
        }, ct));

        var id = new Argument<string>("ID") { Description = "The key's id, as keys list shows it." };
        var revoke = new Command("revoke", "Revoke a key at once, for every hub instance.") { config, db, tenant, id };
        revoke.SetAction(async (parse, ct) => await WithTenantAsync(parse.GetValue(config), parse.GetValue(db), parse.GetValue(tenant), async (keys, t) =>
        {
            var keyId = parse.GetValue(id)!;
            if (!await keys.RevokeAsync(t, keyId, ct))
            {
                return CliOutput.Fail($"tenant '{t.Name}' has no live key with id '{keyId}'; `oneid keys list` shows them", CliOutput.Failed);
            }
            Console.WriteLine($"revoked {keyId}");
            return CliOutput.Ok;
        }, ct));

        return new Command("keys", "Manage API keys.") { create, list, revoke };
    }

    private static async Task<int> WithTenantAsync(FileInfo? file, string? db, string? tenantName, Func<ApiKeys, HubTenant, Task<int>> work, CancellationToken ct)
    {
        if (file is { Exists: false })
        {
            return CliOutput.Fail($"no configuration file {file.FullName}", CliOutput.Usage);
        }
        await using var app = HubApplication.Build(new HubLaunch { ConfigFile = file?.FullName, Database = db, MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        HubOptions options;
        try
        {
            options = app.Services.GetRequiredService<IOptions<HubOptions>>().Value;
        }
        catch (OptionsValidationException e)
        {
            return ServeCommand.ConfigurationFailed(e);
        }
        var registry = app.Services.GetRequiredService<TenantRegistry>();
        await registry.InitializeAsync(ct);
        var name = tenantName ?? options.Tenants[0].Name;
        if (registry.Get(name) is not { } t)
        {
            return CliOutput.Fail($"no tenant '{name}'; configured: {string.Join(", ", options.Tenants.Select(x => x.Name))}", CliOutput.Usage);
        }
        return await work(app.Services.GetRequiredService<ApiKeys>(), t);
    }
}
