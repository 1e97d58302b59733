using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace OneId.Graph;

/// <summary>A person's id, written <c>p_123</c>. Stable: merged-away ids live on as aliases.</summary>
public readonly record struct PersonId(long Value) : IComparable<PersonId>
{
    private const string Prefix = "p_";

    public override string ToString() => Prefix + Value.ToString(CultureInfo.InvariantCulture);

    public int CompareTo(PersonId other) => Value.CompareTo(other.Value);

    public static bool TryParse(string? text, out PersonId id)
    {
        id = default;
        if (text is null || !text.StartsWith(Prefix, StringComparison.Ordinal)
            || !long.TryParse(text.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }
        id = new PersonId(n);
        return true;
    }
}

/// <summary>An observation's id: its position in the append-only log, so lower ids were applied first.</summary>
public readonly record struct ObservationId(long Value) : IComparable<ObservationId>
{
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    public int CompareTo(ObservationId other) => Value.CompareTo(other.Value);

    public static bool TryParse([NotNullWhen(true)] string? text, out ObservationId id)
    {
        id = default;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }
        id = new ObservationId(n);
        return true;
    }
}
