using System.Buffers;

namespace StreamGuard.Tests.Support;

/// <summary>
/// A memory pool whose buffers are at most <see cref="MaxBufferSize"/> bytes, so a <c>StreamPipeReader</c> built on
/// it produces a new segment every few bytes: split data without a hand-made sequence.
/// </summary>
internal sealed class TinyMemoryPool(int size) : MemoryPool<byte>
{
    public override int MaxBufferSize => size;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1) =>
        new Owner(new byte[Math.Clamp(minBufferSize, 1, size)]);

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Owner(byte[] array) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory => array;

        public void Dispose()
        {
        }
    }
}
