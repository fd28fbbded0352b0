/** NAS-Bench-201 cell space (tenas.md §1.1–§1.5): ops, codecs, NB201 index, enumeration, cost (NB201 and fvcore conventions). */
export * from './ops';
export * from './arch-string';
export * from './encodings';
export * from './index-map';
export * from './space';
export * from './cost';
export * from './fvcore-cost';
