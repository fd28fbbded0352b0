/** NAS-Bench-MR search space (ncp.md §1.3, §2–§5): codecs, validity, sampling, NCP rounding, closed-form cost. */
export * from './layout';
export * from './space';
export * from './codec';
export * from './sample';
export * from './rounding';
export * from './cost';
