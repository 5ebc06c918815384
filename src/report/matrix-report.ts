import type { Verdict } from '../model/verdict.js';

/** One cell's run inside a matrix, shard or merged report. */
export interface MatrixRun {
  /** topology/kernel[#guest], unique within the matrix. */
  cell: string;
  /** The run directory, relative to the directory holding the report. */
  runDir: string;
  ok: boolean;
  verdict: Verdict;
}

/**
 * What a matrix run writes as matrix.json, and a merge as report.json:
 * every cell of the whole matrix (so a merge can tell a missing shard), and
 * the runs this report holds (one shard's, or all of them).
 */
export interface MatrixReport {
  kind: 'numacage-matrix';
  ok: boolean;
  /** Every cell of the whole matrix, in the matrix's order. */
  cells: string[];
  /** Set on the report of one `run --shard I/N`. */
  shard?: { index: number; count: number };
  /** Set on a merge: the reports it combined. */
  mergedFrom?: string[];
  runs: MatrixRun[];
}
