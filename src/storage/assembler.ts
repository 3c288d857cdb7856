// Out-of-order reassembly bookkeeping for a receive ring.
//
// Decision: out-of-order data is written straight into the receive ring's free space at
// its offset from RCV.NXT (RingBuffer.writeAt), and this class only remembers which byte
// ranges of that space hold data. Ranges are kept sorted, merged when they touch, and
// bounded (`maxRanges`, e.g. 4): a segment that would need one more disjoint range is
// refused (the sender will retransmit it), so memory never grows. When the bytes at
// offset 0 arrive, popFront() says how many contiguous bytes became in-order.
// Offsets are relative to the current RCV.NXT; popFront() shifts them.

/** @devsWhenUsed */
export class Assembler {
    readonly maxRanges: number
    /** starts[i] <= ends[i] (exclusive), sorted, disjoint and not touching. */
    private starts: number[] = []
    private ends: number[] = []
    private count = 0

    constructor(maxRanges: number) {
        this.maxRanges = maxRanges
        for (let i = 0; i < maxRanges; i++) {
            this.starts.push(0)
            this.ends.push(0)
        }
    }

    clear(): void {
        this.count = 0
    }

    isEmpty(): boolean {
        return this.count === 0
    }

    rangeCount(): number {
        return this.count
    }

    rangeStart(i: number): number {
        return this.starts[i]
    }

    rangeEnd(i: number): number {
        return this.ends[i]
    }

    /**
     * Records that bytes [offset, offset+len) are present. Returns false, changing
     * nothing, when that would need more than maxRanges disjoint ranges.
     */
    add(offset: number, len: number): boolean {
        if (len <= 0) return true
        const start = offset
        const end = offset + len
        let i = 0
        while (i < this.count && this.ends[i] < start) i++
        let j = i
        while (j < this.count && this.starts[j] <= end) j++
        if (i === j) {
            if (this.count === this.maxRanges) return false
            for (let k = this.count; k > i; k--) {
                this.starts[k] = this.starts[k - 1]
                this.ends[k] = this.ends[k - 1]
            }
            this.starts[i] = start
            this.ends[i] = end
            this.count++
            return true
        }
        // Ranges i..j-1 touch [start, end): merge them into range i.
        if (this.starts[i] > start) this.starts[i] = start
        this.ends[i] = this.ends[j - 1] > end ? this.ends[j - 1] : end
        const removed = j - i - 1
        if (removed > 0) {
            for (let k = i + 1; k + removed < this.count; k++) {
                this.starts[k] = this.starts[k + removed]
                this.ends[k] = this.ends[k + removed]
            }
            this.count -= removed
        }
        return true
    }

    /**
     * If data starts at offset 0, removes that range, shifts the others down by its
     * length and returns the length; otherwise returns 0.
     */
    popFront(): number {
        if (this.count === 0 || this.starts[0] !== 0) return 0
        const n = this.ends[0]
        for (let k = 1; k < this.count; k++) {
            this.starts[k - 1] = this.starts[k] - n
            this.ends[k - 1] = this.ends[k] - n
        }
        this.count--
        return n
    }
}
