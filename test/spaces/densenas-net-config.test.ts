import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parsePythonLiteral } from '../../src/config/python-literal';
import {
  DENSENAS_C_NET_CONFIG,
  NetConfig,
  formatNetConfig,
  netConfigFromJson,
  netConfigToJson,
  parseNetConfig,
  readNetConfigFile,
  validateNetConfig,
  writeNetConfigFile,
} from '../../src/spaces/densenas';
import { expectInvalid } from '../helpers/errors';
import { ISSUE18_NET_CONFIG } from '../helpers/densenas';

const RES_NET_CONFIG = `[[32, 48], 'basic_block', [], 0, 2]|
[[48, 72], 'basic_block', ['basic_block', 'basic_block'], 2, 2]|
[[72, 512], 'basic_block', ['basic_block'], 1, 2]`;

describe('legacy net_config text (densenas.md §4.4)', () => {
  test('DenseNAS-C parses into typed entries (log form, no net_type line: inferred MBV2)', () => {
    const nc = parseNetConfig(DENSENAS_C_NET_CONFIG);
    expect(nc.netType).toBe('mbv2');
    expect(nc.entries).toHaveLength(9);
    expect(nc.entries[0]).toEqual({ kind: 'block', inChannels: 16, outChannels: 16, headOp: 'mbconv_k3_t1', stackOps: [], stride: 1 });
    expect(nc.entries[3]).toEqual({ kind: 'block', inChannels: 48, outChannels: 72, headOp: 'mbconv_k5_t6', stackOps: ['mbconv_k3_t6', 'mbconv_k3_t3'], stride: 2 });
    expect(nc.entries[8]).toEqual({ kind: 'conv1_1', inChannels: 384, outChannels: 1984 });
  });

  test('file form: entries then a net_type line (lines after it ignored, as the original reader)', () => {
    const withType = `${ISSUE18_NET_CONFIG}\nnet_type: mbv2\nanything after is not read`;
    expect(parseNetConfig(withType)).toEqual(parseNetConfig(ISSUE18_NET_CONFIG));
    // One line with '|' separators is the same config.
    expect(parseNetConfig(ISSUE18_NET_CONFIG.replace(/\n/g, ''))).toEqual(parseNetConfig(ISSUE18_NET_CONFIG));
    expect(parseNetConfig(`${RES_NET_CONFIG}\nnet_type: res\n`).netType).toBe('res');
    expect(parseNetConfig(RES_NET_CONFIG).netType).toBe('res');
  });

  test('formatting reproduces the original text byte for byte (Python repr, "|" + newline)', () => {
    expect(formatNetConfig(parseNetConfig(ISSUE18_NET_CONFIG), { netTypeLine: false })).toBe(ISSUE18_NET_CONFIG);
    expect(formatNetConfig(parseNetConfig(DENSENAS_C_NET_CONFIG))).toBe(`${DENSENAS_C_NET_CONFIG}\nnet_type: mbv2\n`);
    expect(formatNetConfig(parseNetConfig(RES_NET_CONFIG))).toBe(`${RES_NET_CONFIG}\nnet_type: res\n`);
  });

  test('JSON form round trip', () => {
    const nc = parseNetConfig(ISSUE18_NET_CONFIG);
    const json = netConfigToJson(nc);
    expect(JSON.parse(json).entries[1]).toEqual({ kind: 'block', inChannels: 16, outChannels: 24, headOp: 'mbconv_k3_t3', stackOps: ['mbconv_k3_t3', 'mbconv_k7_t6'], stride: 2 });
    expect(netConfigFromJson(json)).toEqual(nc);
    expectInvalid(() => netConfigFromJson('{"netType":"mbv2","entries":[{"kind":"conv1_1","inChannels":1,"outChannels":2,"headOp":"x"}]}'), /net_config entry 0: unknown key "headOp"/);
    expectInvalid(() => netConfigFromJson('{"netType":"mbv2"'), /net_config JSON: /);
  });

  test('never evaluated: names, calls and dicts are refused', () => {
    expectInvalid(() => parseNetConfig("[[16, 16], __import__('os').system('true'), [], 0, 1]"), /net_config entry 0: invalid Python literal at character 11 .*'__import__' is a name, not a literal/);
    expectInvalid(() => parseNetConfig("[[16, 16], {'a': 1}, [], 0, 1]"), /net_config entry 0: invalid Python literal at character 11 .*unexpected "{"/);
  });

  test('validation names the entry and what is wrong', () => {
    const edit = (from: string, to: string) => () => parseNetConfig(ISSUE18_NET_CONFIG.replace(from, to));
    expectInvalid(edit('[[24, 48]', '[[32, 48]'), 'net_config entry 2: input width 32 does not match the previous entry\'s output width 24');
    expectInvalid(edit("'mbconv_k7_t6', ['mbconv_k7_t6'], 1, 2]", "'mbconv_k9_t6', ['mbconv_k7_t6'], 1, 2]"), /net_config entry 2: head op: unknown op 'mbconv_k9_t6'/);
    expectInvalid(edit("['mbconv_k7_t6'], 1, 2]", "['mbconv_k7_t6'], 1, 3]"), 'net_config entry 2: stride must be 1 or 2, got 3');
    expectInvalid(edit("['mbconv_k7_t6'], 1, 2]", "['mbconv_k7_t6'], 2, 2]"), 'net_config entry 2: n_stack is 2 but 1 stack ops are listed');
    expectInvalid(edit("['mbconv_k7_t6'], 1, 2]", "['bottle_neck'], 1, 2]"), /net_config entry 2: stack op 0: 'bottle_neck' is not supported/);
    expectInvalid(edit("[[384, 1984], 'conv1_1']", "[[384, 1984], 'conv1_1']|"), /net_config entry 8: empty/);
    expectInvalid(edit("[[192, 384], 'mbconv_k5_t3', [], 0, 1]|", ''), /net_config entry 6: input width 384 does not match .* 192/);
    expectInvalid(() => parseNetConfig(`${ISSUE18_NET_CONFIG}\nnet_type: res`), "net_config entry 7: 'conv1_1' belongs to MBV2 nets only (net_type res)");
    expectInvalid(() => parseNetConfig(`${RES_NET_CONFIG}\nnet_type: mbv2`), /an MBV2 net must end with a \[\[C, last_dim\], 'conv1_1'\] entry/);
    expectInvalid(() => parseNetConfig(`${RES_NET_CONFIG}\nnet_type: vgg`), 'net_config: net_type must be mbv2 or res, got "vgg"');
    expectInvalid(() => parseNetConfig("[[16, 24], 'skip_connect', [], 0, 2]"), /'skip_connect' ignores its stride/);
    expectInvalid(() => parseNetConfig(''), 'net_config: no entries');
  });

  test('validateNetConfig checks objects built in code', () => {
    const nc: NetConfig = { netType: 'res', entries: [{ kind: 'block', inChannels: 32, outChannels: 48, headOp: 'basic_block', stackOps: [], stride: 2 }] };
    expect(() => validateNetConfig(nc)).not.toThrow();
    nc.entries.push({ kind: 'block', inChannels: 48, outChannels: 0, headOp: 'basic_block', stackOps: [], stride: 1 });
    expectInvalid(() => validateNetConfig(nc), 'net_config entry 1: outChannels must be a positive integer, got 0');
  });
});

