import {
  DENSENAS_C_NET_CONFIG,
  costListSum,
  countDerivedNet,
  countSuperNet,
  flopsCostList,
  opCount,
  parseNetConfig,
} from '../../src/spaces/densenas';
import { expectInvalid } from '../helpers/errors';
import { ISSUE18_NET_CONFIG, loadSpace } from '../helpers/densenas';


describe('ops counted by hand (densenas.md §2)', () => {
  test('MBConv t=3, stride 2: expand 1×1, depthwise 3×3, project 1×1; BN params only when affine', () => {
    // 24→32 at 16×16: hidden 72; params 24·72 + 9·72 + 72·32; MAdds 24·72·256 + 9·72·64 + 72·32·64.
    expect(opCount('mbconv_k3_t3', 24, 32, 2, 16, 16, false)).toEqual({ params: 1728 + 648 + 2304, madds: 442368 + 41472 + 147456, outH: 8, outW: 8 });
    expect(opCount('mbconv_k3_t3', 24, 32, 2, 16, 16, true).params).toBe(4680 + 2 * (72 + 72 + 32));
    // k7 on an odd size: ⌈7/2⌉ = 4.
    expect(opCount('mbconv_k7_t6', 8, 8, 2, 7, 7, false)).toMatchObject({ outH: 4, outW: 4, madds: 8 * 48 * 49 + 49 * 48 * 16 + 48 * 8 * 16 });
  });

  test('mbconv_k3_t1 has no expansion and its last BN stays affine', () => {
    expect(opCount('mbconv_k3_t1', 16, 16, 1, 112, 112, false)).toEqual({ params: 144 + 256 + 32, madds: (144 + 256) * 112 * 112, outH: 112, outW: 112 });
  });

  test('basic_block: 1×1 shortcut when the stride or width changes', () => {
    expect(opCount('basic_block', 32, 48, 2, 112, 112, false)).toEqual({ params: 13824 + 20736 + 1536, madds: 36096 * 56 * 56, outH: 56, outW: 56 });
    expect(opCount('basic_block', 32, 48, 2, 112, 112, true).params).toBe(36096 + 3 * 96);
    expect(opCount('basic_block', 48, 48, 1, 28, 28, false).params).toBe(2 * 9 * 48 * 48);
  });

  test('skip_connect: identity, or 1×1 conv + BN when widths differ; its stride is ignored', () => {
    expect(opCount('skip_connect', 24, 24, 1, 8, 8, true)).toEqual({ params: 0, madds: 0, outH: 8, outW: 8 });
    expect(opCount('skip_connect', 24, 32, 2, 8, 8, true)).toEqual({ params: 768 + 64, madds: 768 * 64, outH: 8, outW: 8 });
  });

  test('unknown ops and bad shapes are refused', () => {
    expectInvalid(() => opCount('bottle_neck', 32, 32, 1, 8, 8, false), /'bottle_neck' is not supported/, 'INVALID_ARGUMENT');
    expectInvalid(() => opCount('mbconv_k3_t3', 0, 32, 1, 8, 8, false), /mbconv_k3_t3: cIn must be a positive integer, got 0/, 'INVALID_ARGUMENT');
  });
});

