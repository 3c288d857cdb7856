// ENC28J60 registers, SPI opcodes and bits (datasheet DS39662E, sections 3 and 4).
//
// A register is one number: bits 4..0 its address in the bank, bits 6..5 its bank,
// bit 7 set for MAC/MII registers, whose RCR answer comes after a dummy byte
// (datasheet 4.2.1). Addresses 0x1B..0x1F exist in every bank (bank bits ignored).

export const REG_ADDR_MASK = 0x1f
export const REG_BANK_SHIFT = 5
export const REG_MAC_MII = 0x80
/** First address that is mapped in every bank (EIE). */
export const REG_COMMON_FIRST = 0x1b

// SPI instruction set (datasheet table 4-1).
export const OP_RCR = 0x00
export const OP_RBM = 0x3a
export const OP_WCR = 0x40
export const OP_WBM = 0x7a
export const OP_BFS = 0x80
export const OP_BFC = 0xa0
export const OP_SRC = 0xff

export const enum Reg {
    // Every bank.
    EIE = 0x1b,
    EIR = 0x1c,
    ESTAT = 0x1d,
    ECON2 = 0x1e,
    ECON1 = 0x1f,

    // Bank 0: buffer pointers, low byte first.
    ERDPTL = 0x00,
    ERDPTH = 0x01,
    EWRPTL = 0x02,
    EWRPTH = 0x03,
    ETXSTL = 0x04,
    ETXSTH = 0x05,
    ETXNDL = 0x06,
    ETXNDH = 0x07,
    ERXSTL = 0x08,
    ERXSTH = 0x09,
    ERXNDL = 0x0a,
    ERXNDH = 0x0b,
    ERXRDPTL = 0x0c,
    ERXRDPTH = 0x0d,
    ERXWRPTL = 0x0e,
    ERXWRPTH = 0x0f,

    // Bank 1.
    ERXFCON = 0x20 | 0x18,
    EPKTCNT = 0x20 | 0x19,

    // Bank 2: MAC and MII, all read with a dummy byte.
    MACON1 = 0x80 | 0x40 | 0x00,
    MACON3 = 0x80 | 0x40 | 0x02,
    MACON4 = 0x80 | 0x40 | 0x03,
    MABBIPG = 0x80 | 0x40 | 0x04,
    MAIPGL = 0x80 | 0x40 | 0x06,
    MAIPGH = 0x80 | 0x40 | 0x07,
    MAMXFLL = 0x80 | 0x40 | 0x0a,
    MAMXFLH = 0x80 | 0x40 | 0x0b,
    MICMD = 0x80 | 0x40 | 0x12,
    MIREGADR = 0x80 | 0x40 | 0x14,
    MIWRL = 0x80 | 0x40 | 0x16,
    MIWRH = 0x80 | 0x40 | 0x17,
    MIRDL = 0x80 | 0x40 | 0x18,
    MIRDH = 0x80 | 0x40 | 0x19,

    // Bank 3. MAADR1 holds the first octet of the address.
    MAADR5 = 0x80 | 0x60 | 0x00,
    MAADR6 = 0x80 | 0x60 | 0x01,
    MAADR3 = 0x80 | 0x60 | 0x02,
    MAADR4 = 0x80 | 0x60 | 0x03,
    MAADR1 = 0x80 | 0x60 | 0x04,
    MAADR2 = 0x80 | 0x60 | 0x05,
    MISTAT = 0x80 | 0x60 | 0x0a,
    EREVID = 0x60 | 0x12,
}

// EIR
export const EIR_PKTIF = 0x40
export const EIR_DMAIF = 0x20
export const EIR_LINKIF = 0x10
export const EIR_TXIF = 0x08
export const EIR_TXERIF = 0x02
export const EIR_RXERIF = 0x01

// ESTAT
export const ESTAT_TXABRT = 0x02
export const ESTAT_CLKRDY = 0x01

// ECON2
export const ECON2_AUTOINC = 0x80
export const ECON2_PKTDEC = 0x40
export const ECON2_PWRSV = 0x20

// ECON1
export const ECON1_TXRST = 0x80
export const ECON1_RXRST = 0x40
export const ECON1_TXRTS = 0x08
export const ECON1_RXEN = 0x04
export const ECON1_BSEL = 0x03

// ERXFCON
export const ERXFCON_UCEN = 0x80
export const ERXFCON_CRCEN = 0x20
export const ERXFCON_BCEN = 0x01

// MACON1
export const MACON1_TXPAUS = 0x08
export const MACON1_RXPAUS = 0x04
export const MACON1_MARXEN = 0x01

// MACON3
export const MACON3_PADCFG0 = 0x20
export const MACON3_TXCRCEN = 0x10
export const MACON3_FRMLNEN = 0x02
export const MACON3_FULDPX = 0x01

// MACON4
export const MACON4_DEFER = 0x40

// MICMD / MISTAT
export const MICMD_MIIRD = 0x01
export const MISTAT_BUSY = 0x01

// PHY registers (16 bits, reached through MII).
export const PHCON1 = 0x00
export const PHSTAT1 = 0x01
export const PHID1 = 0x02
export const PHID2 = 0x03
export const PHCON2 = 0x10
export const PHSTAT2 = 0x11
export const PHIE = 0x12
export const PHIR = 0x13

export const PHCON1_PDPXMD = 0x0100
export const PHCON2_HDLDIS = 0x0100
export const PHSTAT2_LSTAT = 0x0400
export const PHIE_PLNKIE = 0x0010
export const PHIE_PGEIE = 0x0002

// Receive status vector, bits 23..16 (byte 4 of the packet header, datasheet table 7-3).
export const RSV2_RX_OK = 0x80

// Transmit status vector byte 3 (bits 31..24): late collision is bit 29 (datasheet table 7-1).
export const TSV3_LATE_COLLISION = 0x20

/** Last address of the 8 KB buffer memory. */
export const BUFFER_END = 0x1fff
/** Size of a received packet's header: next pointer, byte count, status. */
export const RX_HEADER_LEN = 6
/** Transmit status vector written after ETXND. */
export const TSV_LEN = 7
/** Ethernet frame check sequence, stored in the ring after every frame. */
export const FCS_LEN = 4
/** Longest frame without FCS (and MAMXFL = this + FCS). */
export const MAX_FRAME = 1514
/** Ethernet header: the shortest frame we accept. */
export const MIN_FRAME = 14
