/**
 * Exactness against the original TE-NAS code (specs/tenas.md §6(b) RNG checks and Appendix A): same
 * construction order and init, same generator streams, so the same numbers.
 */
import { native } from '../../../src/native';
import { Tensor } from '../../../src/core/tensor';
import { ntkNetwork, singlePathAlpha, thinNetwork } from '../../../src/methods/tenas/networks';
import { referenceInputs, referenceRegionInputs } from '../../helpers/tenas-reference';
import { parseNb201String } from '../../../src/spaces/nb201';

const ARCH_42 = '|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|';
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('TE-NAS reference checks (index 42)', () => {
  const ops = parseNb201String(ARCH_42);
  const alpha = singlePathAlpha(ops);

  test('construction matches the original parameter by parameter (RNG checks)', () => {
    const ntk = ntkNetwork({ seed: 42000 });
    const s = ntk.parameterSummary();
    expect(s.count).toBe(14677); // §1.3: 14,707 minus the 30 α
    expect(s.weightCount).toBe(14364); // the Jacobian's columns in the round-1 supernet
    expect(s.sum).toBe(300.85283871628235);
    expect(Array.from((ntk.parameter('stem_conv.weight').toArray() as Float32Array).slice(0, 5))).toEqual([
      -0.17610540986061096, -0.08689168840646744, 0.1477353870868683, -0.18192926049232483, 0.19224396347999573,
    ]);
    expect(thinNetwork({ seed: 42000 }).parameterSummary().sum).toBe(15.740610791370273);
  });

  test('generator streams equal torch.Generator(12345)', () => {
    const g = new (native().Generator)(12345);
    const b72 = g.randn([72, 3, 32, 32]).toArray() as Float32Array;
    expect(Array.from(b72.slice(0, 5))).toEqual([-1.479807734489441, 0.48730599880218506, -3.012793779373169, 0.4438551962375641, 0.359756201505661]);
    expect(sum(b72)).toBe(194.00833379016922);
  });

  test('batch-32 run: κ, R on Fashion-MNIST crops and R on N(0,1) for all three repeats', async () => {
    const inputs = await referenceInputs(32);
    const crops0 = inputs.regionFashionMnist[0].toArray() as Float32Array;
    expect(sum(crops0)).toBe(839.9265232271282);
    expect(Array.from(crops0.slice(0, 3))).toEqual([0.1451980173587799, 0.05632394179701805, -0.032550130039453506]);
    const expectedKappa = [8.92769, 9.93957, 9.26726];
    const expectedRegionsFmnist = [762, 749, 781];
    const expectedRegionsNormal = [2829, 2860, 2918];
    for (let r = 0; r < 3; r++) {
      const k = await ntkNetwork({ seed: 42000 + r }).ntk(inputs.ntkNormal[r], { alpha });
      expect(k.kappa).toBeCloseTo(expectedKappa[r], 4);
      const thin = thinNetwork({ seed: 42000 + r });
      const fm: Tensor = referenceRegionInputs(inputs.regionFashionMnist, r);
      expect((await thin.linearRegions(fm, { alpha })).regions).toBe(expectedRegionsFmnist[r]);
      expect((await thin.linearRegions(referenceRegionInputs(inputs.regionNormal, r), { alpha })).regions).toBe(expectedRegionsNormal[r]);
    }
  });

  test('batch-16 run: κ logit-sum, per-class-traced κ and κ on Fashion-MNIST', async () => {
    const inputs = await referenceInputs(16);
    const expected = { logit: [3.77424, 4.61859, 3.47147], perClass: [3.86356, 3.97021, 3.83933], fmnist: [37.2413, 61.8094, 27.376] };
    for (let r = 0; r < 3; r++) {
      const net = ntkNetwork({ seed: 42000 + r });
      expect((await net.ntk(inputs.ntkNormal[r], { alpha })).kappa / expected.logit[r]).toBeCloseTo(1, 5);
      expect((await net.ntk(inputs.ntkNormal[r], { alpha, mode: 'per_class_trace' })).kappa / expected.perClass[r]).toBeCloseTo(1, 5);
      expect((await net.ntk(inputs.ntkFashionMnist[r], { alpha })).kappa / expected.fmnist[r]).toBeCloseTo(1, 5);
    }
  });
});
