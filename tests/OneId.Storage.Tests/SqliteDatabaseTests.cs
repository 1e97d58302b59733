using FluentAssertions;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

public sealed class SqliteDatabaseTests
{
    [Fact]
    public async Task Every_connection_runs_in_WAL_mode_with_the_large_page_cache_even_when_reused_from_the_pool()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("x.db"), CancellationToken.None);

        // Three at once (three native handles), then three again from the pool.
        var open = new List<System.Data.Common.DbConnection>();
        for (var i = 0; i < 6; i++)
        {
            if (i == 3)
            {
                foreach (var c in open)
                {
                    await c.DisposeAsync();
                }
            }
            var connection = await store.Database.OpenConnectionAsync(CancellationToken.None);
            open.Add(connection);
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode";
            (await cmd.ExecuteScalarAsync())!.ToString().Should().Be("wal");
            cmd.CommandText = "PRAGMA cache_size";
            Convert.ToInt64(await cmd.ExecuteScalarAsync()).Should().Be(-65536);
        }
        foreach (var c in open.Skip(3))
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_import_tuned_store_gives_its_connections_the_page_cache_map_and_checkpoint_size()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("x.db"), CancellationToken.None, tuning: new SqliteTuning(CacheMegabytes: 384, MmapMegabytes: 16, CheckpointMegabytes: 1024));

        await using var connection = await store.Database.OpenConnectionAsync(CancellationToken.None);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA cache_size";
        Convert.ToInt64(await cmd.ExecuteScalarAsync()).Should().Be(-384 * 1024);
        cmd.CommandText = "PRAGMA mmap_size";
        Convert.ToInt64(await cmd.ExecuteScalarAsync()).Should().Be(16L * 1024 * 1024);
        cmd.CommandText = "PRAGMA wal_autocheckpoint";
        Convert.ToInt64(await cmd.ExecuteScalarAsync()).Should().Be(1024 * 256, "pages of 4 KiB");
    }

    [Fact]
    public void A_database_file_in_a_missing_folder_is_refused_with_the_path()
    {
        var open = () => StoreDatabase.Open("/no/such/folder/oneid.db");

        open.Should().Throw<DirectoryNotFoundException>().WithMessage("*/no/such/folder/oneid.db*");
    }

    [Fact]
    public void Tenants_get_their_own_file_and_bad_tenant_names_are_refused()
    {
        ((SqliteDatabase)StoreDatabase.Open("/tmp/oneid.db", "acme")).Path.Should().Be("/tmp/oneid.acme.db");
        var bad = () => StoreDatabase.Open("/tmp/oneid.db", "../etc");
        bad.Should().Throw<ArgumentException>().WithMessage("*tenant*");
    }
}
