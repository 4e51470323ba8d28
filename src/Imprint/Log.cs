namespace Imprint;

/// <summary>Source-generated log messages with stable event ids: 1xxx hosting, 2xxx rematch, 3xxx API.</summary>
internal static partial class Log
{
    [LoggerMessage(1002, LogLevel.Information, "Created account 'default' and its admin token in {Path}")]
    public static partial void FirstStart(ILogger logger, string path);

    [LoggerMessage(1003, LogLevel.Information, "Filled the empty database with the demo ({Clouds} clouds, {Templates} ServerTemplates)")]
    public static partial void DemoCreated(ILogger logger, int clouds, int templates);

    [LoggerMessage(2001, LogLevel.Information, "Rematch of cloud {CloudId} ({CloudName}): {Status}, {Images} images (+{Added} -{Removed} ~{Changed}), settings +{Created} ~{Updated} -{Destroyed} in {Elapsed} ms")]
    public static partial void RematchDone(ILogger logger, string cloudId, string cloudName, string status, int images, int added, int removed, int changed, int created, int updated, int destroyed, long elapsed);

    [LoggerMessage(2002, LogLevel.Warning, "Rematch of cloud {CloudId} ({CloudName}) failed: {Error}")]
    public static partial void RematchFailed(ILogger logger, string cloudId, string cloudName, string error);

    [LoggerMessage(2003, LogLevel.Error, "Scheduled rematch of cloud {CloudId} crashed")]
    public static partial void ScheduledRematchCrashed(ILogger logger, Exception exception, string cloudId);

    [LoggerMessage(2004, LogLevel.Information, "Rematch of cloud {CloudId} waits: another process ({Owner}) is rematching it")]
    public static partial void RematchLeaseWaiting(ILogger logger, string cloudId, string owner);

    [LoggerMessage(2005, LogLevel.Warning, "Took over the rematch lease of cloud {CloudId} from {Owner}, a process of this machine that is no longer running")]
    public static partial void RematchLeaseTakenOver(ILogger logger, string cloudId, string owner);

    [LoggerMessage(2006, LogLevel.Warning, "Lost the rematch lease of cloud {CloudId} (held past its expiry by a stalled rematch?): this rematch will not write")]
    public static partial void RematchLeaseLost(ILogger logger, string cloudId);

    [LoggerMessage(2007, LogLevel.Warning, "Could not renew the rematch lease of cloud {CloudId}")]
    public static partial void RematchLeaseRenewalFailed(ILogger logger, Exception exception, string cloudId);

    [LoggerMessage(3001, LogLevel.Error, "Unhandled error on {Method} {Path}")]
    public static partial void Unhandled(ILogger logger, Exception exception, string method, string path);
}
