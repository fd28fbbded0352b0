/**
 * Mutated inputs to the DenseNAS text readers (net_config, lat_list, YAML configs): every case ends in a
 * result that round-trips or a TorchnasError, never another error type. Sized by TORCHNAS_FUZZ_COUNT like
 * test/fuzz (here a tenth of it per family, at least 200).
 */
import * as fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { formatLatList, formatNetConfig, parseDenseNasConfig, parseLatList, parseNetConfig } from '../../src/spaces/densenas';
import { FUZZ_COUNT, FUZZ_SEED, Tally, caseRandom, ensure, mutateString } from '../fuzz/fuzz-helpers';
import { ISSUE18_NET_CONFIG, SMALL32_LAT_LIST, configPath, loadSpace } from '../helpers/densenas';

const CASES = Math.max(200, Math.ceil(FUZZ_COUNT / 10));
/** YAML parsing costs ~10 ms a case: fewer of them. */
const YAML_CASES = Math.max(100, Math.ceil(FUZZ_COUNT / 25));
const DICT = ['[', ']', '(', ')', ',', '|', "'", '"', '\n', ' ', '0', '1', '2', '-', '.', 'e', '1e308', 'nan', 'None', 'True', 'conv1_1', 'skip_connect', 'net_type: res', ': ', '#', '  '];

function finish(tally: Tally, cases = CASES): void {
  expect(tally.failures).toEqual([]);
  expect(tally.inputs).toBe(cases);
  // Valid inputs occur (one case in ten is left whole), so the round-trip checks ran.
  expect(tally.ok.count).toBeGreaterThan(0);
}

test(`net_config text (${CASES} inputs)`, () => {
  const tally = new Tally('densenas-net-config');
  for (let i = 0; i < CASES; i++) {
    const text = mutateString(caseRandom('densenas-net-config', FUZZ_SEED, i), `${ISSUE18_NET_CONFIG}\nnet_type: mbv2\n`, DICT);
    tally.run(i, text, () => parseNetConfig(text), (nc) => {
      const parsed = nc as ReturnType<typeof parseNetConfig>;
      ensure(JSON.stringify(parseNetConfig(formatNetConfig(parsed))) === JSON.stringify(parsed), 'format → parse differs');
    });
  }
  finish(tally);
});

test(`lat_list text (${CASES} inputs)`, () => {
  const space = loadSpace('mbv2-small32');
  const original = gunzipSync(fs.readFileSync(SMALL32_LAT_LIST)).toString('utf8');
  const tally = new Tally('densenas-lat-list');
  for (let i = 0; i < CASES; i++) {
    const text = mutateString(caseRandom('densenas-lat-list', FUZZ_SEED, i), original, DICT);
    tally.run(i, text, () => parseLatList(text, space), (costs) => {
      const c = costs as ReturnType<typeof parseLatList>;
      ensure(JSON.stringify(parseLatList(formatLatList(c), space)) === JSON.stringify(c), 'format → parse differs');
    });
  }
  finish(tally);
});

test(`search YAML (${YAML_CASES} inputs)`, () => {
  const original = fs.readFileSync(configPath('mbv2-small32'), 'utf8');
  const tally = new Tally('densenas-yaml');
  for (let i = 0; i < YAML_CASES; i++) {
    const text = mutateString(caseRandom('densenas-yaml', FUZZ_SEED, i), original, DICT);
    tally.run(i, text, () => parseDenseNasConfig(text, 'fuzz.yaml'), (c) => ensure(typeof (c as { net_type: unknown }).net_type === 'string', 'no net_type'));
  }
  finish(tally, YAML_CASES);
});
