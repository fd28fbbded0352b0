/** NAS-Bench-101 cell space as NAR stores it (nar.md §1.1): cell checks and the per-vertex cost counter. */
export * from './cell';
export * from './cost';
export * from './hash';
