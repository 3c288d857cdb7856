// ENC28J60 register map, bits and reset values (datasheet DS39662E, section 3 and
// Table 3-2). Registers are identified by a "key": bank * 32 + address for the banked
// addresses 0x00-0x1A, and the bare address 0x1B-0x1F for the five registers that exist
// in every bank.

/** The key of a register: common registers (0x1B-0x1F) ignore the bank. */
export function regKey(bank: number, addr: number): number {
    return addr >= 0x1b ? addr : (bank << 5) | addr
}

// Common registers (all banks).
export const EIE = 0x1b
export const EIR = 0x1c
export const ESTAT = 0x1d
export const ECON2 = 0x1e
export const ECON1 = 0x1f

// Bank 0: buffer pointers, low byte first.
export const ERDPTL = 0x00
export const ERDPTH = 0x01
export const EWRPTL = 0x02
export const EWRPTH = 0x03
export const ETXSTL = 0x04
export const ETXSTH = 0x05
export const ETXNDL = 0x06
export const ETXNDH = 0x07
export const ERXSTL = 0x08
export const ERXSTH = 0x09
export const ERXNDL = 0x0a
export const ERXNDH = 0x0b
export const ERXRDPTL = 0x0c
export const ERXRDPTH = 0x0d
export const ERXWRPTL = 0x0e
export const ERXWRPTH = 0x0f
export const EDMASTL = 0x10
export const EDMASTH = 0x11
export const EDMANDL = 0x12
export const EDMANDH = 0x13
export const EDMADSTL = 0x14
export const EDMADSTH = 0x15
export const EDMACSL = 0x16
export const EDMACSH = 0x17

// Bank 1: receive filters.
export const EHT0 = 0x20
export const EPMM0 = 0x28
export const EPMCSL = 0x30
export const EPMCSH = 0x31
export const EPMOL = 0x34
export const EPMOH = 0x35
export const ERXFCON = 0x38
export const EPKTCNT = 0x39

// Bank 2: MAC and MII registers.
export const MACON1 = 0x40
export const MACON3 = 0x42
export const MACON4 = 0x43
export const MABBIPG = 0x44
export const MAIPGL = 0x46
export const MAIPGH = 0x47
export const MACLCON1 = 0x48
export const MACLCON2 = 0x49
export const MAMXFLL = 0x4a
export const MAMXFLH = 0x4b
export const MICMD = 0x52
export const MIREGADR = 0x54
export const MIWRL = 0x56
export const MIWRH = 0x57
export const MIRDL = 0x58
export const MIRDH = 0x59

// Bank 3: MAC address (MAADR1 is the first octet on the wire), MII status, misc.
export const MAADR5 = 0x60
export const MAADR6 = 0x61
export const MAADR3 = 0x62
export const MAADR4 = 0x63
export const MAADR1 = 0x64
export const MAADR2 = 0x65
export const EBSTSD = 0x66
export const EBSTCON = 0x67
export const EBSTCSL = 0x68
export const EBSTCSH = 0x69
export const MISTAT = 0x6a
export const EREVID = 0x72
export const ECOCON = 0x75
export const EFLOCON = 0x77
export const EPAUSL = 0x78
export const EPAUSH = 0x79

/** Keys of MAADR1..MAADR6, i.e. of MAC address octets 0..5 in wire order. */
export const MAADR_KEYS = [MAADR1, MAADR2, MAADR3, MAADR4, MAADR5, MAADR6]

// EIE / EIR bits.
export const EIE_INTIE = 0x80
export const EIR_PKTIF = 0x40
export const EIR_DMAIF = 0x20
export const EIR_LINKIF = 0x10
export const EIR_TXIF = 0x08
export const EIR_TXERIF = 0x02
export const EIR_RXERIF = 0x01
/** EIR bits software may clear (R/C); PKTIF and LINKIF are read-only. */
export const EIR_CLEARABLE = EIR_DMAIF | EIR_TXIF | EIR_TXERIF | EIR_RXERIF

// ESTAT bits.
export const ESTAT_INT = 0x80
export const ESTAT_BUFER = 0x40
export const ESTAT_LATECOL = 0x10
export const ESTAT_RXBUSY = 0x04
export const ESTAT_TXABRT = 0x02
export const ESTAT_CLKRDY = 0x01
export const ESTAT_CLEARABLE = ESTAT_BUFER | ESTAT_LATECOL | ESTAT_TXABRT

