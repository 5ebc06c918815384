import bisect from './bisect.js';
import boot from './boot.js';
import cache from './cache.js';
import compare from './compare.js';
import doctor from './doctor.js';
import image from './image.js';
import kernel from './kernel.js';
import merge from './merge.js';
import plan from './plan.js';
import repro from './repro.js';
import run from './run.js';
import ssh from './ssh.js';

/** Every command, in the order `numacage --help` lists them. A new command is one file here and one line below. */
export const COMMANDS = [run, merge, compare, repro, bisect, doctor, image, kernel, plan, boot, ssh, cache];