describe('net_config files', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenas-netconfig-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('legacy and JSON files round trip; the legacy file ends with the net_type line', async () => {
    const nc = parseNetConfig(DENSENAS_C_NET_CONFIG);
    const legacy = path.join(dir, 'net_config');
    const json = path.join(dir, 'net_config.json');
    await writeNetConfigFile(legacy, nc);
    await writeNetConfigFile(json, nc, 'json');
    expect(fs.readFileSync(legacy, 'utf8').split('\n').slice(-2)).toEqual(['net_type: mbv2', '']);
    expect(await readNetConfigFile(legacy)).toEqual(nc);
    expect(await readNetConfigFile(json)).toEqual(nc);
    fs.writeFileSync(path.join(dir, 'bad'), "[[16, 16], 'mbconv_k3_t1', [], 0, 1]|\n[[16, 24]");
    await expect(readNetConfigFile(path.join(dir, 'bad'))).rejects.toMatchObject({ code: 'INVALID_CODE', message: expect.stringMatching(/bad: net_config entry 1: invalid Python literal/) });
    await expect(readNetConfigFile(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

describe('Python literal reader', () => {
  test('numbers, strings, tuples, booleans, None; tuples become arrays', () => {
    expect(parsePythonLiteral("[1, -2.5, 1e-05, .5, 3., 'a\\'b', \"c\", (1,), (), (2), True, False, None, [[]]]")).toEqual([1, -2.5, 1e-5, 0.5, 3, "a'b", 'c', [1], [], 2, true, false, null, [[]]]);
  });
  test('refuses what literal_eval refuses (and nan), with the position', () => {
    expectInvalid(() => parsePythonLiteral('[1, 2'), /'\[' opened at character 0 is never closed/, 'INVALID_ARGUMENT');
    expectInvalid(() => parsePythonLiteral('[1, nan]'), /character 4 .*'nan' is not a Python literal/, 'INVALID_ARGUMENT');
    expectInvalid(() => parsePythonLiteral('[1 2]'), /expected ',' or '\]'/, 'INVALID_ARGUMENT');
    expectInvalid(() => parsePythonLiteral('007'), /leading zero/, 'INVALID_ARGUMENT');
    expectInvalid(() => parsePythonLiteral('['.repeat(40) + ']'.repeat(40)), /nested deeper than 32 levels/, 'INVALID_ARGUMENT');
  });
});
