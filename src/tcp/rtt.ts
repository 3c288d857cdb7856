// Retransmission timeout per RFC 6298: smoothed RTT, RTT variance, clamped RTO with
// exponential back-off. Times in ms. The minimum is configurable (RFC 6298 §2.4 says
// 1 s; Linux uses 200 ms, which suits a LAN device; we default to 200 ms).

/** Clock granularity G of RFC 6298 §2: our clock ticks in milliseconds. */
const CLOCK_GRANULARITY_MS = 1

/** @devsWhenUsed */
export class RttEstimator {
    // (srtt, rttvar, hasSample and rto are set by reset(), which the constructor calls.)
    /** Smoothed RTT and variance; meaningful once hasSample is true. */
    srtt: number
    rttvar: number
    hasSample: boolean
    /** Current timeout, back-off included. */
    rto: number
    minRto: number
    maxRto: number
    initialRto: number

    constructor(initialRto: number, minRto: number, maxRto: number) {
        this.initialRto = initialRto
        this.minRto = minRto
        this.maxRto = maxRto
        this.reset()
    }

    /** Back to "no measurement yet" (RFC 6298 §2.1: RTO = 1 s initially). */
    reset(): void {
        this.srtt = 0
        this.rttvar = 0
        this.hasSample = false
        this.rto = this.clamp(this.initialRto)
    }

    /** Takes one RTT measurement r (ms) from a segment that was not retransmitted (Karn). */
    sample(r: number): void {
        if (r < 0) r = 0
        if (!this.hasSample) {
            // RFC 6298 §2.2
            this.srtt = r
            this.rttvar = r / 2
            this.hasSample = true
        } else {
            // RFC 6298 §2.3, alpha = 1/8, beta = 1/4
            const diff = this.srtt > r ? this.srtt - r : r - this.srtt
            this.rttvar = (3 * this.rttvar + diff) / 4
            this.srtt = (7 * this.srtt + r) / 8
        }
        const k = 4 * this.rttvar
        this.rto = this.clamp(Math.ceil(this.srtt + (k > CLOCK_GRANULARITY_MS ? k : CLOCK_GRANULARITY_MS)))
    }

    /** RFC 6298 §5.5: the timer expired, double the RTO (up to the maximum). */
    backoff(): void {
        this.rto = this.clamp(this.rto * 2)
    }

    /** RFC 6298 §5.7: after a retransmitted SYN, data starts with an RTO of at least 3 s. */
    afterSynRetransmit(): void {
        if (!this.hasSample && this.rto < 3000) this.rto = this.clamp(3000)
    }

    private clamp(v: number): number {
        if (v < this.minRto) return this.minRto
        if (v > this.maxRto) return this.maxRto
        return v
    }
}
