using System.Net;
using FluentAssertions;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>The hub's commands, run as a user runs them (a separate <c>oneid</c> process).</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Config(string body)
    {
        var path = _folder.File("oneid.json");
        File.WriteAllText(path, body.Replace("DB", _folder.File("hub.db").Replace("\\", "/", StringComparison.Ordinal), StringComparison.Ordinal));
        return path;
    }

    private const string Valid = """
        {"database": "DB", "tenants": [{"name": "acme", "union_spaces": ["acme"],
          "apps": [{"appid": "wx1111111111111111", "type": "official_account", "secret": "s", "union_space": "acme"}]}]}
        """;

    [Fact]
    public async Task Demo_plays_every_story_and_exits_0()
    {
        var r = await OneIdCli.RunAsync("demo");
        r.ExitCode.Should().Be(0, r.StdOut + r.StdErr);
        r.StdOut.Should().Contain("S1 + S11").And.Contain("S10").And.Contain("expectations held");
        r.StdOut.Should().NotContain("✗");
    }

    [Fact]
    public async Task Keys_create_prints_a_key_the_hub_accepts()
    {
        var config = Config(Valid);
        var r = await OneIdCli.RunAsync("keys", "create", "--config", config, "--tiers", "internal,private");
        r.ExitCode.Should().Be(0, r.StdErr);
        var key = r.Lines.Single();
        key.Should().StartWith("oneid.acme.");

        await using var hub = await TestHub.StartAsync(_folder.File("hub.db"), o =>
        {
            o.Tenants.Clear();
            o.Tenants.Add(new Configuration.TenantOptions { Name = "acme", UnionSpaces = ["acme"] });
        });
        using var client = hub.ClientWithKey(key);
        (await client.GetAsync("/v1/stats")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Keys_list_shows_ids_without_secrets_and_revoke_ends_a_key()
    {
        var config = Config(Valid);
        var key = (await OneIdCli.RunAsync("keys", "create", "--config", config, "--name", "crm", "--permission", "write")).Lines.Single();
        var id = OneId.Server.Security.ApiKeys.IdOf(key);

        var list = await OneIdCli.RunAsync("keys", "list", "--config", config, "--json");
        list.ExitCode.Should().Be(0, list.StdErr);
        using (var doc = System.Text.Json.JsonDocument.Parse(list.StdOut))
        {
            var listed = doc.RootElement.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
            listed.GetProperty("name").GetString().Should().Be("crm");
            listed.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()).Should().Equal("read", "write");
        }
        list.StdOut.Should().NotContain(key);
        (await OneIdCli.RunAsync("keys", "list", "--config", config)).StdOut.Should().Contain(id).And.Contain("crm");

        var revoke = await OneIdCli.RunAsync("keys", "revoke", "--config", config, id);
        revoke.ExitCode.Should().Be(0, revoke.StdErr);
        (await OneIdCli.RunAsync("keys", "list", "--config", config, "--json")).StdOut.Should().NotContain(id);
        var again = await OneIdCli.RunAsync("keys", "revoke", "--config", config, id);
        again.ExitCode.Should().Be(1);
        again.StdErr.Trim().Split('\n').Should().ContainSingle();
    }

    [Fact]
    public async Task Bad_configuration_and_usage_give_one_line_reasons()
    {
        var bad = Config("""{"database": "DB", "tenants": [{"name": "acme", "apps": [{"appid": "wx12", "type": "official_account", "secret": "s"}]}]}""");
        var r = await OneIdCli.RunAsync("keys", "create", "--config", bad);
        r.ExitCode.Should().Be(1);
        r.StdErr.Should().Contain("tenants[0].apps[0].appid").And.NotContain("   at ");
        (await OneIdCli.RunAsync("keys", "create", "--config", Config(Valid), "--tiers", "secret")).ExitCode.Should().Be(2);
        (await OneIdCli.RunAsync("serve")).ExitCode.Should().Be(2);
        (await OneIdCli.RunAsync("serve", "--config", _folder.File("missing.json"))).ExitCode.Should().Be(2);
    }
}
