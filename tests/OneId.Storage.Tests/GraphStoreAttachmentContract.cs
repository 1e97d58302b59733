using System.Data.Common;
using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;

namespace OneId.Storage.Tests;

/// <summary>
/// Attachments (<see cref="Observation.Attachment"/>) are written in their observation's transaction: both are
/// committed or neither, and the observations of one batch share the attachment writer's statements.
/// </summary>
public abstract partial class GraphStoreContract
{
    private sealed record Note(string Text) : ObservationAttachment;

    /// <summary>Writes notes into a table of the test's own; throws after writing them while <see cref="Fail"/> is set.</summary>
    private sealed class NoteWriter : IAttachmentWriter
    {
        public bool Fail { get; set; }
        public int Calls { get; private set; }

        public bool Writes(ObservationAttachment attachment) => attachment is Note;

        public async Task WriteAsync(AttachmentTransaction transaction, IReadOnlyList<(ObservationAttachment Attachment, ObserveResult Result)> items, CancellationToken ct)
        {
            Calls++;
            await transaction.InsertAsync("test_notes", ["text", "person"], "tb", items.Select(i => new object?[] { ((Note)i.Attachment).Text, i.Result.Person?.Value }).ToArray(), ct);
            if (Fail)
            {
                // As if the process died between the attachment's rows and the commit.
                throw new InvalidOperationException("the note's write failed after its rows");
            }
        }
    }

    private async Task<NoteWriter> NotesAsync()
    {
        const string table = "CREATE TABLE test_notes (text TEXT NOT NULL, person BIGINT)";
        await Store.Database.MigrateAsync([new Migration("test/001-notes", table, table)], CancellationToken.None);
        var writer = new NoteWriter();
        Store.AddAttachmentWriter(writer);
        return writer;
    }

    private async Task<IReadOnlyList<(string Text, long? Person)>> StoredNotesAsync()
    {
        await using var connection = await Store.Database.OpenConnectionAsync(CancellationToken.None);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT text, person FROM test_notes ORDER BY text";
        await using var reader = await cmd.ExecuteReaderAsync();
        var notes = new List<(string, long?)>();
        while (await reader.ReadAsync())
        {
            notes.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt64(1)));
        }
        return notes;
    }

    private Observation Noted(string note, params string[] ids) => Obs(ids) with { Attachment = new Note(note) };

    [StoreFact]
    public async Task Attachments_of_a_batch_are_written_with_it_in_one_go_naming_their_persons()
    {
        var writer = await NotesAsync();

        var results = await Store.ObserveManyAsync(
            [Noted("a", OpenId(Mp, "att-a")), Obs(OpenId(Mp, "att-plain")), Noted("b", OpenId(Mp, "att-b"), UnionId("att-b"))], CancellationToken.None);

        writer.Calls.Should().Be(1, "the batch's attachments share one call");
        (await StoredNotesAsync()).Should().Equal(("a", results[0].Person!.Value.Value), ("b", results[2].Person!.Value.Value));
    }

    [StoreFact]
    public async Task An_attachment_that_fails_after_its_rows_leaves_neither_it_nor_its_observation()
    {
        var writer = await NotesAsync();
        writer.Fail = true;

        var act = () => Store.ObserveManyAsync([Obs(OpenId(Mp, "att-other")), Noted("c", OpenId(Mp, "att-c"), UnionId("att-c"))], CancellationToken.None);

        await act.Should().ThrowAsync<InvalidOperationException>();
        (await Store.FindAsync(Id(OpenId(Mp, "att-c")), CancellationToken.None)).Should().BeNull();
        (await Store.FindAsync(Id(OpenId(Mp, "att-other")), CancellationToken.None)).Should().BeNull("its batch was rolled back whole");
        (await StoredNotesAsync()).Should().BeEmpty();
        (await Store.ReadEventsAsync(0, 100, CancellationToken.None)).Should().BeEmpty();

        // The same observation once the writer works again: written as if the failed attempt never was.
        writer.Fail = false;
        var again = await Store.ObserveAsync(Noted("c", OpenId(Mp, "att-c"), UnionId("att-c")), CancellationToken.None);
        again.NewPerson.Should().BeTrue();
        (await StoredNotesAsync()).Should().Equal(("c", again.Person!.Value.Value));
        (await Store.ReadEventsAsync(0, 100, CancellationToken.None)).Select(e => e.Kind).Should().Equal(GraphEventKind.Created);
    }

    [StoreFact]
    public async Task An_attachment_nobody_writes_fails_its_observation_instead_of_being_dropped()
    {
        var act = () => Store.ObserveAsync(Noted("d", OpenId(Mp, "att-d")), CancellationToken.None);

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*no writer for Note*");
        (await Store.FindAsync(Id(OpenId(Mp, "att-d")), CancellationToken.None)).Should().BeNull();
    }
}
