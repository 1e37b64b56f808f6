namespace Estoraje.Resp;

/// <summary>Limits the request parser enforces, with Redis's defaults.</summary>
public sealed record RespLimits
{
    /// <summary>Largest bulk string accepted (Redis <c>proto-max-bulk-len</c>, 512 MB).</summary>
    public long MaxBulkLength { get; init; } = 512L * 1024 * 1024;

    /// <summary>Largest element count of a multibulk request (Redis: <c>INT_MAX</c>).</summary>
    public long MaxMultiBulkLength { get; init; } = int.MaxValue;

    /// <summary>Longest inline command line, and longest <c>*n</c> / <c>$n</c> header line (Redis <c>PROTO_INLINE_MAX_SIZE</c>).</summary>
    public int MaxInlineLength { get; init; } = 64 * 1024;

    /// <summary>Largest request held in the query buffer of one client (Redis <c>client-query-buffer-limit</c>, 1 GB).</summary>
    public long MaxQueryBuffer { get; init; } = 1024L * 1024 * 1024;

    /// <summary>Element count above which an unauthenticated client's request is refused (Redis 7).</summary>
    public int MaxUnauthenticatedMultiBulkLength { get; init; } = 10;

    /// <summary>Bulk length above which an unauthenticated client's request is refused (Redis 7).</summary>
    public int MaxUnauthenticatedBulkLength { get; init; } = 16384;

    /// <summary>The defaults.</summary>
    public static RespLimits Default { get; } = new();
}
