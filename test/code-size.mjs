// `npm run size`: how much of DeviceScript's 64 KB function-code limit the firmware uses.
//
//   node test/code-size.mjs [entry.ts] [--no-build] [--files N] [--top N] [--file PATH] [--json] [--max BYTES]
//
// Builds the entry (default src/main.ts) with `devs build`, then reads the compiler's debug info
// (.devicescript/bin/bytecode-dbg.json): every compiled function has a name, a bytecode size and a
// location [start, length] in the concatenation of the source texts, which gives its file.
// The image format limits the sum of all function bodies to 65,536 bytes (`devs` verifier check
// 1051), so that sum is the number that matters; strings, floats and the header do not count.
// Each function costs a 16-byte header plus its code rounded up to 4 bytes; each kept method also
// costs about 9 bytes in the compiler-made "prototype" function that installs it.
//
// Tree-shaking: the compiler drops unreferenced functions and classes, but keeps EVERY method of a
// used class unless the class carries the JSDoc tag `/** @devsWhenUsed */`; with the tag a method
// is kept only if compiled code names it (`x.m` on a value typed as the class or a base class, or
// `.m` on an interface / `any` value, which keeps every tagged method called m). So every class in
// src/ carries the tag, and the report lists any class that does not.
//   --no-build   reuse the last build
//   --files N    how many files to list (default 25; 0 = all)
//   --top N      how many functions to list (default 25)
//   --file PATH  list every function of the files whose path contains PATH
//   --json       one JSON object instead of tables
//   --max BYTES  exit 1 when the function code exceeds BYTES (a budget for CI)
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"

const LIMIT = 65536
const root = new URL("..", import.meta.url).pathname

const args = process.argv.slice(2)
const opt = { entry: "src/main.ts", build: true, files: 25, top: 25, file: null, json: false, max: LIMIT }
for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === "--no-build") opt.build = false
    else if (a === "--json") opt.json = true
    else if (a === "--files") opt.files = +args[++i]
    else if (a === "--top") opt.top = +args[++i]
    else if (a === "--file") opt.file = args[++i]
    else if (a === "--max") opt.max = +args[++i]
    else if (a.startsWith("-")) {
        console.error(`unknown option ${a}`)
        process.exit(2)
    } else opt.entry = a
}

if (opt.build) {
    const r = spawnSync(join(root, "node_modules", ".bin", "devs"), ["build", opt.entry], { cwd: root, encoding: "utf8" })
    if (r.status !== 0) {
        process.stderr.write((r.stdout || "") + (r.stderr || ""))
        console.error(`devs build ${opt.entry} failed`)
        process.exit(1)
    }
}

const dbg = JSON.parse(readFileSync(join(root, ".devicescript", "bin", "bytecode-dbg.json"), "utf8"))

// Source start offsets in the concatenated text, in dbg order.
const starts = []
let pos = 0
for (const s of dbg.sources) {
    starts.push(pos)
    pos += s.length
}
function fileOf(offset) {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
        const mid = (lo + hi + 1) >> 1
        if (starts[mid] <= offset) lo = mid
        else hi = mid - 1
    }
    return dbg.sources[lo].path
}
function lineOf(path, offset) {
    const i = dbg.sources.findIndex((s) => s.path === path)
    return dbg.sources[i].text.slice(0, offset - starts[i]).split("\n").length
}

// "main" and "prototype" are compiler-made: main runs every top-level statement, prototype
// assigns every kept method to its class (about 9 bytes per method). They are the first two
// functions and point at the entry file, so they are listed under their own names instead.
const fns = dbg.functions.map((f, i) => {
    const file = i < 2 ? `(${f.name})` : fileOf(f.location[0])
    return { name: f.name, size: f.size, file, line: file.startsWith("(") ? 0 : lineOf(file, f.location[0]) }
})
const total = fns.reduce((n, f) => n + f.size, 0)

const byFile = new Map()
for (const f of fns) {
    const e = byFile.get(f.file) || { file: f.file, size: 0, count: 0 }
    e.size += f.size
    e.count++
    byFile.set(f.file, e)
}
const files = [...byFile.values()].sort((a, b) => b.size - a.size)
const top = [...fns].sort((a, b) => b.size - a.size)

// A class without the `@devsWhenUsed` JSDoc tag keeps every method once the class is used at all;
// with it the compiler keeps only methods that some compiled code names (see the header).
const untagged = []
for (const s of dbg.sources) {
    if (!s.path.startsWith("src/")) continue
    const re = /^(?:export )?(?:abstract )?class (\w+)/gm
    let m
    while ((m = re.exec(s.text))) {
        const before = s.text.slice(0, m.index).trimEnd()
        if (!/\/\*\*[^]*?@devsWhenUsed[^]*?\*\/$/.test(before.slice(-400))) untagged.push(`${s.path}: class ${m[1]}`)
    }
}

if (opt.json) {
    console.log(JSON.stringify({ entry: opt.entry, total, limit: LIMIT, headroom: LIMIT - total, files, functions: top, untagged }, null, 1))
    process.exit(total > opt.max ? 1 : 0)
}

const pad = (s, n) => String(s).padStart(n)
console.log(`${opt.entry}: function code ${total} of ${LIMIT} bytes, ${LIMIT - total} left (${fns.length} functions)`)

console.log(`\n  bytes  fns  file`)
for (const f of opt.files > 0 ? files.slice(0, opt.files) : files) console.log(`${pad(f.size, 7)} ${pad(f.count, 4)}  ${f.file}`)
if (opt.files > 0 && files.length > opt.files) {
    const rest = files.slice(opt.files)
    console.log(`${pad(rest.reduce((n, f) => n + f.size, 0), 7)} ${pad(rest.reduce((n, f) => n + f.count, 0), 4)}  (${rest.length} more files)`)
}

console.log(`\n  bytes  function`)
for (const f of top.slice(0, opt.top)) console.log(`${pad(f.size, 7)}  ${f.name}  ${f.file}${f.line ? ":" + f.line : ""}`)

if (untagged.length > 0) {
    console.log(`\nclasses without /** @devsWhenUsed */ (all their methods are compiled in):`)
    for (const u of untagged) console.log(`  ${u}`)
}

if (opt.file) {
    const sel = top.filter((f) => f.file.includes(opt.file))
    console.log(`\n  bytes  function in *${opt.file}* (${sel.reduce((n, f) => n + f.size, 0)} bytes)`)
    for (const f of sel) console.log(`${pad(f.size, 7)}  ${f.name}  ${f.file}:${f.line}`)
}

if (total > opt.max) {
    console.log(`\nFAIL: function code ${total} exceeds the budget of ${opt.max} bytes`)
    process.exit(1)
}
