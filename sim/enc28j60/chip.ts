// Register-level model of the Microchip ENC28J60 (datasheet DS39662E, errata DS80349C).
//
// The SPI side decodes commands byte by byte exactly as section 4.2 describes; the wire
// side takes and gives whole frames. Everything the driver can observe — registers,
// buffer memory, the receive ring, transmit status vectors, MII timing — follows the
// datasheet, and every datasheet rule a driver breaks is appended to `violations` while
// the model goes on behaving as the chip would. Errata behaviours are modelled
// deterministically and named by their DS80349C number.
//
// Time comes from a SimClock. Timed events (MII busy, transmit frame time, DMA,
// oscillator start-up) are settled lazily whenever the chip is touched (select(),
// deliverFromWire(), setLink(), poll()).

import { SimClock, VirtualClock } from "../clock"
import { appendFcs, fcsValid } from "./crc32"
import { ChipFaults } from "./faults"
import { isControlFrame, isVlanFrame } from "./frame-info"
import { Mii } from "./mii"
import { Phy } from "./phy"
import * as R from "./registers"
import { MEM_MASK, MEM_SIZE, advanceRing, inRing, readLinear, readRing, ringDistance, stepRing, writeLinear, writeRing } from "./ring"
import { passesFilters, receiveStatusBits } from "./rx-filter"
import { TSV_LEN, TsvFields, TxSettings, txSettings, writeTsv } from "./tx-frame"

export { ChipFaults }

export interface ChipOptions {
    /** EREVID: 0x02 B1, 0x04 B4, 0x05 B5, 0x06 B7 (default). */
    revision?: number
    /** Defaults to the chip's own VirtualClock. */
    clock?: SimClock
    /** SPI clock the host runs (errata 1 checks it; ChipSpiBus times bytes with it). Default 20 MHz. */
    sckHz?: number
}

export interface ChipStats {
    rxAccepted: number
    rxFiltered: number
    rxOverflow: number
    rxCrcErrors: number
    txFrames: number
    txAborts: number
    lateCollisions: number
    spiBytes: number
    resets: number
    /** Frames that arrived while reception was off (RXEN, MARXEN, PWRSV, RXRST). */
    rxDisabled: number
    /** Frames longer than MAMXFL without HFRMEN, or larger than the buffer. */
    rxTooLong: number
    /** Errata 17: frames lost to a DMA checksum in progress. */
    rxDmaAborts: number
    /** Frames offered while the PHY had no carrier (cable out, PHY power-down, loopback). */
    rxNoLink: number
    /** Transmitted frames that reached no wire (link down, TXDIS). */
    txNotOnWire: number
    /** Transmitted frames whose host-supplied FCS was wrong (receivers drop them). */
    txBadCrc: number
    /** DMA copy / checksum operations started. */
    dmaOps: number
}

// SPI decoder states.
const S_DESELECTED = 0
const S_IDLE = 1
const S_RCR = 2
const S_WCR = 3
const S_BFS = 4
const S_BFC = 5
const S_RBM = 6
const S_WBM = 7
const S_DONE = 8
const S_IGNORED = 9

// How a register write arrived.
const BY_WCR = 0
const BY_BFS = 1
const BY_BFC = 2

/** Section 2.2: the oscillator start-up timer runs 300 µs after power-on or power-save exit. */
const OST_US = 300
/** Errata 2: after SRC the chip needs 1 ms although CLKRDY may read 1 at once. */
const SRC_SETTLE_US = 1000
/** 10BASE-T: 0.8 µs per byte. */
const WIRE_BYTE_US = 0.8
/** Preamble + start-of-frame delimiter, and the inter-frame gap, in bytes. */
const PREAMBLE_BYTES = 8
const IFG_BYTES = 12
/** DMA speed (unconfirmed: one byte per two 25 MHz cycles). */
const DMA_BYTE_US = 0.08
/** Errata 1: MAC/MII access is unreliable below this SCK on B1 and B4. */
const MIN_SCK_B1_B4 = 8e6
const MAX_VIOLATIONS = 1000

const TX_OK = 0
const TX_LATE_COLLISION = 1
const TX_ABORT_STUCK = 2

export class Enc28j60Chip {
    readonly revision: number
    readonly clock: SimClock
    sckHz: number
    /** Called with each frame the chip puts on the wire (no FCS; the buffer is reused). */
    onWireTransmit: ((frame: Buffer) => void) | null = null
    stats: ChipStats = {
        rxAccepted: 0, rxFiltered: 0, rxOverflow: 0, rxCrcErrors: 0, txFrames: 0, txAborts: 0,
        lateCollisions: 0, spiBytes: 0, resets: 0, rxDisabled: 0, rxTooLong: 0, rxDmaAborts: 0,
        rxNoLink: 0, txNotOnWire: 0, txBadCrc: 0, dmaOps: 0,
    }
    /** Datasheet rules the driver broke, in order (at most 1000 kept). */
    violations: string[] = []
    /** Violations beyond the first 1000. */
    violationsDropped = 0
    faults = new ChipFaults()

    private readonly mem = Buffer.alloc(MEM_SIZE)
    /** The register file, indexed by register key (see registers.ts). */
    private readonly regs = new Uint8Array(0x80)
    private readonly phy = new Phy()
    /** Time of the current command, settled by service(). */
    private now = 0

    // SPI command decoder.
    private state = S_DESELECTED
    private cmdKey = 0
    private cmdMacMii = false
    private cmdBytes = 0
    private cmdExtraReported = false

    // Receive logic.
    /** The receive hardware's internal write pointer (ERXWRPT). */
    private rxWp = 0
    /** ERXRDPTL is held here until ERXRDPTH is written (section 7.2.4). */
    private rdptLatch = 0
    /** A packet was lost since the last one stored (RSV bit 16). */
    private rxDropped = false

    // Clocking.
    private oscReadyAt = 0
    private srcSettleUntil = 0

