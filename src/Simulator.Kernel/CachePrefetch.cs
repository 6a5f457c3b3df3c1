using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Simulator.Kernel;

/// <summary>
/// Hints for the CPU's caches: ask for an object's memory before it is read, so that the misses of many cold objects
/// overlap instead of following one another. A hint only: nothing is read, no result can change.
/// </summary>
// Implementation note: a simulation of thousands of similar actors (the replicas of a fleet) touches a different, cold
// actor on almost every event. The reference is the object's address; it may be stale if a collection moves the object
// meanwhile, and a prefetch of any address is harmless (it never faults). Where the instruction is missing (not x86)
// the hint does nothing.
public static class CachePrefetch
{
    /// <summary>Asks for the first <paramref name="lines"/> 64-byte cache lines of <paramref name="target"/> (nothing when null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Object(object? target, int lines = 1)
    {
        if (!Sse.IsSupported || target is null) return;
        byte* at = (byte*)Unsafe.As<object, nint>(ref target);
        for (int line = 0; line < lines; line++) Sse.Prefetch0(at + line * 64);
    }
}
