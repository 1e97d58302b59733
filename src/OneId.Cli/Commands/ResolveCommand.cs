using System.CommandLine;
using OneId.Graph;

namespace OneId.Cli.Commands;

/// <summary><c>oneid resolve --db DB ID</c>: who is this? ID is an identifier (type:ns:value), a person id or an alias.</summary>
internal static class ResolveCommand
{
    public static Command Create()
    {
        var db = new Option<string>("--db") { Description = "SQLite file path or PostgreSQL connection string (Host=…)", Required = true };
        var id = new Argument<string>("ID") { Description = "type:namespace:value, or a person id such as p_42" };
        var command = new Command("resolve", "Print the person an identifier or person id names, as JSON.") { db, id };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(db)!, parse.GetValue(id)!, ct));
        return command;
    }

    private static async Task<int> RunAsync(string db, string text, CancellationToken ct)
    {
        var isPersonId = PersonId.TryParse(text, out var personId);
        Identifier identifier = default;
        if (!isPersonId && !Identifier.TryParse(text, out identifier, out var error))
        {
            return CliOutput.Fail($"'{text}' is neither a person id (p_123) nor an identifier: {error}", CliOutput.Usage);
        }
        var (store, exit) = await CliOutput.OpenStoreAsync(db, ct).ConfigureAwait(false);
        if (store is null)
        {
            return exit;
        }
        await using (store)
        {
            Person? person;
            try
            {
                person = isPersonId ? await store.GetAsync(personId, ct).ConfigureAwait(false) : await store.FindAsync(identifier, ct).ConfigureAwait(false);
            }
            catch (AmbiguousIdentifierException e)
            {
                return CliOutput.Fail(e.Message);
            }
            if (person is null)
            {
                return CliOutput.Fail($"{text} is unknown", CliOutput.NotFound);
            }
            CliOutput.WriteJson(CliOutput.Document(person));
            return CliOutput.Ok;
        }
    }
}