    private readonly mii = new Mii({
        regs: this.regs,
        phy: this.phy,
        nowUs: () => this.now,
        powerSave: () => (this.regs[R.ECON2] & R.ECON2_PWRSV) !== 0,
        violate: (msg) => this.violate(msg),
    })

    // Transmit.
    private txInFlight = false
    private txDoneAt = Infinity
    private txOutcome = TX_OK
    private txWaitingDma = false
    /** Errata 12: the transmit logic is stalled until TXRST is pulsed. */
    private txStalled = false
    /** Errata 12: releasing TXRST after a stall raises TXERIF again. */
    private txErrorOnRstRelease = false

    // DMA.
    private dmaExecuting = false
    private dmaDoneAt = Infinity
    private dmaWaitingTx = false
    private dmaChecksum = false
    private dmaCount = 0

    // Scratch space, allocated once.
    private readonly rxFrame = Buffer.alloc(MEM_SIZE + 8)
    private readonly txFrame = Buffer.alloc(MEM_SIZE + 8)
    private readonly dmaScratch = Buffer.alloc(MEM_SIZE)
    private readonly header = Buffer.alloc(6)
    private readonly tsvBytes = Buffer.alloc(TSV_LEN)
    private readonly txSet: TxSettings = { padTo: 0, appendCrc: false, huge: false, padWithoutTxcrcen: false }
    private readonly tsv: TsvFields = { byteCount: 0, crcError: false, done: false, lateCollision: false, giant: false, wireBytes: 0 }

    constructor(opts?: ChipOptions) {
        const o = opts || {}
        this.revision = o.revision !== undefined ? o.revision & 0xff : 0x06
        this.clock = o.clock || new VirtualClock()
        this.sckHz = o.sckHz || 20e6
        this.powerOn()
    }

    // ---------------------------------------------------------------- SPI side

    /** CS low: a new command starts with the next byte. */
    select(): void {
        if (this.state !== S_DESELECTED) {
            this.violate("SPI: select() while CS is already low (the previous command was never ended)")
            this.endCommand()
        }
        this.service()
        this.state = S_IDLE
    }

    /** CS high: ends the command (and any RBM/WBM stream). */
    deselect(): void {
        if (this.state === S_DESELECTED) return
        this.endCommand()
        this.state = S_DESELECTED
    }

    /** One SPI byte: MOSI in, MISO out. */
    exchange(mosi: number): number {
        let out = 0xff
        switch (this.state) {
            case S_RBM:
                out = this.rbmByte()
                break
            case S_WBM:
                this.wbmByte(mosi & 0xff)
                break
            case S_IDLE:
                this.decode(mosi & 0xff)
                break
            case S_RCR:
                out = this.rcrByte()
                break
            case S_WCR:
            case S_BFS:
            case S_BFC:
                this.writeCommandByte(mosi & 0xff)
                break
            case S_DONE:
                this.extraByte()
                break
            case S_IGNORED:
                out = 0
                break
            default:
                this.violate("SPI: byte clocked while CS is high (ignored by the chip)")
                return 0xff
        }
        this.stats.spiBytes++
        const f = this.faults
        if (f.spiGarbageProbability > 0 && f.spiGarbageRng() < f.spiGarbageProbability) out = Math.floor(f.spiGarbageRng() * 256) & 0xff
        return out
    }

    /**
     * exchange() over buf[off..off+len), in place. Buffer-memory streams are copied in
     * runs rather than byte by byte.
     */
    transfer(buf: Uint8Array, off: number, len: number): void {
        const end = off + len
        let i = off
        while (i < end) {
            const bulk = this.faults.spiGarbageProbability === 0 && !this.txInFlight
            if (bulk && this.state === S_RBM && this.regs[R.ECON2] & R.ECON2_AUTOINC) {
                const p = this.u16(R.ERDPTL)
                const next = readRing(this.mem, p, buf, i, end - i, this.u16(R.ERXSTL), this.u16(R.ERXNDL))
                this.setU16(R.ERDPTL, next)
                this.stats.spiBytes += end - i
                return
            }
            if (bulk && this.state === S_WBM && this.regs[R.ECON2] & R.ECON2_AUTOINC) {
                const p = this.u16(R.EWRPTL)
                writeLinear(this.mem, p, buf, i, end - i)
                this.setU16(R.EWRPTL, (p + end - i) & MEM_MASK)
                buf.fill(0xff, i, end)
                this.stats.spiBytes += end - i
                return
            }
            buf[i] = this.exchange(buf[i])
            i++
        }
    }

    // ---------------------------------------------------------------- wire side

    /**
     * A frame (no FCS, destination first) arrives at the jack. Short frames are padded
     * to 60 bytes as the sending MAC would; the FCS is computed here. Returns false when
     * the chip does not store it (no link, receiver off, filtered, overflow, ...).
     */
    deliverFromWire(frame: Buffer): boolean {
        this.service()
        if (!this.phy.carrier()) {
            this.stats.rxNoLink++
            return false
        }
        return this.receiveFrame(frame, frame.length)
    }

    /** Plugs (true) or unplugs (false) the cable. */
    setLink(up: boolean): void {
        this.service()
        this.phy.setCable(up)
    }

    /** Settles timed events up to the clock's present (the simulator may call this freely). */
    poll(): void {
        this.service()
    }

    /** The RESET pin: like power-on, except that the buffer memory keeps its contents. */
    hardwareReset(): void {
        this.stats.resets++
        this.powerOn()
    }

    /**
     * A power glitch (brown-out, a module re-plugged): like the RESET pin, and the buffer
     * memory loses its contents too (modelled as zeros).
     */
    powerCycle(): void {
        this.mem.fill(0)
        this.hardwareReset()
    }

    /** The INT pin is low (asserted): an enabled interrupt flag is set and EIE.INTIE is on. */
    intAsserted(): boolean {
        this.service()
        return this.intPending()
    }

