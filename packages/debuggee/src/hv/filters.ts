/** A filter (core, pid, tid) or event parameter left out: matches everything (HyperDbg's 0xffffffff). */
export const ANY_FILTER = -1;