describe('super-net weights (§3.1) and FLOPs (§5.3)', () => {
  test('MBV2 super net, 100 classes: 90.43 M weights', () => {
    const count = countSuperNet(loadSpace('mbv2-imagenet'));
    expect((count.params / 1e6).toFixed(2)).toBe('90.43');
    // Stem conv 3·9·16 (BN affine=False) and the head_block 16→16 (432, its last BN affine).
    expect(count.parts.stem.params).toBe(432);
    expect(count.parts.headBlock!.params).toBe(432);
    expect(count.parts.classifier.params).toBe(1984 * 100 + 100);
  });

  test('ResNet super net: 178.1 M weights (stem BN affine, PyTorch defaults)', () => {
    const count = countSuperNet(loadSpace('res-imagenet'));
    expect((count.params / 1e6).toFixed(1)).toBe('178.1');
    expect(count.parts.stem.params).toBe(27 * 32 + 64);
    expect(count.parts.headBlock).toBeNull();
  });

  test('§8 small config, 10 classes: 90.25 M weights, 754.0 M MAdds over all candidate ops', () => {
    const space = loadSpace('mbv2-small32');
    const count = countSuperNet(space);
    expect((count.params / 1e6).toFixed(2)).toBe('90.25');
    // Same weights as the 224 net but a 10-class classifier.
    expect(countSuperNet(loadSpace('mbv2-imagenet')).params - count.params).toBe(1984 * 90 + 90);
    expect((count.loggedMadds / 1e6).toFixed(1)).toBe('754.0');
    expect(count.madds - count.loggedMadds).toBe(count.parts.headBlock!.madds);
  });

  test('FLOPs cost list: positional layout, batch 1, stem entry with head_block, sum = all modules', () => {
    const space = loadSpace('mbv2-small32');
    const list = flopsCostList(space);
    // Stem 27·16·16² + head_block (9·16 + 16·16)·16², in MMAdds.
    expect(list.stem).toBeCloseTo((27 * 16 * 256 + 400 * 256) / 1e6, 12);
    expect(list.blocks.map((b) => b.head.length)).toEqual([1, 1, 2, 3, 3, 4, 4, 3, 4, 4, 3, 4, 4, 3, 4, 4]);
    expect(list.blocks.map((b) => b.stack.length)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0]);
    expect(list.blocks[0].stack[0][6]).toBe(0); // identity skip: no conv
    expect(list.conv1x1).toEqual([384, 352, 320].map((c) => (c * 1984 * 4) / 1e6));
    expect(list.classifier).toBeCloseTo((1984 * 10) / 1e6, 15);
    expect(costListSum(list)).toBeCloseTo(countSuperNet(space).madds / 1e6, 9);
  });

  test('skip_reg (ResNet config): every stack skip entry is the layer\'s first entry / 10; head entries untouched', () => {
    const space = loadSpace('res-imagenet');
    const plain = flopsCostList(space);
    const reg = flopsCostList(space, { skipReg: true });
    let layers = 0;
    reg.blocks.forEach((b, i) => {
      expect(b.head).toEqual(plain.blocks[i].head);
      for (const [first, skip] of b.stack) {
        expect(skip).toBe(first / 10);
        layers++;
      }
    });
    expect(layers).toBe(113);
    expect(plain.blocks[3].stack[0][1]).toBe(0);
  });
});

describe('derived nets (§4.4, §5.3): 224², 1000 classes, affine BN', () => {
  test('the seed-2 untrained derivation: 424.0 MMAdds, 5.42 M params', () => {
    const c = countDerivedNet(parseNetConfig(ISSUE18_NET_CONFIG));
    expect((c.madds / 1e6).toFixed(1)).toBe('424.0');
    expect((c.params / 1e6).toFixed(2)).toBe('5.42');
    expect(c.finalSize).toBe(7);
  });

  test('DenseNAS-C (the base config\'s net_config): 360.81 MMAdds, 6.13 M params', () => {
    const c = countDerivedNet(parseNetConfig(DENSENAS_C_NET_CONFIG));
    expect((c.madds / 1e6).toFixed(2)).toBe('360.81');
    expect((c.params / 1e6).toFixed(2)).toBe('6.13');
  });

  test('options: classes change only the Linear layer; a 32² input scales the convs', () => {
    const nc = parseNetConfig(DENSENAS_C_NET_CONFIG);
    const base = countDerivedNet(nc);
    const ten = countDerivedNet(nc, { numClasses: 10 });
    expect(base.params - ten.params).toBe(1984 * 990 + 990);
    expect(base.madds - ten.madds).toBe(1984 * 990);
    const small = countDerivedNet(nc, { inputSize: 32, numClasses: 1000 });
    expect(small.finalSize).toBe(1);
    expect(small.params).toBe(base.params);
    expectInvalid(() => countDerivedNet(nc, { inputSize: 0 }), /inputSize must be a positive integer, got 0/, 'INVALID_ARGUMENT');
  });
});
