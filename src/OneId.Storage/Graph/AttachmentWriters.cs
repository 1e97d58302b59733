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
    Task WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<(ObservationAttachment Attachment, ObserveResult Result)> items,
        CancellationToken cancellationToken);
}
