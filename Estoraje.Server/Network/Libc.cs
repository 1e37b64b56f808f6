using System.Runtime.InteropServices;

namespace Estoraje.Server.Network;

/// <summary>
/// The Linux system calls the event loops make: epoll, an eventfd to wake a loop, and non-blocking reads and
/// sends on sockets the .NET <see cref="System.Net.Sockets.Socket"/> owns (it accepts, configures and closes them);
/// and a thread's scheduling policy, for background work.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int EAGAIN = 11;
    public const int EINTR = 4;

    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;

    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;

    private const int EPOLL_CLOEXEC = 0x80000;
    private const int EFD_CLOEXEC = 0x80000;
    private const int EFD_NONBLOCK = 0x800;
    private const int MSG_NOSIGNAL = 0x4000;

    // struct epoll_event { uint32_t events; uint64_t data; } is packed on x86-64 (12 bytes), padded elsewhere (16).
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 12 : 16;
    private static readonly int s_dataOffset = EventSize == 12 ? 4 : 8;

    public static uint EventFlags(byte* events, int index) => *(uint*)(events + index * EventSize);

    public static ulong EventData(byte* events, int index) =>
        System.Runtime.CompilerServices.Unsafe.ReadUnaligned<ulong>(events + index * EventSize + s_dataOffset);

    public static int EpollCreate() => epoll_create1(EPOLL_CLOEXEC);

    /// <summary>Adds, changes or removes <paramref name="fd"/>'s interest; returns 0 or the errno.</summary>
    public static int EpollControl(int epoll, int operation, int fd, uint events, ulong data)
    {
        var buffer = stackalloc byte[16];
        *(uint*)buffer = events;
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(buffer + s_dataOffset, data);
        return epoll_ctl(epoll, operation, fd, buffer) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static int EpollWait(int epoll, byte* events, int capacity, int timeoutMs) => epoll_wait(epoll, events, capacity, timeoutMs);

    public static int EventFd() => eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    /// <summary>Reads at most <paramref name="length"/> bytes; the count, 0 at end of stream, or −errno.</summary>
    public static long Read(int fd, byte* buffer, int length)
    {
        var n = read(fd, buffer, length);
        return n >= 0 ? n : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Sends without raising SIGPIPE; the count sent or −errno.</summary>
    public static long Send(int fd, byte* buffer, int length)
    {
        var n = send(fd, buffer, length, MSG_NOSIGNAL);
        return n >= 0 ? n : -Marshal.GetLastPInvokeError();
    }

    /// <summary>One gathered buffer of <see cref="SendGathered"/>: <c>struct iovec</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVector
    {
        public void* Base;
        public nuint Length;
    }

    // struct msghdr, as laid out on 64-bit Linux.
    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>
    /// Sends the <paramref name="count"/> buffers of <paramref name="vectors"/> in one system call, without raising
    /// SIGPIPE; the count sent (possibly short) or −errno.
    /// </summary>
    public static long SendGathered(int fd, IoVector* vectors, int count)
    {
        var header = new MessageHeader { Vectors = vectors, VectorCount = (nuint)count };
        var n = sendmsg(fd, &header, MSG_NOSIGNAL);
        return n >= 0 ? n : -Marshal.GetLastPInvokeError();
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint sendmsg(int fd, MessageHeader* message, int flags);

    public static void Write8(int fd, ulong value) => write(fd, &value, sizeof(ulong));

    public static void Read8(int fd)
    {
        ulong value;
        read(fd, &value, sizeof(ulong));
    }

    private const int SCHED_OTHER = 0;
    private const int SCHED_IDLE = 5;

    /// <summary>
    /// Puts the calling thread under SCHED_IDLE (Linux's scheduling policies are per thread: pid 0 is the caller):
    /// it runs on what other threads leave, and any other thread that wakes up takes its core at once. True when
    /// it took.
    /// </summary>
    public static bool SetThreadIdlePolicy() => SetPolicy(0, SCHED_IDLE);

    /// <summary>Puts thread <paramref name="tid"/> back under the normal policy (SCHED_OTHER). True when it took.</summary>
    public static bool SetThreadNormalPolicy(int tid) => SetPolicy(tid, SCHED_OTHER);

    // Both policies take a static priority of 0.
    private static bool SetPolicy(int tid, int policy)
    {
        var priority = 0;
        return sched_setscheduler(tid, policy, &priority) == 0;
    }

    /// <summary>The calling thread's id (its TID, as in <c>/proc/&lt;pid&gt;/task</c>).</summary>
    public static int ThreadId() => gettid();

    [LibraryImport(Library, SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, int* param);

    [LibraryImport(Library)]
    private static partial int gettid();

    [LibraryImport(Library, SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, byte* eventBuffer);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint read(int fd, void* buffer, nint count);

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint write(int fd, void* buffer, nint count);

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint send(int fd, void* buffer, nint count, int flags);

}
