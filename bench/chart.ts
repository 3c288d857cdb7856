// The chart of BENCHMARKS.md, hand-written SVG (no dependency): goodput per row of the
// bulk table against the wire's limit, and where a full-size segment's time goes in the
// DeviceScript VM. Plain shapes and text, readable in a browser and on GitHub.

import { writeFileSync } from "node:fs"

export interface GoodputBar {
    label: string
    kBps: number
}

export interface CostStack {
    label: string
    /** Pieces in µs, in drawing order. */
    pieces: { name: string; us: number }[]
}

export interface ChartData {
    goodput: GoodputBar[]
    /** The wire's TCP payload limit, kB/s (drawn as a line). */
    limitKBps: number
    /** Null when the VM cost was not measured this run. */
    vm: CostStack[] | null
}

const W = 960
const LABEL_W = 430
const BAR_W = W - LABEL_W - 90
const ROW_H = 16
const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f"]

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

function text(x: number, y: number, s: string, attrs = ""): string {
    return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`
}

function rect(x: number, y: number, w: number, h: number, fill: string, title: string): string {
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${h}" fill="${fill}"><title>${esc(title)}</title></rect>`
}

/** Bars of goodput, one per row, with the wire limit as a dashed line. */
function goodputPanel(d: ChartData, top: number, out: string[]): number {
    out.push(text(10, top + 16, "Bulk TCP goodput in virtual time, kB/s (section 1); dashed: 10 Mbit/s TCP payload limit", 'font-weight="bold"'))
    let y = top + 28
    const max = Math.max(d.limitKBps, ...d.goodput.map((g) => (Number.isFinite(g.kBps) ? g.kBps : 0)))
    const scale = BAR_W / max
    for (const g of d.goodput) {
        const v = Number.isFinite(g.kBps) ? g.kBps : 0
        out.push(text(LABEL_W - 6, y + ROW_H - 4, g.label, 'text-anchor="end"'))
        out.push(rect(LABEL_W, y + 2, v * scale, ROW_H - 4, COLORS[0], `${g.label}: ${v.toFixed(1)} kB/s`))
        out.push(text(LABEL_W + v * scale + 4, y + ROW_H - 4, Number.isFinite(g.kBps) ? v.toFixed(1) : "error"))
        y += ROW_H
    }
    const lx = LABEL_W + d.limitKBps * scale
    out.push(`<line x1="${lx.toFixed(1)}" y1="${top + 26}" x2="${lx.toFixed(1)}" y2="${y}" stroke="#333" stroke-dasharray="4 3"/>`)
    out.push(text(lx - 4, y + 12, `${d.limitKBps.toFixed(1)} kB/s`, 'text-anchor="end"'))
    return y + 20
}

/** One stacked bar per segment kind, split by piece, with a legend. */
function costPanel(stacks: CostStack[], top: number, out: string[]): number {
    out.push(text(10, top + 16, "DeviceScript VM: µs per segment, stack + driver, bus excluded (section 4)", 'font-weight="bold"'))
    const names: string[] = []
    for (const s of stacks) for (const p of s.pieces) if (!names.includes(p.name)) names.push(p.name)
    const max = Math.max(...stacks.map((s) => s.pieces.reduce((a, p) => a + Math.max(0, p.us), 0)))
    const scale = BAR_W / max
    let y = top + 28
    const h = 22
    for (const s of stacks) {
        out.push(text(LABEL_W - 6, y + h - 7, s.label, 'text-anchor="end"'))
        let x = LABEL_W
        let total = 0
        for (const p of s.pieces) {
            const w = Math.max(0, p.us) * scale
            out.push(rect(x, y + 2, w, h - 4, COLORS[names.indexOf(p.name) % COLORS.length], `${s.label}, ${p.name}: ${p.us.toFixed(1)} µs`))
            x += w
            total += Math.max(0, p.us)
        }
        out.push(text(x + 4, y + h - 7, `${total.toFixed(0)} µs`))
        y += h + 4
    }
    y += 6
    let lx = 10
    for (const [i, n] of names.entries()) {
        const wText = 7 * n.length + 30
        if (lx + wText > W) {
            lx = 10
            y += 18
        }
        out.push(rect(lx, y, 12, 12, COLORS[i % COLORS.length], n))
        out.push(text(lx + 16, y + 10, n))
        lx += wText
    }
    return y + 24
}

export function chartSvg(d: ChartData): string {
    const body: string[] = []
    let y = goodputPanel(d, 0, body)
    if (d.vm !== null && d.vm.length > 0) y = costPanel(d.vm, y + 10, body)
    return [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.ceil(y)}" viewBox="0 0 ${W} ${Math.ceil(y)}" font-family="sans-serif" font-size="11">`,
        `<rect width="100%" height="100%" fill="#fff"/>`,
        ...body,
        `</svg>`,
    ].join("\n")
}

/** Writes the chart; returns its path. */
export function writeChart(path: URL, d: ChartData): void {
    writeFileSync(path, chartSvg(d) + "\n")
}
