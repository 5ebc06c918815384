/**
 * A shell script of guest/scripts/ run as root in the guest over SSH (see guest-scripts.ts); its
 * stdout is the step's raw output.
 */
export interface GuestStep {
  name: string;
  /** The file under guest/scripts/, e.g. 'hugetlb.sh'. */
  script: string;
  /** The values the script reads from its environment, by UPPERCASE name: node ids, counts, tunables. */
  env?: Record<string, string | number>;
  timeoutMs?: number;
}