// ECON2 bits.
export const ECON2_AUTOINC = 0x80
export const ECON2_PKTDEC = 0x40
export const ECON2_PWRSV = 0x20
export const ECON2_VRPS = 0x08

// ECON1 bits.
export const ECON1_TXRST = 0x80
export const ECON1_RXRST = 0x40
export const ECON1_DMAST = 0x20
export const ECON1_CSUMEN = 0x10
export const ECON1_TXRTS = 0x08
export const ECON1_RXEN = 0x04
export const ECON1_BSEL = 0x03

// ERXFCON bits (section 8).
export const ERXFCON_UCEN = 0x80
export const ERXFCON_ANDOR = 0x40
export const ERXFCON_CRCEN = 0x20
export const ERXFCON_PMEN = 0x10
export const ERXFCON_MPEN = 0x08
export const ERXFCON_HTEN = 0x04
export const ERXFCON_MCEN = 0x02
export const ERXFCON_BCEN = 0x01

// MACON1 / MACON3 bits (section 6).
export const MACON1_TXPAUS = 0x08
export const MACON1_RXPAUS = 0x04
export const MACON1_PASSALL = 0x02
export const MACON1_MARXEN = 0x01
export const MACON3_TXCRCEN = 0x10
export const MACON3_PHDREN = 0x08
export const MACON3_HFRMEN = 0x04
export const MACON3_FRMLNEN = 0x02
export const MACON3_FULDPX = 0x01

// MICMD / MISTAT bits.
export const MICMD_MIISCAN = 0x02
export const MICMD_MIIRD = 0x01
export const MISTAT_NVALID = 0x04
export const MISTAT_SCAN = 0x02
export const MISTAT_BUSY = 0x01

// Per-packet transmit control byte (Figure 7-1).
export const TXCTRL_PHUGEEN = 0x08
export const TXCTRL_PPADEN = 0x04
export const TXCTRL_PCRCEN = 0x02
export const TXCTRL_POVERRIDE = 0x01

// PHY registers (section 3.3, Table 3-3) and bits.
export const PHCON1 = 0x00
export const PHSTAT1 = 0x01
export const PHID1 = 0x02
export const PHID2 = 0x03
export const PHCON2 = 0x10
export const PHSTAT2 = 0x11
export const PHIE = 0x12
export const PHIR = 0x13
export const PHLCON = 0x14
export const PHCON1_PRST = 0x8000
export const PHCON1_PLOOPBK = 0x4000
export const PHCON1_PPWRSV = 0x0800
export const PHCON1_PDPXMD = 0x0100
export const PHSTAT1_PFDPX = 0x1000
export const PHSTAT1_PHDPX = 0x0800
export const PHSTAT1_LLSTAT = 0x0004
export const PHSTAT1_JBSTAT = 0x0002
export const PHCON2_FRCLNK = 0x4000
export const PHCON2_TXDIS = 0x2000
export const PHCON2_JABBER = 0x0400
export const PHCON2_HDLDIS = 0x0100
export const PHSTAT2_TXSTAT = 0x2000
export const PHSTAT2_RXSTAT = 0x1000
export const PHSTAT2_COLSTAT = 0x0800
export const PHSTAT2_LSTAT = 0x0400
export const PHSTAT2_DPXSTAT = 0x0200
export const PHSTAT2_PLRITY = 0x0020
export const PHIE_PLNKIE = 0x0010
export const PHIE_PGEIE = 0x0002
export const PHIR_PLNKIF = 0x0010
export const PHIR_PGIF = 0x0004

/** SPI opcodes (top three bits of the first byte, section 4.2). */
export const OP_RCR = 0
export const OP_RBM = 1
export const OP_WCR = 2
export const OP_WBM = 3
export const OP_BFS = 4
export const OP_BFC = 5
export const OP_SRC = 7
/** The fixed argument of RBM, WBM (0x1A) and SRC (0x1F). */
export const ARG_BUFFER = 0x1a
export const ARG_SRC = 0x1f

