/**
 * The DenseNAS super network of a config, built natively (native/core/nets/dense_supernet.h), and the
 * conversions between its native forms and the plain-number forms of src/spaces/densenas: architecture
 * parameters (for derivation, histograms, chained costs) and cost lists (positional lat_list layout).
 */
import { TorchnasError } from '../../core/errors';
import { native, NativeDenseCosts, NativeDenseSearchSettings, NativeDenseSuperNet } from '../../native';
import { DenseArchParameters, DenseCostList, DenseNasConfig, DenseSpace, buildDenseSpace } from '../../spaces/densenas';

export interface SuperNetOptions {
  seed?: number;
  device?: string;
  search?: NativeDenseSearchSettings;
}

/**
 * The super network of `space` (every op of every edge), its α/β and search loop seeded with `seed`, built on a
 * worker thread: the §8 space holds 90 M weights and takes seconds to build, during which the event loop keeps
 * running (progress bars, servers, AbortSignals).
 */
export async function createSuperNet(space: DenseSpace, options: SuperNetOptions = {}): Promise<NativeDenseSuperNet> {
  const binding = native();
  // The native reader takes the fields it needs from the resolved space (extra fields are ignored).
  const parts = await binding.buildDenseSuperNet(space, { seed: options.seed ?? 0, device: options.device ?? 'cpu', search: options.search });
  return new binding.DenseSuperNet(parts);
}

/**
 * The search settings a config asks for (§1.2, §4.3): SGD on the weights with a per-step cosine to the
 * inherited floor optim.min_lr over `totalWeightSteps`, Adam on α and β, sampling and temperature, and the
 * cost term (λ = sub_loss_factor, τ = log_base).
 */
export function searchSettings(config: DenseNasConfig, totalWeightSteps: number): NativeDenseSearchSettings {
  const o = config.optim;
  const sp = config.search_params;
  return {
    weightLr: o.weight.init_lr,
    weightMomentum: o.weight.momentum,
    weightDecay: o.weight.weight_decay,
    minLr: o.min_lr,
    totalWeightSteps: Math.max(1, totalWeightSteps),
    alphaLr: o.arch.alpha_lr,
    betaLr: o.arch.beta_lr,
    archWeightDecay: o.arch.weight_decay,
    weightSampleNum: sp.weight_sample_num,
    samplePolicy: sp.sample_policy,
    temperature: sp.softmax_temp,
    gumbel: sp.gumbel,
    costTerm: o.if_sub_obj,
    subLossFactor: o.sub_obj.sub_loss_factor,
    logBase: o.sub_obj.log_base,
  };
}

/**
 * The softmax temperature of epoch `epoch` (0-based): the config's softmax_temp until arch updates start, then
 * multiplied by softmax_temp_decay per epoch, never below softmax_temp_min (nor above the start value).
 * A function of the epoch only, so a resumed search recomputes it.
 */
export function temperatureAt(config: DenseNasConfig, epoch: number, archStart: number): number {
  const sp = config.search_params;
  if (epoch < archStart || sp.softmax_temp_decay === 1) return sp.softmax_temp;
  return Math.max(Math.min(sp.softmax_temp, sp.softmax_temp_min), sp.softmax_temp * sp.softmax_temp_decay ** (epoch - archStart));
}

export { buildDenseSpace };

/** A cost list in the native layout (head[j], stack[j] for j = 0..N−1, index 0 unused). */
export function nativeCosts(costs: DenseCostList): NativeDenseCosts {
  return {
    stem: costs.stem,
    head: [[], ...costs.blocks.map((b) => b.head)],
    stack: [[], ...costs.blocks.map((b) => b.stack)],
    last: costs.conv1x1,
    classifier: costs.classifier,
  };
}

/** The super network's α/β as plain numbers in the shapes of {@link DenseArchParameters}. */
export function archParametersOf(space: DenseSpace, net: NativeDenseSuperNet): DenseArchParameters {
  const raw = net.archParameters();
  const N = space.blocks.length - 1;
  const rows = (values: Float32Array | null, count: number, width: number, what: string): number[][] => {
    if (count === 0) return [];
    if (!values || values.length !== count * width) throw new TorchnasError(`${what}: the native parameters do not fit the space`, 'INTERNAL');
    return Array.from({ length: count }, (_, r) => Array.from(values.subarray(r * width, (r + 1) * width)));
  };
  const betas = space.blocks.slice(0, N).map((b, i) => rows(raw.betas[i], 1, b.successors.length, `β of block ${i}`)[0]);
  const alphaHead = space.blocks.slice(1, N).map((b, k) => rows(raw.alphaHead[k + 1], b.predecessors.length, space.headOps.length, `α_head of block ${k + 1}`));
  const alphaStack = space.blocks.slice(1, N).map((b, k) => rows(raw.alphaStack[k + 1], b.numLayers, space.stackOps.length, `α_stack of block ${k + 1}`));
  return { betas, alphaHead, alphaStack };
}
