using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Estoraje.Storage;

/// <summary>
/// Software prefetch: asks the CPU to start loading a cache line that a coming read will need, so that the loads
/// of several independent lookups overlap instead of waiting one after another. A hint only: an address that is no
/// longer what the caller meant costs a wasted load, never a wrong result. A no-op where SSE is not available.
/// </summary>
internal static unsafe class CacheLines
{
    /// <summary>Prefetches the line holding <paramref name="target"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch<T>(ref T target)
    {
        if (Sse.IsSupported)
            Sse.Prefetch0(Unsafe.AsPointer(ref target));
    }

    /// <summary>Prefetches the lines of <paramref name="bytes"/> bytes from <paramref name="target"/> (the first and the last).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch<T>(ref T target, int bytes)
    {
        if (!Sse.IsSupported)
            return;
        var start = (byte*)Unsafe.AsPointer(ref target);
        Sse.Prefetch0(start);
        if (bytes > 1)
            Sse.Prefetch0(start + bytes - 1);
    }
}
