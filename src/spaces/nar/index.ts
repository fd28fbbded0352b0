/** NAR's view of the NB101 and NB201 cells (nar.md §2): feature tensors and sampler sequences. */
export * from './feature-tensor';
export * from './sequence';
