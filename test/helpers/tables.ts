/** Small benchmark tables generated in code (seeded), for tests that need small or altered tables rather than the bundled ones. */
import { Random } from '../../src/core/random';
import { embeddingToSetting, sampleEmbedding } from '../../src/spaces/nasbench-mr';
import { nb201FromOrdinal, nb201ToTableEmbedding } from '../../src/spaces/nb201';

/** A NAS-Bench-MR classification table (keys of the `cls-*` tasks) of `count` records. */
export function nasBenchMrRecords(count: number, seed: number): Record<string, unknown>[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => {
    const embedding = sampleEmbedding(random);
    const setting = embeddingToSetting(embedding);
    return {
      top1: Math.round(random.next() * 1e4) / 100,
      top5: Math.round(random.next() * 1e4) / 100,
      flops: Math.round(random.next() * 1e4) / 1000,
      params: Math.round(random.next() * 1e4) / 1000,
      input_channel: setting.inputChannel,
      inverted_residual_setting: setting.networkSetting,
      last_channel: setting.lastChannel,
      embedding,
    };
  });
}

/** NCP's NAS-Bench-201 table layout: `count` records with float32 one-hot embeddings. */
export function nb201Records(count: number, seed: number): { embedding: Float32Array; Acc: number; Flops: number; Params: number }[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => ({
    embedding: Float32Array.from(nb201ToTableEmbedding(nb201FromOrdinal(random.int(0, 15624)))),
    Acc: Math.round(random.next() * 3000) / 30,
    Flops: Math.round(random.next() * 1e4) / 100,
    Params: Math.round(random.next() * 1e3) / 1000,
  }));
}
