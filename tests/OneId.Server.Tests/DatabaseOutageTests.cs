using System.Net;
using FluentAssertions;
using Npgsql;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>The database going away is a 503 with Retry-After (never a 500); /readyz says so while /healthz stays alive.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DatabaseOutageTests(PostgresFixture postgres)
{
    private async Task AllowConnectionsAsync(string database, bool allow)
    {
        await using var c = new NpgsqlConnection(postgres.Cluster.AdminConnectionString);
        await c.OpenAsync();
        await using var alter = new NpgsqlCommand($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS {(allow ? "true" : "false")}", c);
        await alter.ExecuteNonQueryAsync();
        if (!allow)
        {
            // Cut the hub's pooled connections too, as a database restart would.
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @db AND pid <> pg_backend_pid()", c);
            kill.Parameters.AddWithValue("db", database);
            await kill.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task While_the_database_is_away_callers_get_503_with_Retry_After_and_readyz_fails()
    {
        var db = await postgres.Cluster.CreateDatabaseAsync();
        var name = new NpgsqlConnectionStringBuilder(db).Database!;
        await using var hub = await TestHub.StartAsync(db);
        using var admin = hub.Admin();
        (await hub.Client.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
        await AllowConnectionsAsync(name, false);
        try
        {
            var r = await admin.GetAsync($"/v1/resolve?id=openid:{TestHub.OaAppId}:oAbCdEf1234567");
            r.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await r.Content.ReadAsStringAsync());
            r.Headers.RetryAfter.Should().NotBeNull();
            r.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await r.Content.ReadAsStringAsync()).Should().Contain("Database unavailable");
            var ready = await hub.Client.GetAsync("/readyz");
            ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            ready.Headers.RetryAfter.Should().NotBeNull();
            (await hub.Client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK, "liveness does not depend on the database");
        }
        finally
        {
            await AllowConnectionsAsync(name, true);
        }
        await Eventually.TrueAsync(async () => (await hub.Client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, "ready again once the database is back");
        (await admin.GetAsync($"/v1/resolve?id=openid:{TestHub.OaAppId}:oAbCdEf1234567")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}