    // ---------------------------------------------------------------- test helpers

    /** A register's value as RCR would return it now, without read side effects or rule checks. */
    peekRegister(bank: number, addr: number): number {
        this.service()
        return this.peekKey(R.regKey(bank & 3, addr & 0x1f))
    }

    /** A 16-bit register pair (low address given). */
    peekRegister16(bank: number, addrL: number): number {
        return this.peekRegister(bank, addrL) | (this.peekRegister(bank, addrL + 1) << 8)
    }

    /** A copy of len bytes of buffer memory from addr on (wrapping at 0x1FFF). */
    peekBuffer(addr: number, len: number): Buffer {
        this.service()
        const out = Buffer.alloc(len)
        readLinear(this.mem, addr & MEM_MASK, out, 0, len)
        return out
    }

    /** Writes bytes straight into buffer memory (wrapping at 0x1FFF). */
    pokeBuffer(addr: number, data: Uint8Array): void {
        writeLinear(this.mem, addr & MEM_MASK, data, 0, data.length)
    }

    /** A PHY register without side effects. */
    peekPhy(addr: number): number {
        this.service()
        return this.phy.peek(addr & 0x1f)
    }

    /** The MAC address in MAADR1-6, first octet first. */
    macAddress(): Buffer {
        const b = Buffer.alloc(6)
        for (let i = 0; i < 6; i++) b[i] = this.regs[R.MAADR_KEYS[i]]
        return b
    }

    /** The receive hardware's write pointer. */
    rxWritePointer(): number {
        return this.rxWp
    }

    /** True while a transmission is on the wire or waiting for the DMA. */
    txBusy(): boolean {
        return this.txInFlight || this.txWaitingDma
    }

    // ---------------------------------------------------------------- SPI decoding

    private decode(b: number): void {
        const op = b >> 5
        const arg = b & 0x1f
        const key = R.regKey(this.regs[R.ECON1] & R.ECON1_BSEL, arg)
        this.cmdBytes = 0
        this.cmdExtraReported = false
        this.cmdKey = key
        this.cmdMacMii = R.isMacMii(key)
        if (this.now < this.srcSettleUntil && !(op === R.OP_RCR && key === R.ESTAT)) {
            // Errata 2: CLKRDY can read 1 right after SRC; the chip is not usable for 1 ms.
            this.violate(`[errata 2] command 0x${hex2(b)} within 1 ms of a system reset (SRC): ignored`)
            this.state = S_IGNORED
            return
        }
        switch (op) {
            case R.OP_RCR:
                this.state = S_RCR
                return
            case R.OP_WCR:
                this.state = S_WCR
                return
            case R.OP_BFS:
            case R.OP_BFC:
                if (this.cmdMacMii) this.violate(`BFS/BFC on MAC/MII register ${R.regName(key)} has no effect (section 4.2.5)`)
                this.state = op === R.OP_BFS ? S_BFS : S_BFC
                return
            case R.OP_RBM:
            case R.OP_WBM:
                if (arg !== R.ARG_BUFFER) this.violate(`SPI: ${op === R.OP_RBM ? "RBM" : "WBM"} with argument 0x${hex2(arg)} instead of 0x1A`)
                this.state = op === R.OP_RBM ? S_RBM : S_WBM
                return
            case R.OP_SRC:
                if (b === 0xff) this.systemResetCommand()
                else this.violate(`SPI: unknown opcode 0x${hex2(b)}`)
                this.state = S_DONE
                return
            default:
                this.violate(`SPI: unknown opcode 0x${hex2(b)}`)
                this.state = S_DONE
        }
    }

    private rcrByte(): number {
        this.cmdBytes++
        const key = this.cmdKey
        // Section 4.2.1 / Figure 4-4: MAC and MII registers shift out a dummy byte first.
        if (this.cmdMacMii && this.cmdBytes === 1) return ~this.peekKey(key) & 0xff
        if (this.cmdBytes === (this.cmdMacMii ? 2 : 1)) return this.readReg(key)
        this.extraByte()
        return this.peekKey(key)
    }

    private writeCommandByte(v: number): void {
        this.cmdBytes++
        if (this.cmdBytes > 1) {
            this.extraByte()
            return
        }
        const key = this.cmdKey
        if (this.state === S_WCR) {
            this.writeReg(key, v, BY_WCR, v)
        } else if (!this.cmdMacMii) {
            const old = this.regs[key]
            if (this.state === S_BFS) this.writeReg(key, old | v, BY_BFS, v)
            else this.writeReg(key, old & ~v, BY_BFC, v)
        }
    }

    private extraByte(): void {
        if (this.cmdExtraReported) return
        this.cmdExtraReported = true
        this.violate(`SPI: extra bytes clocked after a complete command (${this.commandName()})`)
    }

    private endCommand(): void {
        const name = this.commandName()
        if (this.state === S_RCR) {
            if (this.cmdBytes === 0) this.violate(`SPI: ${name} ended before its data byte`)
            else if (this.cmdMacMii && this.cmdBytes === 1)
                this.violate(`SPI: ${name} of a MAC/MII register read without the dummy byte (section 4.2.1)`)
        } else if ((this.state === S_WCR || this.state === S_BFS || this.state === S_BFC) && this.cmdBytes === 0) {
            this.violate(`SPI: ${name} ended before its data byte`)
        }
    }

    private commandName(): string {
        const reg = R.regName(this.cmdKey)
        switch (this.state) {
            case S_RCR: return `RCR ${reg}`
            case S_WCR: return `WCR ${reg}`
            case S_BFS: return `BFS ${reg}`
            case S_BFC: return `BFC ${reg}`
            case S_RBM: return "RBM"
            case S_WBM: return "WBM"
            default: return "command"
        }
    }