/**
 * True for the MAC and MII registers: all of bank 2, MAADR1-6 and MISTAT in bank 3.
 * They answer RCR with a dummy byte first and ignore BFS/BFC (section 4.2.1, 4.2.5).
 */
export function isMacMii(key: number): boolean {
    if (key < 0x20 || key >= 0x80) return false
    if (key < 0x60) return key >= 0x40
    return key <= 0x65 || key === MISTAT
}

/**
 * Bits a write can change, per register (unimplemented bits read 0). Registers that
 * are absent here are unimplemented or read-only: writes to them do nothing.
 */
export const WRITE_MASK: Record<number, number> = {
    [EIE]: 0xfb, [EIR]: EIR_CLEARABLE, [ESTAT]: ESTAT_CLEARABLE, [ECON2]: 0xe8, [ECON1]: 0xff,
    [ERDPTL]: 0xff, [ERDPTH]: 0x1f, [EWRPTL]: 0xff, [EWRPTH]: 0x1f,
    [ETXSTL]: 0xff, [ETXSTH]: 0x1f, [ETXNDL]: 0xff, [ETXNDH]: 0x1f,
    [ERXSTL]: 0xff, [ERXSTH]: 0x1f, [ERXNDL]: 0xff, [ERXNDH]: 0x1f,
    [ERXRDPTL]: 0xff, [ERXRDPTH]: 0x1f,
    [EDMASTL]: 0xff, [EDMASTH]: 0x1f, [EDMANDL]: 0xff, [EDMANDH]: 0x1f,
    [EDMADSTL]: 0xff, [EDMADSTH]: 0x1f, [EDMACSL]: 0xff, [EDMACSH]: 0xff,
    [EHT0]: 0xff, [EHT0 + 1]: 0xff, [EHT0 + 2]: 0xff, [EHT0 + 3]: 0xff,
    [EHT0 + 4]: 0xff, [EHT0 + 5]: 0xff, [EHT0 + 6]: 0xff, [EHT0 + 7]: 0xff,
    [EPMM0]: 0xff, [EPMM0 + 1]: 0xff, [EPMM0 + 2]: 0xff, [EPMM0 + 3]: 0xff,
    [EPMM0 + 4]: 0xff, [EPMM0 + 5]: 0xff, [EPMM0 + 6]: 0xff, [EPMM0 + 7]: 0xff,
    [EPMCSL]: 0xff, [EPMCSH]: 0xff, [EPMOL]: 0xff, [EPMOH]: 0x1f, [ERXFCON]: 0xff,
    [MACON1]: 0x1f, [MACON3]: 0xff, [MACON4]: 0x73, [MABBIPG]: 0x7f, [MAIPGL]: 0x7f,
    [MAIPGH]: 0x7f, [MACLCON1]: 0x0f, [MACLCON2]: 0x3f, [MAMXFLL]: 0xff, [MAMXFLH]: 0xff,
    [MICMD]: 0x03, [MIREGADR]: 0x1f, [MIWRL]: 0xff, [MIWRH]: 0xff,
    [MAADR1]: 0xff, [MAADR2]: 0xff, [MAADR3]: 0xff, [MAADR4]: 0xff, [MAADR5]: 0xff, [MAADR6]: 0xff,
    [EBSTSD]: 0xff, [EBSTCON]: 0xff, [ECOCON]: 0x07, [EFLOCON]: 0x03, [EPAUSL]: 0xff, [EPAUSH]: 0xff,
}

/** Power-on / system reset values that are not zero (Table 3-2). */
export const RESET_VALUES: Record<number, number> = {
    [ECON2]: ECON2_AUTOINC,
    [ERDPTL]: 0xfa, [ERDPTH]: 0x05,
    [ERXSTL]: 0xfa, [ERXSTH]: 0x05,
    [ERXNDL]: 0xff, [ERXNDH]: 0x1f,
    [ERXRDPTL]: 0xfa, [ERXRDPTH]: 0x05,
    [ERXFCON]: ERXFCON_UCEN | ERXFCON_CRCEN | ERXFCON_BCEN,
    [MACLCON1]: 0x0f, [MACLCON2]: 0x37,
    [MAMXFLL]: 0x00, [MAMXFLH]: 0x06,
    [ECOCON]: 0x04,
    [EPAUSH]: 0x10,
}

