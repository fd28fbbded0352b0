/** DenseNAS densely connected space (densenas.md §1–§5): configs, connectivity, counts, costs, net_config, derivation. */
export * from './config-schema';
export * from './config';
export * from './space';
export * from './ops';
export * from './counts';
export * from './arch';
export * from './cost-list';
export * from './supernet-cost';
export * from './net-config';
export * from './derived-cost';
export * from './derive';
