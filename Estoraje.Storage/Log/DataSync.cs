using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Estoraje.Storage.Log;

/// <summary>
/// fdatasync of a segment file: its records and whatever metadata reading them back needs (its size), without the
/// timestamps an fsync also writes — what Redis uses for its AOF. A full flush elsewhere than Linux.
/// </summary>
internal static partial class DataSync
{
    public static void Flush(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Fdatasync((int)handle.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(int fd);
}