    private rbmByte(): number {
        const p = this.u16(R.ERDPTL)
        if (this.txInFlight) this.checkTxBufferAccess(p, "read")
        const v = this.mem[p]
        if (this.regs[R.ECON2] & R.ECON2_AUTOINC) this.setU16(R.ERDPTL, stepRing(p, this.u16(R.ERXSTL), this.u16(R.ERXNDL)))
        return v
    }

    private wbmByte(v: number): void {
        const p = this.u16(R.EWRPTL)
        if (this.txInFlight) this.checkTxBufferAccess(p, "written")
        this.mem[p] = v
        if (this.regs[R.ECON2] & R.ECON2_AUTOINC) this.setU16(R.EWRPTL, (p + 1) & MEM_MASK)
    }

    /** Section 7.1: while transmitting, the bytes being sent must not be read or written over SPI. */
    private checkTxBufferAccess(p: number, how: string): void {
        const st = this.u16(R.ETXSTL)
        const len = (this.u16(R.ETXNDL) - st) & MEM_MASK
        if (((p - st) & MEM_MASK) <= len)
            this.violate(`transmit buffer byte 0x${hex4(p)} ${how} over SPI while the frame is being sent (section 7.1)`)
    }

    // ---------------------------------------------------------------- register reads

    /** RCR of a register: rule checks and read side effects, then the value. */
    private readReg(key: number): number {
        if (this.cmdMacMii && !this.macAccessAllowed(key)) return 0
        if (key === R.MIRDL || key === R.MIRDH) return this.mii.readData(key)
        return this.peekKey(key)
    }

    /** A register's value with no side effects. */
    private peekKey(key: number): number {
        const r = this.regs
        switch (key) {
            case R.EIR: {
                let v = r[R.EIR]
                if (r[R.EPKTCNT] > 0 && !this.faults.pktifUnreliable) v |= R.EIR_PKTIF
                if (this.phy.linkInterrupt()) v |= R.EIR_LINKIF
                return v
            }
            case R.ESTAT:
                return r[R.ESTAT] | (this.clkrdy() ? R.ESTAT_CLKRDY : 0) | (this.intPending() ? R.ESTAT_INT : 0)
            case R.ERXWRPTL:
                return this.rxWp & 0xff
            case R.ERXWRPTH:
                return this.rxWp >> 8
            case R.MISTAT:
                return this.mii.status()
            case R.MIRDL:
            case R.MIRDH:
                return this.mii.peekData(key)
            case R.EREVID:
                return this.revision
            default:
                return r[key]
        }
    }

    // ---------------------------------------------------------------- register writes

    /** value: the new register value (for BFS/BFC already combined with the old one); mask: the command's data byte. */
    private writeReg(key: number, value: number, by: number, mask: number): void {
        if (this.cmdMacMii && !this.macAccessAllowed(key)) return
        const r = this.regs
        switch (key) {
            case R.EIR:
                // R/C flags: software can clear them, never set them; PKTIF and LINKIF are read-only.
                r[R.EIR] &= value
                return
            case R.ESTAT:
                r[R.ESTAT] &= value
                return
            case R.ECON2:
                this.writeEcon2(value)
                return
            case R.ECON1:
                this.writeEcon1(value, by, mask)
                return
            case R.ERXSTL:
            case R.ERXSTH:
            case R.ERXNDL:
            case R.ERXNDH:
                this.writeRxBounds(key, value)
                return
            case R.ERXRDPTL:
                this.rdptLatch = value
                return
            case R.ERXRDPTH:
                this.writeRxReadPointer(value)
                return
            case R.ETXSTL:
            case R.ETXSTH:
            case R.ETXNDL:
            case R.ETXNDH:
                if (r[R.ECON1] & R.ECON1_TXRTS)
                    this.violate(`${R.regName(key)} written while ECON1.TXRTS is set (section 7.1)`)
                this.store(key, value)
                return
            case R.EDMASTL:
            case R.EDMASTH:
            case R.EDMANDL:
            case R.EDMANDH:
            case R.EDMADSTL:
            case R.EDMADSTH:
                if (this.dmaExecuting || this.dmaWaitingTx)
                    this.violate(`${R.regName(key)} written while a DMA operation is in progress (section 13.0)`)
                this.store(key, value)
                return
            case R.EPKTCNT:
            case R.ERXWRPTL:
            case R.ERXWRPTH:
            case R.EREVID:
            case R.MISTAT:
            case R.MIRDL:
            case R.MIRDH:
                this.violate(`write to read-only register ${R.regName(key)} (ignored)`)
                return
            case R.MICMD:
                this.mii.writeCommand(value)
                return
            case R.MIREGADR:
            case R.MIWRL:
                this.mii.writeOperand(key, value)
                return
            case R.MIWRH:
                this.mii.writeHigh(value)
                return
            default:
                this.store(key, value)
        }
    }

    private store(key: number, value: number): void {
        const mask = R.WRITE_MASK[key]
        if (mask === undefined) return
        this.regs[key] = (this.regs[key] & ~mask) | (value & mask)
    }

    /** Rules for any MAC/MII register access; false = the access does not happen. */
    private macAccessAllowed(key: number): boolean {
        if (!this.clkrdy()) {
            this.violate(`MAC/MII register ${R.regName(key)} accessed before ESTAT.CLKRDY (section 2.2): ignored`)
            return false
        }
        if ((this.revision === 0x02 || this.revision === 0x04) && this.sckHz < MIN_SCK_B1_B4) {
            this.violate(`[errata 1] MAC/MII register ${R.regName(key)} accessed with SCK ${this.sckHz} Hz < 8 MHz on rev B1/B4: access lost`)
            return false
        }
        return true
    }

