import { Listr, PRESET_TIMER, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import type { ProgressEvent } from '../model/progress.js';

type Task = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

/** What one log record says about a cell's progress (pino records, with the cell the run's logger is bound to). */
export interface LogRecord {
  level: number;
  msg?: string;
  cell?: string;
  progress?: ProgressEvent;
  [key: string]: unknown;
}

export type Stage = 'image' | 'kernel' | 'boot' | 'checks';
const STAGES: Stage[] = ['image', 'kernel', 'boot', 'checks'];

/** Where a cell stands, from its log records. Rendered by the task list. */
export class CellState {
  stage?: Stage;
  /** The latest detail of each stage reached: cached, a build's bar, SSH after 5.4 s, 7 done; abi: pass. */
  readonly details = new Map<Stage, string>();
  checksDone = 0;
  /** When the current stage began (ms). */
  since = Date.now();
  /** Warnings and errors logged for this cell, shown under its line as they come. */
  readonly warnings: string[] = [];
  finished?: { ok: boolean; line: string };

  apply(r: LogRecord): void {
    const e = r.progress;
    if (!e) return;
    if (e.stage === 'image')
      this.enter(
        'image',
        e.state === 'built' ? `built in ${e.seconds} s` : e.state === 'cached' ? 'cached' : 'building with mmdebstrap',
      );
    else if (e.stage === 'kernel') {
      if (e.state === 'cached') this.enter('kernel', `cached ${e.release}`);
      else if (e.state === 'building') this.enter('kernel', 'make bzImage');
      else if (e.state === 'objects') this.enter('kernel', buildBar(e.done, e.estimate ?? NaN));
      else this.enter('kernel', `built ${e.release} in ${e.seconds} s`);
    } else if (e.stage === 'boot') {
      if (e.state === 'booting') this.enter('boot', `${e.accel.toUpperCase()}, SSH on port ${e.sshPort}`);
      else {
        this.details.set('boot', `SSH after ${e.seconds.toFixed(1)} s`);
        this.enter('checks', 'starting');
      }
    } else {
      if (e.state === 'done') this.checksDone++;
      this.enter(
        'checks',
        `${this.checksDone} done; ${e.state === 'done' ? `${e.id}: ${e.outcome}` : `running ${e.id}`}`,
      );
    }
  }

  get detail(): string {
    return (this.stage && this.details.get(this.stage)) ?? '';
  }

  /** The stage and how long it has run: "boot 12 s". */
  get clock(): string {
    return this.stage ? `${this.stage} ${Math.round((Date.now() - this.since) / 1000)} s` : 'waiting';
  }

  private enter(stage: Stage, detail: string): void {
    if (stage !== this.stage) this.since = Date.now();
    this.stage = stage;
    this.details.set(stage, detail);
  }
}

/** [#####-----] 1234/5678 objects: the previous build's count is the estimate. */
function buildBar(done: number, of: number, width = 20): string {
  if (!Number.isFinite(of) || of <= 0) return `${done} objects built`;
  const filled = Math.min(width, Math.round((done / of) * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${of} objects`;
}

/** Waits for the state to move, without polling faster than the terminal redraws. */
const tick = () => new Promise((r) => setTimeout(r, 200));

/**
 * The live task list on a terminal: one line per cell with its stage,
 * elapsed time and detail (a kernel build's bar); a lone run shows its
 * stages as subtasks. Fed from the run's log records (`feed`).
 */
export class TerminalProgress {
  private readonly cells = new Map<string, CellState>();
  private readonly list: Listr<unknown, 'default', 'simple'>;
  private done: Promise<unknown>;
  private stopped = false;

  constructor(cellIds: string[]) {
    for (const id of cellIds) this.cells.set(id, new CellState());
    const lone = cellIds.length === 1;
    this.list = new Listr<unknown, 'default', 'simple'>(
      cellIds.map((id) => ({
        title: id,
        task: (_: unknown, task: Task) => (lone ? this.stages(id, task) : this.follow(id, task)),
        rendererOptions: { persistentOutput: true, outputBar: Infinity },
      })),
      {
        concurrent: true,
        exitOnError: false,
        rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false },
        registerSignalListeners: false,
      },
    );
    this.done = this.list.run().catch(() => undefined);
  }

  feed(r: LogRecord): void {
    const cell =
      r.cell !== undefined ? this.cells.get(r.cell) : this.cells.size === 1 ? [...this.cells.values()][0] : undefined;
    cell?.apply(r);
  }

  finish(cell: string, ok: boolean, line: string): void {
    const c = this.cells.get(cell);
    if (c) c.finished = { ok, line };
  }

  /** Ends the list (every cell not finished is marked so) and gives the terminal back. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async follow(id: string, task: Task): Promise<void> {
    const c = this.cells.get(id)!;
    while (!c.finished && !this.stopped) {
      task.title = `${id}  ${c.clock}${c.detail ? `: ${c.detail}` : ''}`;
      if (c.warnings.length) task.output = c.warnings.join('\n');
      await tick();
    }
    if (!c.finished) return task.skip(`${id}  stopped`);
    task.title = `${id}  ${c.finished.line}`;
    if (!c.finished.ok) throw new Error(c.finished.line);
  }

  /** A lone run: image, kernel, boot, checks as subtasks, each done when the next begins. */
  private stages(id: string, task: Task) {
    const c = this.cells.get(id)!;
    const at = (s: Stage) => STAGES.indexOf(s);
    const past = (s: Stage) =>
      c.finished !== undefined || this.stopped || (c.stage !== undefined && at(c.stage) > at(s));
    return task.newListr(
      STAGES.map((s) => ({
        title: s,
        task: async (_: unknown, sub: Task) => {
          do {
            if (c.stage === s) sub.title = `${c.clock}: ${c.detail}`;
            if (c.warnings.length) task.output = c.warnings.join('\n');
            await tick();
          } while (!past(s));
          if (c.details.has(s)) sub.title = `${s}: ${c.details.get(s)}`;
          if (!c.finished && c.stage === s) return sub.skip(`${s}: stopped`);
          if (!c.details.has(s))
            return sub.skip(
              s === 'kernel' && c.details.has('boot') ? "kernel: the image's stock kernel" : `${s}: not reached`,
            );
          if (c.finished && c.stage === s) {
            sub.title = `${s}: ${c.finished.line}`;
            if (!c.finished.ok) throw new Error(c.finished.line);
          }
        },
      })),
      { concurrent: false, exitOnError: true },
    );
  }
}
