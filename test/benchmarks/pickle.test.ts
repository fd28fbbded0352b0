import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePickle, readPickleFile, NdArray } from '../../src/benchmarks/pickle';
import { TorchnasError } from '../../src/core/errors';
import { Random } from '../../src/core/random';
import { bundledBytes, bundledFile } from '../helpers/bundled';

const MR_TASKS = ['seg', 'cls-10-1000', 'cls-10c', 'cls-50-100', 'video'];

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** Runs `fn` and returns the TorchnasError it throws (fails the test on success or another error type). */
function thrown(fn: () => unknown): TorchnasError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TorchnasError) return e;
    throw new Error(`expected a TorchnasError, got ${String(e)}`);
  }
  throw new Error('expected an error, none was thrown');
}

// Fixtures written by Python 3.11 + numpy 2.x with pickle protocol 4 (numpy 2 names
// numpy._core.multiarray._reconstruct; the shipped NB201 file uses numpy.core.multiarray).
const NUMPY = {
  // {'x': a, 'y': [a, a]} with a = float32 [1.5, -2.25, 3.0]; the list refers back to the memoised array.
  f4Shared:
    '800495a9000000000000007d94288c0178948c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b03859468058c0564747970659493948c02663494898887945294284b038c013c944e4e4e4affffffff4affffffff4b0074946289430c0000c03f000010c000004040947494628c0179945d9428680b680b65752e',
  f8: '800495a1000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b03859468038c0564747970659493948c02663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494628943189a9999999999b93f9c7500883ce437fe0000000000000440947494622e',
  i4: '80049595000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b03859468038c0564747970659493948c02693494898887945294284b038c013c944e4e4e4affffffff4affffffff4b0074946289430cf9ffffff00000000ffffff7f947494622e',
  i8: '800495a1000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b03859468038c0564747970659493948c02693894898887945294284b038c013c944e4e4e4affffffff4affffffff4b00749462894318ffffffffffffdfff01000000000000002a00000000000000947494622e',
  f4BigEndian:
    '80049595000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b03859468038c0564747970659493948c02663494898887945294284b038c013e944e4e4e4affffffff4affffffff4b0074946289430c3fc00000c010000040400000947494622e',
  i4TwoByThree:
    '800495a3000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b024b03869468038c0564747970659493948c02693494898887945294284b038c013c944e4e4e4affffffff4affffffff4b00749462894318000000000100000002000000030000000400000005000000947494622e',
  complex128:
    '8004959a000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b01859468038c0564747970659493948c0363313694898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494628943100000000000000000000000000000f03f947494622e',
};

/** float64 0..39: 320 bytes of data, so the pickle uses BINBYTES instead of SHORT_BINBYTES. */
function f8Range40(): Uint8Array {
  const head =
    '800495cc010000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b28859468038c0564747970659493948c02663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b00749462894240010000';
  const data = Buffer.from(new Float64Array(Array.from({ length: 40 }, (_, i) => i)).buffer).toString('hex');
  return hex(head + data + '947494622e');
}

/** Fingerprints of the tables' JSON copies (not shipped; see the fixture's "about"). */
const JSON_COPIES = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'json-copies.json'), 'utf8')) as {
  tables: Record<string, { records: number; sha256: string; first: Record<string, unknown>; last: Record<string, unknown> }>;
}).tables;