    private writeEcon2(value: number): void {
        const r = this.regs
        const old = r[R.ECON2]
        if (value & R.ECON2_PKTDEC) this.decrementPacketCount()
        const keep = R.ECON2_AUTOINC | R.ECON2_PWRSV | R.ECON2_VRPS
        const now = (old & ~keep) | (value & keep)
        r[R.ECON2] = now
        if (now & R.ECON2_PWRSV && !(old & R.ECON2_PWRSV)) {
            // Section 10: stop reception and wait for transmission to end before power-save.
            if (r[R.ECON1] & (R.ECON1_RXEN | R.ECON1_TXRTS))
                this.violate("ECON2.PWRSV set while ECON1.RXEN or TXRTS is set (section 10: stop both first)")
        }
        if (old & R.ECON2_PWRSV && !(now & R.ECON2_PWRSV)) this.oscReadyAt = this.now + OST_US
    }

    private decrementPacketCount(): void {
        const r = this.regs
        if (r[R.EPKTCNT] === 0) {
            this.violate("ECON2.PKTDEC with EPKTCNT = 0")
            return
        }
        r[R.EPKTCNT]--
    }

    private writeEcon1(value: number, by: number, mask: number): void {
        const r = this.regs
        const old = r[R.ECON1]
        if (by === BY_BFS && mask & R.ECON1_TXRTS && old & R.ECON1_TXRTS)
            this.violate("transmission requested (BFS ECON1.TXRTS) while TXRTS is already set")
        if (this.dmaExecuting && (value ^ old) & R.ECON1_CSUMEN)
            this.violate("ECON1.CSUMEN changed while a DMA operation is in progress (section 13.0)")
        r[R.ECON1] = value
        const rise = value & ~old
        const fall = old & ~value

        if (rise & R.ECON1_TXRST) this.resetTransmitLogic()
        if (fall & R.ECON1_TXRST && this.txErrorOnRstRelease) {
            // Errata 12: clearing TXRST may raise a new transmit error interrupt.
            this.txErrorOnRstRelease = false
            r[R.EIR] |= R.EIR_TXERIF
        }
        if (rise & R.ECON1_RXRST) this.resetReceiveLogic()

        if (fall & R.ECON1_DMAST) this.cancelDma()
        if (rise & R.ECON1_DMAST) this.requestDma()

        if (fall & R.ECON1_TXRTS) this.cancelTransmit()
        if (rise & R.ECON1_TXRTS) this.requestTransmit()

        if (rise & R.ECON1_RXEN) this.enableReceive()
    }

    // ---------------------------------------------------------------- receive buffer

    private writeRxBounds(key: number, value: number): void {
        if (this.regs[R.ECON1] & R.ECON1_RXEN)
            this.violate(`${R.regName(key)} written while ECON1.RXEN is set (section 3.2.1)`)
        this.store(key, value)
        // Errata 5: writing ERXST or ERXND can load 0x0000 into the internal receive write
        // pointer instead of ERXST. Modelled deterministically: it always does, so a ring
        // that does not start at 0 gets packets written outside it.
        this.rxWp = 0
    }

    private writeRxReadPointer(high: number): void {
        const r = this.regs
        r[R.ERXRDPTL] = this.rdptLatch
        r[R.ERXRDPTH] = high & 0x1f
        const v = this.u16(R.ERXRDPTL)
        if ((v & 1) === 0) this.violate(`[errata 14] ERXRDPT set to an even address (0x${hex4(v)})`)
    }

    private enableReceive(): void {
        const r = this.regs
        if (!this.ready()) {
            this.violate("ECON1.RXEN set before the chip is ready (ESTAT.CLKRDY / errata 2): ignored")
            r[R.ECON1] &= ~R.ECON1_RXEN
            return
        }
        const st = this.u16(R.ERXSTL)
        const nd = this.u16(R.ERXNDL)
        const rd = this.u16(R.ERXRDPTL)
        if (st !== 0) this.violate(`[errata 5] receive enabled with ERXST = 0x${hex4(st)}: the ring must start at 0x0000`)
        if ((rd & 1) === 0) this.violate(`[errata 14] receive enabled with ERXRDPT even (0x${hex4(rd)})`)
        if (!inRing(rd, st, nd)) this.violate(`receive enabled with ERXRDPT 0x${hex4(rd)} outside ERXST..ERXND`)
        const mac = (r[R.MACON3] & R.MACON3_FULDPX) !== 0
        if (mac !== this.phy.fullDuplex())
            this.violate(`receive enabled with MACON3.FULDPX = ${mac ? 1 : 0} but PHCON1.PDPXMD = ${mac ? 0 : 1} (section 6: they must match)`)
    }

    /** ECON1.RXRST: the receive logic is reset (RXEN off, packet count and write pointer cleared). */
    private resetReceiveLogic(): void {
        const r = this.regs
        r[R.ECON1] &= ~R.ECON1_RXEN
        r[R.EPKTCNT] = 0
        this.rxWp = this.u16(R.ERXSTL)
        this.rxDropped = false
    }

    private rxEnabled(): boolean {
        const r = this.regs
        return (r[R.ECON1] & (R.ECON1_RXEN | R.ECON1_RXRST)) === R.ECON1_RXEN &&
            (r[R.MACON1] & R.MACON1_MARXEN) !== 0 && (r[R.ECON2] & R.ECON2_PWRSV) === 0 && this.ready()
    }

