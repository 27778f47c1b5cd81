// Runs a wasm32-wasip1 program under Node's WASI (V8, the engine Envoy embeds): the cargo runner
// for that target, so `cargo bench --target wasm32-wasip1` works. Usage: node wasi.mjs prog.wasm [args]
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { WASI } from "node:wasi";

const [program, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [basename(program), ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(program));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