/** PHY register power-on values (Table 3-3); PHSTAT1/2 and PHIR are computed live. */
export const PHY_RESET_VALUES: Record<number, number> = {
    [PHCON1]: 0x0000,
    [PHID1]: 0x0083,
    [PHID2]: 0x1400,
    [PHCON2]: 0x0000,
    [PHIE]: 0x0000,
    [PHLCON]: 0x3422,
}

/** Bits a PHY register write can change. */
export const PHY_WRITE_MASK: Record<number, number> = {
    [PHCON1]: PHCON1_PRST | PHCON1_PLOOPBK | PHCON1_PPWRSV | PHCON1_PDPXMD,
    [PHCON2]: PHCON2_FRCLNK | PHCON2_TXDIS | PHCON2_JABBER | PHCON2_HDLDIS,
    [PHIE]: PHIE_PLNKIE | PHIE_PGEIE,
    [PHLCON]: 0x3ffe,
}

/** A readable name for violations and debugging. */
export function regName(key: number): string {
    const n = NAMES[key]
    if (n) return n
    const bank = key >= 0x1b && key <= 0x1f ? "common" : `bank ${key >> 5}`
    return `${bank} 0x${(key & 0x1f).toString(16).padStart(2, "0")}`
}

const NAMES: Record<number, string> = {
    [EIE]: "EIE", [EIR]: "EIR", [ESTAT]: "ESTAT", [ECON2]: "ECON2", [ECON1]: "ECON1",
    [ERDPTL]: "ERDPTL", [ERDPTH]: "ERDPTH", [EWRPTL]: "EWRPTL", [EWRPTH]: "EWRPTH",
    [ETXSTL]: "ETXSTL", [ETXSTH]: "ETXSTH", [ETXNDL]: "ETXNDL", [ETXNDH]: "ETXNDH",
    [ERXSTL]: "ERXSTL", [ERXSTH]: "ERXSTH", [ERXNDL]: "ERXNDL", [ERXNDH]: "ERXNDH",
    [ERXRDPTL]: "ERXRDPTL", [ERXRDPTH]: "ERXRDPTH", [ERXWRPTL]: "ERXWRPTL", [ERXWRPTH]: "ERXWRPTH",
    [EDMASTL]: "EDMASTL", [EDMASTH]: "EDMASTH", [EDMANDL]: "EDMANDL", [EDMANDH]: "EDMANDH",
    [EDMADSTL]: "EDMADSTL", [EDMADSTH]: "EDMADSTH", [EDMACSL]: "EDMACSL", [EDMACSH]: "EDMACSH",
    [EPMCSL]: "EPMCSL", [EPMCSH]: "EPMCSH", [EPMOL]: "EPMOL", [EPMOH]: "EPMOH",
    [ERXFCON]: "ERXFCON", [EPKTCNT]: "EPKTCNT",
    [MACON1]: "MACON1", [MACON3]: "MACON3", [MACON4]: "MACON4", [MABBIPG]: "MABBIPG",
    [MAIPGL]: "MAIPGL", [MAIPGH]: "MAIPGH", [MACLCON1]: "MACLCON1", [MACLCON2]: "MACLCON2",
    [MAMXFLL]: "MAMXFLL", [MAMXFLH]: "MAMXFLH", [MICMD]: "MICMD", [MIREGADR]: "MIREGADR",
    [MIWRL]: "MIWRL", [MIWRH]: "MIWRH", [MIRDL]: "MIRDL", [MIRDH]: "MIRDH",
    [MAADR1]: "MAADR1", [MAADR2]: "MAADR2", [MAADR3]: "MAADR3", [MAADR4]: "MAADR4",
    [MAADR5]: "MAADR5", [MAADR6]: "MAADR6", [EBSTSD]: "EBSTSD", [EBSTCON]: "EBSTCON",
    [EBSTCSL]: "EBSTCSL", [EBSTCSH]: "EBSTCSH", [MISTAT]: "MISTAT", [EREVID]: "EREVID",
    [ECOCON]: "ECOCON", [EFLOCON]: "EFLOCON", [EPAUSL]: "EPAUSL", [EPAUSH]: "EPAUSH",
}