    /** The MAC's receive path for a frame (no FCS) from the wire or looped back. */
    private receiveFrame(src: Uint8Array, srcLen: number): boolean {
        const st = this.stats
        if (srcLen > MEM_SIZE - 16) {
            st.rxTooLong++
            return false
        }
        if (!this.rxEnabled()) {
            st.rxDisabled++
            return false
        }
        const f = this.rxFrame
        f.set(src.subarray(0, srcLen), 0)
        let len = srcLen
        if (len < 60) {
            f.fill(0, len, 60)
            len = 60
        }
        const r = this.regs
        appendFcs(f, 0, len)
        let crcOk = true
        if (this.faults.crcErrorNext) {
            this.faults.crcErrorNext = false
            f[len] ^= 0xff
            crcOk = false
        }
        if (this.dmaExecuting && this.dmaChecksum) {
            // Errata 17: a DMA checksum running while a packet arrives aborts that packet.
            st.rxDmaAborts++
            this.rxDropped = true
            return false
        }
        if (!(r[R.MACON3] & R.MACON3_HFRMEN) && len + 4 > this.u16(R.MAMXFLL)) {
            st.rxTooLong++
            this.rxDropped = true
            return false
        }
        if (!crcOk && r[R.ERXFCON] & R.ERXFCON_CRCEN) {
            st.rxCrcErrors++
            return false
        }
        if (!passesFilters(r, f, len) || (isControlFrame(f, 0, len) && !(r[R.MACON1] & R.MACON1_PASSALL))) {
            st.rxFiltered++
            return false
        }
        if (!crcOk) st.rxCrcErrors++
        return this.storePacket(len, crcOk)
    }

    /** Section 7.2.1: header (next pointer, byte count, status) + frame + FCS at ERXWRPT. */
    private storePacket(len: number, crcOk: boolean): boolean {
        const r = this.regs
        const st = this.u16(R.ERXSTL)
        const nd = this.u16(R.ERXNDL)
        const rd = this.u16(R.ERXRDPTL)
        const wp = this.rxWp
        const total = len + 4
        let next = advanceRing(wp, 6 + total, st, nd)
        let need = 6 + total
        if (next & 1) {
            next = stepRing(next, st, nd) // packets start at even addresses
            need++
        }
        // The hardware writes up to, never onto, ERXRDPT (section 7.2.4).
        let free = ringDistance(wp, rd, st, nd)
        if (free < 0) free = MEM_SIZE
        if (r[R.EPKTCNT] === 255 || need > free) {
            r[R.EIR] |= R.EIR_RXERIF
            this.stats.rxOverflow++
            this.rxDropped = true
            return false
        }
        let nextField = next
        if (this.faults.nextPointerCorruptPending) {
            this.faults.nextPointerCorruptPending = false
            nextField = outOfRingPointer(st, nd)
        }
        if ((rd & 1) === 0) {
            // Errata 14: with an even ERXRDPT the hardware corrupts the ring; here the
            // stored next-packet pointer comes out odd (no packet starts there).
            this.violate(`[errata 14] packet stored while ERXRDPT is even (0x${hex4(rd)}): ring corrupted`)
            nextField ^= 1
        }
        const rsv = receiveStatusBits(this.rxFrame, len, crcOk, (r[R.MACON3] & R.MACON3_FRMLNEN) !== 0, this.rxDropped)
        const h = this.header
        h[0] = nextField & 0xff
        h[1] = nextField >> 8
        h[2] = total & 0xff
        h[3] = total >> 8
        h[4] = (rsv >>> 16) & 0xff
        h[5] = rsv >>> 24
        const p = writeRing(this.mem, wp, h, 0, 6, st, nd)
        writeRing(this.mem, p, this.rxFrame, 0, total, st, nd)
        this.rxWp = next
        this.rxDropped = false
        r[R.EPKTCNT]++
        this.stats.rxAccepted++
        return true
    }

    // ---------------------------------------------------------------- transmit

    private requestTransmit(): void {
        const r = this.regs
        const refuse = (why: string): void => {
            this.violate(`ECON1.TXRTS set ${why}: ignored`)
            r[R.ECON1] &= ~R.ECON1_TXRTS
        }
        if (r[R.ECON1] & R.ECON1_TXRST) return refuse("while ECON1.TXRST holds the transmit logic in reset")
        if (!this.ready()) return refuse("before the chip is ready (ESTAT.CLKRDY / errata 2)")
        if (r[R.ECON2] & R.ECON2_PWRSV) return refuse("in power-save mode (ECON2.PWRSV)")
        const st = this.u16(R.ETXSTL)
        const nd = this.u16(R.ETXNDL)
        const len = (nd - st) & MEM_MASK
        if (len < 1 || nd < st) this.violate(`transmission of ETXST 0x${hex4(st)}..ETXND 0x${hex4(nd)}: ETXND must follow ETXST`)
        if (r[R.ECON1] & R.ECON1_RXEN) {
            const rst = this.u16(R.ERXSTL)
            const rnd = this.u16(R.ERXNDL)
            if (inRing(st, rst, rnd) || inRing(nd, rst, rnd) || inRing((nd + TSV_LEN) & MEM_MASK, rst, rnd))
                this.violate(`transmit buffer 0x${hex4(st)}..0x${hex4(nd)} (+7 status bytes) overlaps the receive ring`)
        }
        if (this.txStalled) return // errata 12: TXRTS stays set, nothing is sent
        // Section 7.1: DMA and transmission share the memory port; the frame waits for the DMA.
        if (this.dmaExecuting) {
            this.txWaitingDma = true
            return
        }
        this.startTransmit(this.now)
    }

    private startTransmit(at: number): void {
        const r = this.regs
        const st = this.u16(R.ETXSTL)
        const len = (this.u16(R.ETXNDL) - st) & MEM_MASK
        const vlan = len >= 14 && this.mem[(st + 13) & MEM_MASK] === 0x81 && this.mem[(st + 14) & MEM_MASK] === 0x00
        const s = txSettings(this.mem[st], r[R.MACON3], vlan, this.txSet)
        const wire = Math.max(len, s.padTo) + (s.appendCrc ? 4 : 0)
        const f = this.faults
        this.txOutcome = TX_OK
        if (f.txAbortsPending > 0) {
            f.txAbortsPending--
            this.txOutcome = TX_ABORT_STUCK
        } else if (f.lateCollisionsPending > 0) {
            f.lateCollisionsPending--
            this.txOutcome = TX_LATE_COLLISION
        }
        this.txInFlight = true
        this.txDoneAt = at + (PREAMBLE_BYTES + wire + IFG_BYTES) * WIRE_BYTE_US
    }