/** The text of a JSON copy of decoded records: numpy arrays as lists, keys in the pickle's order. */
function asJsonText(records: unknown[]): string {
  return JSON.stringify(records, (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v));
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('bundled pickles equal their JSON copies (ncp.md §1)', () => {
  test.each(MR_TASKS)('nas-bench-mr/%s: protocol 3, 2507 records equal to the JSON copy, keys in its order', async (task) => {
    const bytes = bundledBytes(task);
    expect([bytes[0], bytes[1]]).toEqual([0x80, 3]);
    const fromPickle = (await readPickleFile(bundledFile(task))) as Record<string, unknown>[];
    const copy = JSON_COPIES[`nas-bench-mr/${task}`];
    expect(fromPickle).toHaveLength(copy.records);
    expect(fromPickle[0]).toEqual(copy.first);
    expect(Object.keys(fromPickle[0])).toEqual(Object.keys(copy.first));
    expect(fromPickle[fromPickle.length - 1]).toEqual(copy.last);
    expect(sha256(asJsonText(fromPickle))).toBe(copy.sha256);
    // the records hold the table's fields (so "equal" cannot mean "both empty")
    expect(Object.keys(fromPickle[0])).toEqual(expect.arrayContaining(['flops', 'params', 'input_channel', 'inverted_residual_setting', 'last_channel', 'embedding']));
    expect(fromPickle[0].flops).toBeGreaterThan(0);
  });

  test('nb201 (ncp-trainval.pkl): protocol 4 with numpy float32 embeddings, 15625 records equal to the JSON copy', async () => {
    expect([...bundledBytes('nb201').subarray(0, 2)]).toEqual([0x80, 4]);
    const fromPickle = (await readPickleFile(bundledFile('nb201'))) as { embedding: Float32Array; Acc: number; Flops: number; Params: number }[];
    const copy = JSON_COPIES.nb201;
    expect(fromPickle).toHaveLength(copy.records);
    expect(fromPickle.every((r) => r.embedding instanceof Float32Array && r.embedding.length === 30)).toBe(true);
    expect(JSON.parse(asJsonText([fromPickle[0], fromPickle[15624]]))).toEqual([copy.first, copy.last]);
    expect(sha256(asJsonText(fromPickle))).toBe(copy.sha256);
    // Record 0 decodes to NB201 index 0 (ncp.md §6): one-hot ops 0,3,2,3,2,2 in blocks of five.
    expect(Array.from(fromPickle[0].embedding)).toEqual(
      [0, 3, 2, 3, 2, 2].flatMap((op) => [0, 1, 2, 3, 4].map((k) => (k === op ? 1 : 0))),
    );
  });

  test('a changed value changes the fingerprint (the comparison can fail)', async () => {
    const fromPickle = (await readPickleFile(bundledFile('seg'))) as Record<string, number>[];
    fromPickle[1234].mIoU += 0.01;
    expect(sha256(asJsonText(fromPickle))).not.toBe(JSON_COPIES['nas-bench-mr/seg'].sha256);
  });
});

describe('numpy arrays', () => {
  test('float32, with the memoised array shared by reference like Python objects', () => {
    const v = parsePickle(hex(NUMPY.f4Shared)) as { x: Float32Array; y: Float32Array[] };
    expect(v.x).toBeInstanceOf(Float32Array);
    expect(Array.from(v.x)).toEqual([1.5, -2.25, 3]);
    expect(v.y).toHaveLength(2);
    expect(v.y[0]).toBe(v.x);
    expect(v.y[1]).toBe(v.x);
  });

  test('float64, int32, int64 little-endian', () => {
    const f8 = parsePickle(hex(NUMPY.f8));
    expect(f8).toBeInstanceOf(Float64Array);
    expect(Array.from(f8 as Float64Array)).toEqual([0.1, -1e300, 2.5]);
    const i4 = parsePickle(hex(NUMPY.i4));
    expect(i4).toBeInstanceOf(Int32Array);
    expect(Array.from(i4 as Int32Array)).toEqual([-7, 0, 2147483647]);
    const i8 = parsePickle(hex(NUMPY.i8));
    expect(i8).toBeInstanceOf(BigInt64Array);
    expect(Array.from(i8 as BigInt64Array)).toEqual([-9007199254740993n, 1n, 42n]);
  });

  test('big-endian float32 is byte-swapped', () => {
    expect(Array.from(parsePickle(hex(NUMPY.f4BigEndian)) as Float32Array)).toEqual([1.5, -2.25, 3]);
  });

  test('a 2-D array comes back with its shape', () => {
    const a = parsePickle(hex(NUMPY.i4TwoByThree)) as NdArray;
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('i4');
    expect(a.fortranOrder).toBe(false);
    expect(Array.from(a.data as Int32Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('an array over 255 bytes (BINBYTES)', () => {
    expect(Array.from(parsePickle(f8Range40()) as Float64Array)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  test('an unsupported dtype is refused by name', () => {
    const e = thrown(() => parsePickle(hex(NUMPY.complex128)));
    expect(e.code).toBe('FILE_CORRUPT');
    expect(e.message).toMatch(/numpy dtype 'c16' is not supported/);
  });

  test('raw data of the wrong length is refused', () => {
    // The 3-element fixture with its shape changed to (4,): 16 bytes needed, 12 present.
    expect(NUMPY.f4BigEndian.split('4b014b0385').length).toBe(2);
    const h = NUMPY.f4BigEndian.replace('4b014b0385', '4b014b0485');
    const e = thrown(() => parsePickle(hex(h)));
    expect(e.code).toBe('FILE_CORRUPT');
    expect(e.message).toMatch(/BUILD at offset \d+: numpy array of shape \(4\) and dtype f4 needs 16 bytes, got 12/);
  });
});

describe('plain values', () => {
  test('BININT2, BININT, BINFLOAT, NONE, NEWTRUE and UTF-8 BINUNICODE', () => {
    // pickle.dumps([300, 70000, -5, 1.5, None, True, 'é'], protocol=3)
    const v = parsePickle(hex('80035d7100284d2c014a701101004afbffffff473ff80000000000004e885802000000c3a97101652e'));
    expect(v).toEqual([300, 70000, -5, 1.5, null, true, 'é']);
  });

  test('LONG_BINPUT/LONG_BINGET share one object; tuples come back frozen', () => {
    // PROTO 3, EMPTY_LIST, LONG_BINPUT 300, LONG_BINGET 300, TUPLE2, STOP: the tuple (l, l)
    const v = parsePickle(hex('80035d722c0100006a2c010000862e')) as unknown[][];
    expect(v).toEqual([[], []]);
    expect(v[0]).toBe(v[1]);
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(v[0])).toBe(false);
  });

  test('a dict key "__proto__" stays data', () => {
    // {'__proto__': 1} built by hand: PROTO 3, EMPTY_DICT, MARK, BINUNICODE (9 bytes) '__proto__', BININT1 1, SETITEMS, STOP
    const key = Buffer.from('__proto__').toString('hex');
    const v = parsePickle(hex(`80037d285809000000${key}4b01752e`)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});

describe('refusals: FILE_CORRUPT naming the opcode or offset', () => {
  test.each([
    ['a global other than numpy (protocol 4, posix.system)', '8004951f000000000000008c05706f736978948c0673797374656d9493948c047472756594859452942e', /unknown global posix\.system/],
    ['the text GLOBAL opcode (protocol 3)', '800363706f7369780a73797374656d0a710058040000007472756571018571025271032e', /opcode GLOBAL at offset 2 is not supported/],
    ['SETITEM (not used by the tables)', '80037d710058010000006171014b01732e', /opcode SETITEM at offset 15 is not supported/],
    ['a byte that is no opcode', '8003ff', /unknown opcode 0xff at offset 2/],
    ['protocol 1', '80014e2e', /protocol 1 not supported/],
    ['bytes after STOP', '80034e2e00', /1 bytes after STOP at offset 3/],
    ['two values at STOP', '80034e4e2e', /1 values left on the stack/],
    ['BINGET of a memo entry never stored', '80036805', /memo entry 5 was never stored/],
    ['APPENDS without MARK', '80035d652e', /APPENDS at offset 3: no MARK/],
    ['stack underflow', '8003612e', /APPEND at offset 2: stack underflow/],
    ['APPEND into a dict', '80037d4e612e', /APPEND at offset 4: target is not a list/],
    ['an int dict key', '80037d284b014b02752e', /dict key of type number/],
    ['invalid UTF-8', '80038c01ff2e', /string is not valid UTF-8/],
    ['empty input', '', /truncated: input ended at offset 0 before STOP/],
  ])('%s', (_, h, message) => {
    const e = thrown(() => parsePickle(hex(h)));
    expect(e.code).toBe('FILE_CORRUPT');
    expect(e.message).toMatch(message);
  });

  /** The truncation a message reports is consistent with the cut: never past the input, always short of what is needed. */
  function expectTruncationAt(message: string, cut: number): void {
    const ended = /truncated: input ended at offset (\d+) before STOP/.exec(message);
    const short = /truncated: \w+ at offset (\d+) (?:needs|announces) (\d+) (?:more )?bytes, only (\d+) left/.exec(message);
    expect([message, ended !== null || short !== null]).toEqual([message, true]);
    if (ended) expect(Number(ended[1])).toBe(cut);
    if (short) {
      const [offset, needed, left] = short.slice(1).map(Number);
      expect(offset).toBeLessThan(cut);
      expect(left).toBeLessThan(needed);
      expect(offset + left).toBeLessThan(cut);
    }
  }

  test('every truncation of a framed numpy pickle is caught at the FRAME, with the bytes it lacks', () => {
    const full = hex(NUMPY.f4Shared);
    expect(parsePickle(full)).toBeDefined();
    for (let cut = 0; cut < full.length; cut++) {
      const e = thrown(() => parsePickle(full.subarray(0, cut)));
      expect(e.code).toBe('FILE_CORRUPT');
      // header: PROTO at 0, FRAME at 2 with an 8-byte length (169 bytes follow from offset 11)
      if (cut >= 11) expect(e.message).toBe(`corrupt pickle: truncated: FRAME at offset 2 announces 169 bytes, only ${cut - 11} left`);
      else if (cut >= 3) expect(e.message).toBe(`corrupt pickle: truncated: FRAME at offset 2 needs 8 more bytes, only ${cut - 3} left`);
      else expectTruncationAt(e.message, cut);
    }
  });

  test('every truncation of the same pickle without its FRAME is caught by the opcode it cuts', () => {
    const framed = hex(NUMPY.f4Shared);
    // FRAME is optional in protocol 4: without it the opcodes themselves meet the end of the input.
    const unframed = Uint8Array.from([...framed.subarray(0, 2), ...framed.subarray(11)]);
    expect(parsePickle(unframed)).toEqual(parsePickle(framed));
    const opcodes = new Set<string>();
    for (let cut = 0; cut < unframed.length; cut++) {
      const e = thrown(() => parsePickle(unframed.subarray(0, cut)));
      expect(e.code).toBe('FILE_CORRUPT');
      expectTruncationAt(e.message, cut);
      opcodes.add(/truncated: (\w+)/.exec(e.message)![1]);
    }
    // cuts land inside string, bytes and memo arguments as well as between opcodes
    expect([...opcodes].sort()).toEqual(expect.arrayContaining(['BINGET', 'SHORT_BINBYTES', 'SHORT_BINUNICODE', 'input']));
  });

  test('the shipped pickles cut at several offsets are refused', () => {
    for (const name of ['seg', 'nb201']) {
      const full = bundledBytes(name);
      for (const cut of [1, 2, 11, 12, 100, 4097, 65546, Math.floor(full.length / 2), full.length - 2, full.length - 1]) {
        const e = thrown(() => parsePickle(full.subarray(0, cut)));
        expect(e.code).toBe('FILE_CORRUPT');
        expect(e.message).toMatch(/truncated/);
      }
    }
  });

  test('a FRAME longer than the input is caught at the FRAME', () => {
    const full = bundledBytes('nb201');
    const e = thrown(() => parsePickle(full.subarray(0, 5000)));
    expect(e.message).toMatch(/truncated: FRAME at offset 2 announces 65536 bytes, only 4989 left/);
  });

  test('random garbage after a valid header is refused, never crashes with another error, and names a place inside the input', () => {
    const random = new Random(2024);
    for (let trial = 0; trial < 500; trial++) {
      const bytes = new Uint8Array(8 + random.int(0, 200));
      bytes[0] = 0x80;
      bytes[1] = random.pick([3, 4]);
      for (let i = 2; i < bytes.length; i++) bytes[i] = random.int(0, 255);
      const e = thrown(() => parsePickle(bytes));
      expect(e.code).toBe('FILE_CORRUPT');
      const offset = /at offset (\d+)/.exec(e.message);
      expect([e.message, offset !== null && Number(offset[1]) < bytes.length]).toEqual([e.message, true]);
    }
  });

  test('text is not a pickle', () => {
    expect(thrown(() => parsePickle(Buffer.from('[{"a": 1}]'))).message).toMatch(/unknown opcode 0x5b at offset 0 is not supported/);
  });
});

test('readPickleFile: FILE_NOT_FOUND for a missing file', async () => {
  await expect(readPickleFile('/nonexistent/table.pkl')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
});
