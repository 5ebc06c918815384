/**
 * What a log record says about a run's progress, in its `progress` field:
 * the task list (matrix/progress.ts) reads these, never the message texts.
 */
export type ProgressEvent =
  | { stage: 'image'; state: 'cached' }
  | { stage: 'image'; state: 'building' }
  | { stage: 'image'; state: 'built'; seconds: number }
  | { stage: 'kernel'; state: 'cached'; release: string }
  | { stage: 'kernel'; state: 'building' }
  | { stage: 'kernel'; state: 'objects'; done: number; estimate?: number }
  | { stage: 'kernel'; state: 'built'; release: string; seconds: number }
  | { stage: 'boot'; state: 'booting'; accel: string; sshPort: number }
  | { stage: 'boot'; state: 'ssh'; seconds: number }
  | { stage: 'checks'; state: 'started'; id: string }
  | { stage: 'checks'; state: 'done'; id: string; outcome: string };

/** The log fields that carry an event: `log.info(progressEvent({...}), 'message')`. */
export const progressEvent = (event: ProgressEvent): { progress: ProgressEvent } => ({ progress: event });
