using System.Collections.Concurrent;
using OneId.Graph;
using OneId.Server.Tenants;

namespace OneId.Server.Api;

/// <summary>
/// Answers repeated resolves from memory while the tenant's graph is unchanged. Every request still asks the database
/// for the graph's version (one indexed read), so an answer is never older than the last committed write, in this
/// instance or any other sharing the database.
/// </summary>
public sealed class PersonReadCache
{
    private const int MaxEntries = 200_000;
    private readonly ConcurrentDictionary<(string Tenant, string Key), (GraphVersion Version, Person? Person)> _entries = new();

    // Counted here because ConcurrentDictionary.Count takes every bucket lock: asked on each miss, it made concurrent
    // resolves queue on one another. Approximate (a racing Clear may lose a few), which is all a size bound needs.
    private int _count;

    public Task<GraphVersion> VersionAsync(HubTenant tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return tenant.Graph.GetVersionAsync(cancellationToken);
    }

    /// <summary>The cached person for <paramref name="key"/> at <paramref name="version"/>, or <paramref name="load"/>'s answer (then cached).</summary>
    public async Task<Person?> GetAsync(HubTenant tenant, GraphVersion version, string key, Func<Task<Person?>> load)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(load);
        if (_entries.TryGetValue((tenant.Name, key), out var hit) && hit.Version == version)
        {
            return hit.Person;
        }
        // Loaded after the version was read, so the person is at least as new as the version it is filed under.
        var person = await load().ConfigureAwait(false);
        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            _entries.Clear();
            Volatile.Write(ref _count, 0);
        }
        var entry = (version, person);
        _entries.AddOrUpdate((tenant.Name, key), _ => { Interlocked.Increment(ref _count); return entry; }, (_, _) => entry);
        return person;
    }
}