    private completeTransmit(at: number): void {
        const r = this.regs
        this.txInFlight = false
        this.txDoneAt = Infinity
        if (this.txOutcome === TX_ABORT_STUCK) {
            // Errata 12: the abort leaves TXRTS set and the transmit logic stalled, with no
            // TXIF and no status vector, until the host pulses ECON1.TXRST.
            r[R.ESTAT] |= R.ESTAT_TXABRT
            r[R.EIR] |= R.EIR_TXERIF
            this.txStalled = true
            this.txErrorOnRstRelease = true
            this.stats.txAborts++
            return
        }
        const st = this.u16(R.ETXSTL)
        const nd = this.u16(R.ETXNDL)
        const len = (nd - st) & MEM_MASK
        const frame = this.txFrame
        readLinear(this.mem, st + 1, frame, 0, len)
        const s = txSettings(this.mem[st], r[R.MACON3], isVlanFrame(frame, 0, len), this.txSet)
        if (s.padWithoutTxcrcen) this.violate("MACON3.PADCFG pads with CRC but MACON3.TXCRCEN is clear (register 6-2)")
        let padded = len
        if (padded < s.padTo) {
            frame.fill(0, padded, s.padTo)
            padded = s.padTo
        }
        const wire = padded + (s.appendCrc ? 4 : 0)
        const mamxfl = this.u16(R.MAMXFLL)
        const giant = !s.huge && wire > mamxfl
        const late = this.txOutcome === TX_LATE_COLLISION
        const crcError = !s.appendCrc && !fcsValid(frame, 0, padded)
        const sent = !giant && !late
        const t = this.tsv
        t.byteCount = giant ? mamxfl : wire
        t.wireBytes = late ? Math.min(wire, 64) : t.byteCount
        t.crcError = crcError
        t.done = sent
        t.lateCollision = late
        t.giant = giant
        writeTsv(this.tsvBytes, 0, frame, padded, r[R.MACON3], t)
        writeLinear(this.mem, nd + 1, this.tsvBytes, 0, TSV_LEN)
        r[R.ECON1] &= ~R.ECON1_TXRTS
        r[R.EIR] |= R.EIR_TXIF
        if (!sent) {
            // Section 12.1.3: aborts raise TXERIF and ESTAT.TXABRT. Errata 15: LATECOL is
            // unreliable, so it is left clear and only the TSV tells.
            r[R.EIR] |= R.EIR_TXERIF
            r[R.ESTAT] |= R.ESTAT_TXABRT
            this.stats.txAborts++
            if (late) this.stats.lateCollisions++
        }
        this.transmitPortFreed(at)
        if (!sent) return
        this.stats.txFrames++
        if (crcError) {
            this.stats.txBadCrc++
            return
        }
        this.putOnWire(s.appendCrc ? padded : padded - 4)
    }

    private putOnWire(len: number): void {
        const frame = this.txFrame.subarray(0, len)
        const phy = this.phy
        if (phy.loopback()) {
            // PHCON1.PLOOPBK: the frame comes back to our receiver and nowhere else.
            this.receiveFrame(frame, len)
            return
        }
        if (!phy.carrier() || phy.transmitterDisabled()) this.stats.txNotOnWire++
        else if (this.onWireTransmit) this.onWireTransmit(frame)
        // Errata 9: in half duplex without PHCON2.HDLDIS the PHY loops the frame back.
        if (phy.halfDuplexLoopback()) this.receiveFrame(frame, len)
    }

    /** ECON1.TXRTS cleared by the host: the transmission is cancelled (section 7.1). */
    private cancelTransmit(): void {
        if (this.txWaitingDma) {
            this.txWaitingDma = false
            return
        }
        if (!this.txInFlight) return
        this.txInFlight = false
        this.txDoneAt = Infinity
        const r = this.regs
        const t = this.tsv
        t.byteCount = 0
        t.wireBytes = 0
        t.crcError = false
        t.done = false
        t.lateCollision = false
        t.giant = false
        const st = this.u16(R.ETXSTL)
        const nd = this.u16(R.ETXNDL)
        const len = (nd - st) & MEM_MASK
        readLinear(this.mem, st + 1, this.txFrame, 0, len)
        writeTsv(this.tsvBytes, 0, this.txFrame, len, r[R.MACON3], t)
        writeLinear(this.mem, nd + 1, this.tsvBytes, 0, TSV_LEN)
        r[R.EIR] |= R.EIR_TXIF | R.EIR_TXERIF
        r[R.ESTAT] |= R.ESTAT_TXABRT
        this.stats.txAborts++
        this.transmitPortFreed(this.now)
    }

    /** ECON1.TXRST: the transmit logic is held in reset; any transmission is dropped. */
    private resetTransmitLogic(): void {
        this.txInFlight = false
        this.txDoneAt = Infinity
        this.txWaitingDma = false
        this.txStalled = false
        this.regs[R.ECON1] &= ~R.ECON1_TXRTS
        this.transmitPortFreed(this.now)
    }

    private transmitPortFreed(at: number): void {
        if (this.dmaWaitingTx) {
            this.dmaWaitingTx = false
            this.startDma(at)
        }
    }

    // ---------------------------------------------------------------- DMA (section 13)

    private requestDma(): void {
        if (this.regs[R.ECON1] & R.ECON1_TXRTS) {
            this.dmaWaitingTx = true // waits for the transmission to end
            return
        }
        this.startDma(this.now)
    }

