// Load generator for benchmarks/serve_throughput.py: Viv's access pattern.
//
//   node load.mjs URL FILE_SIZE [--clients 32] [--seconds 8] [--block 65536] [--seed 1]
//
// Each of --clients keep-alive connections loops: pick a random 64 KiB block,
// GET it with Viv's inclusive-end-one-too-far Range (bytes=a-(a+65536)),
// check 206 + Content-Range + length, record the latency. Prints one JSON line.
import http from 'node:http';

const args = process.argv.slice(2);
const url = new URL(args[0]);
const fileSize = Number(args[1]);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const clients = opt('clients', 32);
const seconds = opt('seconds', 8);
const block = opt('block', 65536);
let seed = opt('seed', 1) >>> 0;

function random() { // mulberry32: the same offsets for every server
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const nblocks = Math.floor(fileSize / block);
const latencies = [];
let bytes = 0;
let errors = 0;
let firstError = null;

function one(start) {
  const end = start + block; // Viv asks for one byte more than the block
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(url, { agent, headers: { Range: `bytes=${start}-${end}` } }, (res) => {
      let n = 0;
      res.on('data', (chunk) => { n += chunk.length; });
      res.on('end', () => {
        const want = Math.min(end, fileSize - 1) - start + 1;
        const range = res.headers['content-range'] || '';
        if (res.statusCode !== 206 || n !== want || !range.startsWith(`bytes ${start}-`)) {
          errors += 1;
          firstError ??= `status ${res.statusCode}, ${n} bytes, range ${range}`;
        } else {
          bytes += n;
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        resolve();
      });
    });
    req.on('error', (err) => { errors += 1; firstError ??= String(err); resolve(); });
  });
}

const t0 = performance.now();
const deadline = t0 + seconds * 1000;
async function worker() {
  while (performance.now() < deadline) {
    await one(Math.floor(random() * nblocks) * block);
  }
}
await Promise.all(Array.from({ length: clients }, worker));
const elapsed = (performance.now() - t0) / 1000;
agent.destroy();
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null);
process.stdout.write(`${JSON.stringify({
  requests: latencies.length, errors, firstError, seconds: elapsed,
  mb_per_s: bytes / 1e6 / elapsed, req_per_s: latencies.length / elapsed,
  p50_ms: pct(0.5), p99_ms: pct(0.99),
})}\n`);
