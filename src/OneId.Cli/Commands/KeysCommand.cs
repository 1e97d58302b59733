using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OneId.Graph;
using OneId.Server;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Cli.Commands;

/// <summary><c>oneid keys create --config oneid.json [--db DB] [--tenant T] [--tiers internal,private] [--admin]</c>: prints a new API key.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "oneid.json of the hub." };
        var db = new Option<string?>("--db") { Description = "SQLite file path or PostgreSQL connection string; overrides 'database'." };
        var tenant = new Option<string?>("--tenant") { Description = "The tenant the key belongs to (the first tenant by default)." };
        var tiers = new Option<string>("--tiers") { Description = "Comma-separated data tiers: public, internal, private.", DefaultValueFactory = _ => "internal" };
        var admin = new Option<bool>("--admin") { Description = "The key may retract observations, erase profiles and create keys." };
        var create = new Command("create", "Create an API key and print it (only its hash is stored).") { config, db, tenant, tiers, admin };
        create.SetAction(async (parse, ct) =>
        {
            var granted = new HashSet<DataTier> { DataTier.Public };
            foreach (var name in parse.GetValue(tiers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Tiers.TryParse(name, out var tier))
                {
                    return CliOutput.Fail($"'{name}' is not a tier; use public, internal or private", CliOutput.Usage);
                }
                granted.Add(tier);
            }
            var file = parse.GetValue(config);
            if (file is { Exists: false })
            {
                return CliOutput.Fail($"no configuration file {file.FullName}", CliOutput.Usage);
            }
            await using var app = HubApplication.Build(new HubLaunch { ConfigFile = file?.FullName, Database = parse.GetValue(db), MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
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
            var name2 = parse.GetValue(tenant) ?? options.Tenants[0].Name;
            if (registry.Get(name2) is not { } t)
            {
                return CliOutput.Fail($"no tenant '{name2}'; configured: {string.Join(", ", options.Tenants.Select(x => x.Name))}", CliOutput.Usage);
            }
            var key = await app.Services.GetRequiredService<ApiKeys>().CreateAsync(t, granted, parse.GetValue(admin), ct);
            Console.WriteLine(key);
            return CliOutput.Ok;
        });
        return new Command("keys", "Manage API keys.") { create };
    }
}
