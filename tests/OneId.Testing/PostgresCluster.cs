using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OneId.Testing;

/// <summary>
/// A throwaway PostgreSQL 15 cluster: <c>initdb</c> into a temp folder, <c>pg_ctl start</c> on a free loopback port,
/// removed on dispose. Debian's postgresql-15 keeps its server binaries off the PATH, in /usr/lib/postgresql/15/bin.
/// Tests get a fresh database each from <see cref="CreateDatabaseAsync"/>, so they never see each other's data.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private static readonly string[] BinCandidates = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"];
    private readonly string _dir;
    private readonly string _bin;
    private int _databases;

    private PostgresCluster(string dir, string bin, int port)
    {
        _dir = dir;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=30";

    public static Task<PostgresCluster> StartAsync(CancellationToken cancellationToken = default) => StartAsync([], cancellationToken);

    /// <summary>Starts a cluster with extra server settings (<c>name=value</c>, passed as <c>-c</c> options).</summary>
    public static async Task<PostgresCluster> StartAsync(IReadOnlyList<string> settings, CancellationToken cancellationToken = default)
    {
        var bin = BinCandidates.FirstOrDefault(b => File.Exists(Path.Combine(b, "initdb")))
            ?? throw new InvalidOperationException("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; install Debian's postgresql-15 (./test.sh does)");
        var dir = Path.Combine(Path.GetTempPath(), "oneid-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        var data = Path.Combine(dir, "data");
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            // initdb refuses to run as root; run the server as the 'postgres' system user the package created.
            await RunAsync("chown", ["-R", "postgres:postgres", dir], null, cancellationToken).ConfigureAwait(false);
        }
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], asRoot ? "postgres" : null, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var options = $"-p {port} -c listen_addresses=127.0.0.1 -k {dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
                + string.Concat(settings.Select(x => " -c " + x));
            try
            {
                await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", Path.Combine(dir, "log"), "-w", "-t", "60", "start"], asRoot ? "postgres" : null, cancellationToken).ConfigureAwait(false);
                return new PostgresCluster(dir, bin, port);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Another process may have taken the port between our probe and the server's bind.
            }
        }
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = $"t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        await using var connection = new Npgsql.NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"CREATE DATABASE {name}";
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name};Timeout=30;Command Timeout=120";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            var asRoot = Environment.UserName == "root";
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop"], asRoot ? "postgres" : null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Already stopped; the folder goes anyway.
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs one statement as the superuser in <paramref name="database"/>.</summary>
    public async Task ExecuteAsync(string database, string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false;Timeout=30;Command Timeout=120");
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task RunAsync(string file, string[] args, string? asUser, CancellationToken cancellationToken)
    {
        var psi = asUser is null ? new ProcessStartInfo(file) : new ProcessStartInfo("runuser");
        if (asUser is not null)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(asUser);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(file);
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} failed ({process.ExitCode}): {await stderr.ConfigureAwait(false)} {await stdout.ConfigureAwait(false)}");
        }
    }
}

/// <summary>xunit fixture: one cluster per test collection that uses it.</summary>
public sealed class PostgresFixture : Xunit.IAsyncLifetime
{
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("cluster not started");

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync().ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}