    private startDma(at: number): void {
        const r = this.regs
        const st = this.u16(R.EDMASTL)
        const nd = this.u16(R.EDMANDL)
        this.dmaChecksum = (r[R.ECON1] & R.ECON1_CSUMEN) !== 0
        this.dmaExecuting = true
        this.stats.dmaOps++
        if (st === nd) {
            this.violate("DMA started with EDMAST = EDMAND: it never ends (section 13.0 note 2)")
            this.dmaDoneAt = Infinity
            return
        }
        const dist = ringDistance(st, nd, this.u16(R.ERXSTL), this.u16(R.ERXNDL))
        if (dist < 0) {
            this.violate(`DMA from 0x${hex4(st)} can never reach EDMAND 0x${hex4(nd)} (receive ring wrap): it never ends (section 13.0 note 1)`)
            this.dmaDoneAt = Infinity
            return
        }
        this.dmaCount = dist + 1
        this.dmaDoneAt = at + this.dmaCount * DMA_BYTE_US
    }

    private completeDma(at: number): void {
        const r = this.regs
        this.dmaExecuting = false
        this.dmaDoneAt = Infinity
        const n = this.dmaCount
        const src = this.dmaScratch
        readRing(this.mem, this.u16(R.EDMASTL), src, 0, n, this.u16(R.ERXSTL), this.u16(R.ERXNDL))
        if (this.dmaChecksum) {
            const cs = internetChecksum(src, n)
            r[R.EDMACSH] = cs >> 8
            r[R.EDMACSL] = cs & 0xff
        } else {
            writeLinear(this.mem, this.u16(R.EDMADSTL), src, 0, n)
        }
        r[R.ECON1] &= ~R.ECON1_DMAST
        r[R.EIR] |= R.EIR_DMAIF
        if (this.txWaitingDma) {
            this.txWaitingDma = false
            this.startTransmit(at)
        }
    }

    /** DMAST cleared by the host: the operation stops; DMAIF is set (section 12.1.6). */
    private cancelDma(): void {
        if (!this.dmaExecuting && !this.dmaWaitingTx) return
        this.dmaExecuting = false
        this.dmaWaitingTx = false
        this.dmaDoneAt = Infinity
        this.regs[R.EIR] |= R.EIR_DMAIF
        if (this.txWaitingDma) {
            this.txWaitingDma = false
            this.startTransmit(this.now)
        }
    }

    // ---------------------------------------------------------------- resets and time

    private powerOn(): void {
        this.now = Math.max(this.now, this.clock.nowUs())
        this.resetRegisters()
        this.phy.reset()
        this.oscReadyAt = this.now + OST_US
        this.srcSettleUntil = 0
    }

    /** SRC (section 4.2.7); ignored in power-save mode (errata 19). */
    private systemResetCommand(): void {
        if (this.regs[R.ECON2] & R.ECON2_PWRSV) {
            this.violate("[errata 19] system reset (SRC) sent while ECON2.PWRSV is set: ignored")
            return
        }
        this.stats.resets++
        this.resetRegisters()
        this.phy.reset()
        this.srcSettleUntil = this.now + SRC_SETTLE_US
    }

    private resetRegisters(): void {
        const r = this.regs
        r.fill(0)
        for (const k of Object.keys(R.RESET_VALUES)) r[Number(k)] = R.RESET_VALUES[Number(k)]
        this.rdptLatch = r[R.ERXRDPTL]
        this.rxWp = 0
        this.rxDropped = false
        this.mii.reset()
        this.txInFlight = false
        this.txDoneAt = Infinity
        this.txWaitingDma = false
        this.txStalled = false
        this.txErrorOnRstRelease = false
        this.dmaExecuting = false
        this.dmaDoneAt = Infinity
        this.dmaWaitingTx = false
    }

    /** ESTAT.CLKRDY: the oscillator start-up timer has expired and power-save is off. */
    private clkrdy(): boolean {
        return (this.regs[R.ECON2] & R.ECON2_PWRSV) === 0 && this.now >= this.oscReadyAt
    }

    /** CLKRDY and past the errata-2 settling time after SRC. */
    private ready(): boolean {
        return this.clkrdy() && this.now >= this.srcSettleUntil
    }

    private intPending(): boolean {
        const ie = this.regs[R.EIE]
        if ((ie & R.EIE_INTIE) === 0) return false
        return (this.peekKey(R.EIR) & ie & 0x7b) !== 0
    }

    /** Runs every timed event that is due at the clock's present time, in order. */
    private service(): void {
        const t = this.clock.nowUs()
        if (t > this.now) this.now = t
        for (;;) {
            const next = Math.min(this.mii.doneAt, this.txDoneAt, this.dmaDoneAt)
            if (next > this.now) return
            if (next === this.mii.doneAt) this.mii.complete()
            else if (next === this.txDoneAt) this.completeTransmit(next)
            else this.completeDma(next)
        }
    }

    // ---------------------------------------------------------------- helpers

    private u16(keyL: number): number {
        return this.regs[keyL] | (this.regs[keyL + 1] << 8)
    }

    private setU16(keyL: number, v: number): void {
        this.regs[keyL] = v & 0xff
        this.regs[keyL + 1] = (v >> 8) & 0x1f
    }

    private violate(msg: string): void {
        if (this.violations.length < MAX_VIOLATIONS) this.violations.push(msg)
        else this.violationsDropped++
    }
}

/** An even address outside ERXST..ERXND (or an odd one if the ring covers all memory). */
function outOfRingPointer(st: number, nd: number): number {
    const after = (nd + 2) & 0x1ffe
    if (!inRing(after, st, nd)) return after
    const before = (st - 2) & 0x1ffe
    if (!inRing(before, st, nd)) return before
    return st | 1
}

/** Section 13.2: one's complement of the one's complement sum of big-endian words, odd byte padded. */
function internetChecksum(b: Uint8Array, n: number): number {
    let sum = 0
    for (let i = 0; i + 1 < n; i += 2) sum += (b[i] << 8) | b[i + 1]
    if (n & 1) sum += b[n - 1] << 8
    while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
    return ~sum & 0xffff
}

function hex2(v: number): string {
    return v.toString(16).padStart(2, "0")
}

function hex4(v: number): string {
    return v.toString(16).padStart(4, "0")
}
