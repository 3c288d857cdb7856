// For the Node type-check only: DeviceScript's Buffer has native methods that
// Node's lacks. src/ calls them only behind NATIVE_BUFFERS (src/util/bytes.ts);
// getAt/setAt are compiler intrinsics in DeviceScript and must be called on a
// value typed Buffer with a literal format, so they need a declaration here.
export {}
declare global {
    interface Buffer {
        getAt(offset: number, format: "u8" | "u16" | "u32" | "i8" | "i16" | "i32"): number
        setAt(offset: number, format: "u8" | "u16" | "u32" | "i8" | "i16" | "i32", value: number): void
        blitAt(offset: number, src: Buffer, srcOffset: number, len: number): void
        fillAt(offset: number, length: number, value: number): void
    }
}
