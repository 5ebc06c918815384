/** A shell script run as root in the guest over SSH; its stdout is the step's raw output. */
export interface GuestStep {
  name: string;
  script: string;
  timeoutMs?: number;
}
