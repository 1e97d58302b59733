using Microsoft.Extensions.Logging;

namespace OneId.Sandbox;

/// <summary>Source-generated log messages of the sandbox. Never log tokens, secrets, codes or session keys.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Sandbox world loaded: {Apps} apps, {Corps} corps, {Components} components")]
    public static partial void WorldLoaded(ILogger logger, int apps, int corps, int components);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Push {PushId} ({Event}) delivered to {Url} on attempt {Attempt}")]
    public static partial void PushDelivered(ILogger logger, long pushId, string @event, string url, int attempt);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Push {PushId} ({Event}) to {Url} failed on attempt {Attempt}: {Reason}")]
    public static partial void PushFailed(ILogger logger, long pushId, string @event, string url, int attempt, string reason);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Sandbox clock advanced by {Seconds} s to {Now}")]
    public static partial void ClockAdvanced(ILogger logger, double seconds, DateTimeOffset now);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Fault set on {Path}: errcode {Errcode}, times {Times}, delay {DelayMs} ms")]
    public static partial void FaultSet(ILogger logger, string path, int? errcode, int? times, int? delayMs);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Sandbox background loop failed")]
    public static partial void BackgroundFailed(ILogger logger, Exception exception);
}
