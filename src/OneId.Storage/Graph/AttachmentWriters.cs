using System.Data.Common;
using OneId.Graph;

namespace OneId.Storage.Graph;

/// <summary>
/// Writes one kind of <see cref="ObservationAttachment"/> inside a graph write's transaction, so that the attachment
/// and its observation are committed together or not at all. The graph store calls it once per batch with every
/// attachment of its kind: observations that share a transaction (group commit) share its statements too.
/// </summary>
public interface IAttachmentWriter
{
    bool Writes(ObservationAttachment attachment);

    /// <summary>
    /// Writes <paramref name="items"/>, each with the result of its observation, in <paramref name="transaction"/>.
    /// It runs after the batch's graph rows and before its events are published; throwing rolls the whole batch back.
    /// On PostgreSQL a batch that lost a race runs again whole, this included: write nothing outside the transaction.
    /// </summary>
    Task WriteAsync(AttachmentTransaction transaction, IReadOnlyList<(ObservationAttachment Attachment, ObserveResult Result)> items, CancellationToken cancellationToken);
}

/// <summary>The graph write's transaction, as an <see cref="IAttachmentWriter"/> sees it.</summary>
public sealed class AttachmentTransaction
{
    private readonly GraphCommands _sql;

    internal AttachmentTransaction(DbConnection connection, DbTransaction transaction, GraphCommands sql)
    {
        Connection = connection;
        Transaction = transaction;
        _sql = sql;
    }

    public DbConnection Connection { get; }
    public DbTransaction Transaction { get; }

    /// <summary>
    /// Inserts rows as the graph inserts its own: on SQLite through a statement prepared once per connection and bound
    /// by position; on PostgreSQL in one statement with one array parameter per column (which Citus routes to the
    /// tenant's worker like the graph's rows).
    /// </summary>
    /// <param name="types">one letter per column: <c>b</c> bigint, <c>t</c> text.</param>
    public Task InsertAsync(string table, string[] columns, string types, IReadOnlyList<object?[]> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(rows);
        if (types.Length != columns.Length || types.Any(t => t is not ('b' or 't')))
        {
            throw new ArgumentException("one type letter (b or t) per column", nameof(types));
        }
        return _sql.InsertRowsAsync(table, columns, types, rows, "", cancellationToken);
    }
}
