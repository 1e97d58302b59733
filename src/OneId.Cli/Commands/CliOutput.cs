using System.Text.Json;
using OneId.Graph;
using OneId.Storage;
using OneId.Storage.Graph;

namespace OneId.Cli.Commands;

/// <summary>What every command shares: opening the store, one-line errors, JSON output.</summary>
internal static class CliOutput
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int NotFound = 3;

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Prints <c>oneid: message</c> on stderr and returns <paramref name="exitCode"/>: no stack traces for people.</summary>
    public static int Fail(string message, int exitCode = Failed)
    {
        Console.Error.WriteLine($"oneid: {message}");
        return exitCode;
    }

    /// <summary>Opens the graph named by --db, turning the usual mistakes into one readable line.</summary>
    public static async Task<(SqlGraphStore? Store, int Exit)> OpenStoreAsync(string? db, CancellationToken ct, SqliteTuning? tuning = null)
    {
        if (string.IsNullOrWhiteSpace(db))
        {
            return (null, Fail("--db is required: a SQLite file path or a PostgreSQL connection string (Host=…)", Usage));
        }
        try
        {
            return (await SqlGraphStore.OpenAsync(db, ct, tuning: tuning).ConfigureAwait(false), Ok);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
        {
            return (null, Fail($"cannot open the store '{Redact(db)}': {e.Message}"));
        }
    }

    /// <summary>Connection strings may carry a password; never print it.</summary>
    public static string Redact(string db) =>
        StoreDatabase.LooksLikePostgres(db)
            ? System.Text.RegularExpressions.Regex.Replace(db, "(?i)(password|pwd)=[^;]*", "$1=***")
            : db;

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    public static PersonDocument Document(Person person) => PersonDocument.From(person, PersonDocument.AllTiers);
}
