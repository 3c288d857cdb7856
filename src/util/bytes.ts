// Byte handling that behaves the same in DeviceScript and in Node.
//
// The two runtimes share `Buffer` by name only. We rely on the common subset
// (alloc, length, indexing) and route everything else through this file:
// - DeviceScript has native blitAt/fillAt/getAt, far cheaper than byte loops in the VM.
// - Node has copy/fill/readUInt16BE.
// - `slice` copies in one runtime and aliases in the other, so the stack never uses it:
//   every view is (buffer, offset, length).
// - All stack memory comes from allocBytes(), so a test can prove that nothing is
//   allocated once the stack is running.

const probe: any = Buffer.alloc(2)
/** True on the DeviceScript VM, where Buffer has native blit/fill/getAt. */
export const NATIVE_BUFFERS: boolean = typeof probe.blitAt === "function"

let allocatedBytes = 0
let allocations = 0

/** Allocates a zeroed buffer and counts it. The only allocation point of the stack. */
export function allocBytes(size: number): Buffer {
    allocations++
    allocatedBytes += size
    return Buffer.alloc(size)
}

/** Number of allocBytes() calls and bytes since start (for the fixed-memory tests). */
export function allocationCount(): number {
    return allocations
}
export function allocatedByteCount(): number {
    return allocatedBytes
}

/** Copies len bytes; the two ranges must not overlap. */
export function copyBytes(dst: Buffer, dstOff: number, src: Buffer, srcOff: number, len: number): void {
    if (len <= 0) return
    if (NATIVE_BUFFERS) dst.blitAt(dstOff, src, srcOff, len)
    else (src as any).copy(dst, dstOff, srcOff, srcOff + len)
}

/** Sets len bytes starting at off to value (the stack only fills a few padding bytes). */
export function fillBytes(buf: Buffer, off: number, len: number, value: number): void {
    if (len <= 0) return
    if (NATIVE_BUFFERS) buf.fillAt(off, len, value)
    // Not Node's buf.fill(): DeviceScript would compile in Array.prototype.fill for any
    // `.fill` call on an untyped value (160 bytes of its 64 KB code budget).
    else for (let i = 0; i < len; i++) buf[off + i] = value
}

/** True when the two ranges hold the same bytes. */
export function bytesEqual(a: Buffer, aOff: number, b: Buffer, bOff: number, len: number): boolean {
    for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false
    return true
}

export function getU16BE(buf: Buffer, off: number): number {
    return (buf[off] << 8) | buf[off + 1]
}

export function setU16BE(buf: Buffer, off: number, value: number): void {
    buf[off] = (value >> 8) & 0xff
    buf[off + 1] = value & 0xff
}

export function getU32BE(buf: Buffer, off: number): number {
    return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0
}

export function setU32BE(buf: Buffer, off: number, value: number): void {
    buf[off] = (value >>> 24) & 0xff
    buf[off + 1] = (value >>> 16) & 0xff
    buf[off + 2] = (value >>> 8) & 0xff
    buf[off + 3] = value & 0xff
}

export function getU16LE(buf: Buffer, off: number): number {
    return buf[off] | (buf[off + 1] << 8)
}

export function setU16LE(buf: Buffer, off: number, value: number): void {
    buf[off] = value & 0xff
    buf[off + 1] = (value >> 8) & 0xff
}
