using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OneId.Server;
using OneId.Server.Configuration;
using OneId.Server.Application;
using OneId.Server.Tenants;
using OneId.WeChat.Http;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid backfill --config oneid.json [--db DB] --appid A</c>: S12, fetches the unionid of every follower of an OA
/// (user/get + batchget by 100) and lets the graph merge; resumes from its checkpoint when run again after a stop.
/// </summary>
internal static class BackfillCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "oneid.json of the hub.", Required = true };
        var db = new Option<string?>("--db") { Description = "SQLite file path or PostgreSQL connection string; overrides 'database'." };
        var appid = new Option<string>("--appid") { Description = "The Official Account whose followers to backfill.", Required = true };
        var command = new Command("backfill", "Fetch the unionids of an Official Account's followers (user/get + batchget) into the graph.") { config, db, appid };
        command.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(config)!;
            if (!file.Exists)
            {
                return CliOutput.Fail($"no configuration file {file.FullName}", CliOutput.Usage);
            }
            await using var app = HubApplication.Build(new HubLaunch { ConfigFile = file.FullName, Database = parse.GetValue(db), MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
            try
            {
                _ = app.Services.GetRequiredService<IOptions<HubOptions>>().Value;
            }
            catch (OptionsValidationException e)
            {
                return ServeCommand.ConfigurationFailed(e);
            }
            var registry = app.Services.GetRequiredService<TenantRegistry>();
            await registry.InitializeAsync(ct);
            var target = parse.GetValue(appid)!;
            if (registry.FindApp(target) is not { } found || found.App.Type != AppTypes.OfficialAccount)
            {
                return CliOutput.Fail($"{target} is not an Official Account in {file.Name}", CliOutput.Usage);
            }
            try
            {
                var r = await app.Services.GetRequiredService<FollowerBackfill>().RunAsync(found.Tenant, found.App, ct);
                Console.WriteLine($"{(r.ResumedAfter is null ? "" : $"resumed after {r.ResumedAfter}: ")}{r.Followers} followers, {r.WithUnionId} with a unionid; " +
                                  $"{r.NewPersons} new persons, {r.Changed} linked or merged, {r.Conflicts} conflicts");
                return CliOutput.Ok;
            }
            catch (WeChatApiException e)
            {
                return CliOutput.Fail($"{e.Message}; progress is saved: run the same command again to resume{(e.IsTransient ? "" : " once the cause is fixed")}");
            }
        });
        return command;
    }
}
