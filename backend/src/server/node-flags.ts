import * as v8 from 'node:v8';

/**
 * Node flags the sidecar runs with (`npm start`, the Dockerfile and the tests' spawned sidecar use
 * exactly these; a test checks they agree). V8 sizes its heap by its limit: with the default limit
 * (a quarter of the machine's memory) a busy sidecar's heap grew to over 500 MB of garbage before
 * collecting it; with these, the process stays under 1 GiB under load (README, "Security model")
 * for 7-11% of ingest speed. Live data is bounded far below the limit (answers in flight are
 * capped: query/request.ts).
 */
export const SERVE_NODE_FLAGS = ['--max-old-space-size=512', '--max-semi-space-size=4'] as const;

/**
 * glibc's malloc asked to back its large regions with transparent huge pages (glibc 2.35 and newer;
 * other C libraries ignore it). It must be in the environment before the process starts, so
 * `npm start`, the Dockerfile, the tests' spawned sidecar, the benchmarks and the `capsight`
 * command's #! line set it (a test keeps them equal). Why: on this project's VMs a first touch of a
 * 4 KiB page costs ~15 µs (256 MiB touched page by page: ~950 ms; the same with huge pages: ~22 ms),
 * and a 1 GB path import touched ~60 k such pages, most of them DuckDB's (its tables and read
 * buffers, allocated with malloc). With it: ~48 k, and the import took 0.83-0.96x the time (10 A/B
 * pairs, docs/benchmark-history.md, tenth session), for 5-8 % more peak RSS. V8's own heap is not malloc's: unaffected.
 */
export const MALLOC_ENV = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' } as const;
/** MALLOC_ENV as a shell assignment (npm start, the #! line). */
export const MALLOC_ENV_ASSIGNMENT = `GLIBC_TUNABLES=${MALLOC_ENV.GLIBC_TUNABLES}`;

/** Whether this process runs with a heap limit near the flags' (not V8's default). */
export function heapLimited(): boolean {
  return v8.getHeapStatistics().heap_size_limit <= 1024 * 1024 * 1024;
}

/**
 * Node flags of the `capsight` command (its #! line; a test keeps them equal). A young generation
 * of 8 MB per semi-space and an old generation limited to 512 MB: with V8's defaults a one-shot
 * run's heap swelled with short-lived garbage (flow records, lines) on flow-heavy captures; with
 * these, `capsight flows` on the DNS-heavy 1 GB profile peaks at 184 MiB instead of 361 and runs
 * 5-30 % faster on every traffic profile (`npm run bench -- --only profiles`). The engine's live
 * JavaScript data stays far below the limit (under 128 MB on the scan profile's 185 k concurrent
 * flows; the flow table itself lives in typed arrays outside it); a capture with millions of
 * concurrent flows can be run with more: node --max-old-space-size=4096 backend/bin/capsight.js.
 */
export const CLI_NODE_FLAGS = ['--max-old-space-size=512', '--max-semi-space-size=8'] as const;

/** The command the #! line runs, with this Node binary: what the benchmarks time as `capsight`. */
export function cliLaunch(node: string): string[] {
  return ['env', MALLOC_ENV_ASSIGNMENT, node, ...CLI_NODE_FLAGS];
}
