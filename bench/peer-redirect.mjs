// Preloaded (`node --import`) into the peer airtable-mcp-server for the side-by-side bench.
// The peer has no base-URL setting (its CLI always talks to api.airtable.com), so its global
// fetch is pointed at the sandbox named by BENCH_AIRTABLE_URL. Nothing else changes.
const AIRTABLE = 'https://api.airtable.com';
const target = process.env.BENCH_AIRTABLE_URL;
const realFetch = globalThis.fetch;

if (target) {
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    if (!url.startsWith(AIRTABLE)) return realFetch(input, init);
    return realFetch(target + url.slice(AIRTABLE.length), init);
  };
}
