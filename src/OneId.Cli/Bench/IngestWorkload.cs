using OneId.Graph;

namespace OneId.Cli.Bench;

/// <summary>
/// A realistic identity stream for benchmarks: four apps of one union space; each person is first seen silently
/// (openid only, say an OA follower or an snsapi_base page), then logs in to a second app where the unionid comes
/// with the openid, then comes back to the first app with the unionid — which merges the two persons. So a third of
/// the observations create, a third link, a third merge. Persons arrive in blocks whose stages interleave, as
/// traffic does; everything is derived from the event number, so the stream is deterministic and needs no memory.
/// </summary>
public static class IngestWorkload
{
    public static readonly string[] Apps = ["wx0e1d000000000a01", "wx0e1d000000000b02", "wx0e1d000000000c03", "wx0e1d000000000d04"];
    public const string UnionSpace = "acme";
    private const int Block = 3_000;

    public static IEnumerable<Observation> Generate(long events, DateTimeOffset start) => Generate(events, start, 0);

    /// <param name="firstPerson">The first person's number: streams with far-apart first persons share nobody.</param>
    public static IEnumerable<Observation> Generate(long events, DateTimeOffset start, long firstPerson)
    {
        var persons = (events + 2) / 3;
        long emitted = 0;
        for (long blockStart = 0; blockStart < persons && emitted < events; blockStart += Block)
        {
            var size = (int)Math.Min(Block, persons - blockStart);
            for (var stage = 0; stage < 3 && emitted < events; stage++)
            {
                for (var i = 0; i < size && emitted < events; i++)
                {
                    // A fixed odd stride visits each person of the block once, in an order unlike their numbering.
                    var person = blockStart + (long)i * 7919 % size;
                    yield return Make(firstPerson + person, stage, start.AddMilliseconds(emitted));
                    emitted++;
                }
            }
        }
    }

    private static Observation Make(long person, int stage, DateTimeOffset at)
    {
        var first = Apps[person % Apps.Length];
        var second = Apps[(person + 1) % Apps.Length];
        var openFirst = Identifier.Create(IdentifierType.OpenId, first, WeChatLike('o', person, first));
        var openSecond = Identifier.Create(IdentifierType.OpenId, second, WeChatLike('o', person, second));
        var union = Identifier.Create(IdentifierType.UnionId, UnionSpace, WeChatLike('o', person, UnionSpace));
        return stage switch
        {
            0 => new Observation([openFirst], "bench:follow", at),
            1 => person % 5 == 0
                ? new Observation([openSecond, union, Identifier.Create(IdentifierType.Phone, "", "+86138" + (person % 100_000_000).ToString("D8", System.Globalization.CultureInfo.InvariantCulture))], "bench:login", at,
                    [ProfilePolicy.Attribute("nickname", "user" + person)])
                : new Observation([openSecond, union], "bench:login", at),
            _ => new Observation([openFirst, union], "bench:oauth", at),
        };
    }

    /// <summary>A 28-character id in WeChat's alphabet, unique per (person, namespace).</summary>
    public static string WeChatLike(char prefix, long person, string ns)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        Span<char> chars = stackalloc char[28];
        chars[0] = prefix;
        var h = (ulong)person * 0x9E3779B97F4A7C15UL ^ StableHash(ns) * 0xC2B2AE3D27D4EB4FUL;
        var n = (ulong)person;
        for (var i = 1; i < 28; i++)
        {
            // The low positions spell the person number, so ids never collide; the rest look random.
            if (i >= 17)
            {
                chars[i] = alphabet[(int)(n % 64)];
                n /= 64;
            }
            else
            {
                h ^= h >> 29;
                h *= 0xBF58476D1CE4E5B9UL;
                chars[i] = alphabet[(int)(h >> 58)];
            }
        }
        return new string(chars);
    }

    // string.GetHashCode is randomized per process; the stream must be the same in every run.
    private static ulong StableHash(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return h;
    }
}
