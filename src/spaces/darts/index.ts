/** DARTS cell space as TE-NAS uses it (tenas.md §1.4): ops, edges, genotypes and their text form. */
export * from './genotype';
export * from './text';
